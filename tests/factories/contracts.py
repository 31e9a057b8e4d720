import json
from datetime import date
from decimal import Decimal

import factory

from contracts.models import Contract, Party
from contracts.services import SEED_CONTRACT_NUMBER, SEED_DIR

_SEED = json.loads((SEED_DIR / f"{SEED_CONTRACT_NUMBER}.json").read_text(encoding="utf-8"))


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"单位{n}")
    kind = Party.Kind.CARRIER


class ContractFactory(factory.django.DjangoModelFactory):
    """A contract like the seed's (same scheme, figures overridable), with fresh parties."""

    class Meta:
        model = Contract

    number = factory.Sequence(lambda n: f"TEST-{n:04d}")
    name = "12123 平台短信-测试"
    purchaser = factory.SubFactory(PartyFactory, kind=Party.Kind.PURCHASER)
    supplier = factory.SubFactory(PartyFactory, kind=Party.Kind.CARRIER)
    signed_on = date(2025, 9, 1)
    unit_price = Decimal("0.03")
    total_amount_fen = 144_000_000
    prepayment_rate = Decimal("0.10")
    bond_rate = Decimal("0.10")
    assessment_parts = factory.LazyFunction(lambda: json.loads(json.dumps(_SEED["assessment_parts"])))
    payment_ratio_bands = factory.LazyFunction(lambda: json.loads(json.dumps(_SEED["payment_ratio_bands"])))
