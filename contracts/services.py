"""Writes about contracts."""

import json
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from contracts.models import Contract, FormalNotice, Party
from contracts.scheme import validate_scheme
from sms_contract.exceptions import ApplicationError
from sms_contract.money import yuan_to_fen

SEED_DIR = Path(__file__).resolve().parent / "seed"
SEED_CONTRACT_NUMBER = "JSZC-320300-HWZX-D2025-0524"

_PARTY_FIELDS = ("kind", "address", "contact", "phone", "fax", "postcode", "email")
_CONTRACT_FIELDS = (
    "name",
    "signed_on",
    "payment_method",
    "prepayment_due_days",
    "bond_refund_months",
    "billing_unit_chars",
    "bill_due_day",
    "success_basis",
    "service_months",
    "auto_renew",
    "renewal_notice_days",
    "termination_notice_days",
    "confidentiality_years",
    "assessment_parts",
    "payment_ratio_bands",
)


def _party_upsert(data: dict) -> Party:
    party, _ = Party.objects.update_or_create(name=data["name"], defaults={k: data.get(k, "") for k in _PARTY_FIELDS})
    return party


@transaction.atomic
def contract_load(*, data: dict) -> tuple[Contract, bool]:
    """Create or update a contract from its data description (idempotent). Returns (contract, created)."""
    validate_scheme(data["assessment_parts"], data["payment_ratio_bands"])
    defaults = {k: data[k] for k in _CONTRACT_FIELDS if k in data}
    defaults.update(
        purchaser=_party_upsert(data["purchaser"]),
        supplier=_party_upsert(data["supplier"]),
        unit_price=Decimal(data["unit_price"]),
        total_amount_fen=yuan_to_fen(Decimal(data["total_amount"])),
        prepayment_rate=Decimal(data["prepayment_rate"]),
        bond_rate=Decimal(data["bond_rate"]),
        late_fee_daily_rate=Decimal(data.get("late_fee_daily_rate", "0")),
    )
    contract, created = Contract.objects.update_or_create(number=data["number"], defaults=defaults)
    contract.full_clean()
    return contract, created


def contract_load_file(*, path: Path) -> tuple[Contract, bool]:
    return contract_load(data=json.loads(Path(path).read_text(encoding="utf-8")))


def contract_load_seed() -> Contract:
    contract, _ = contract_load_file(path=SEED_DIR / f"{SEED_CONTRACT_NUMBER}.json")
    return contract


@transaction.atomic
def formal_notice_create(*, contract: Contract, created_by=None, **fields) -> FormalNotice:
    """Record a formal notice (13.8). A notice of kinds (1)–(4) sent by fax or e-mail is refused (13.8.1)."""
    notice = FormalNotice(contract=contract, created_by=created_by, **fields)
    try:
        notice.full_clean()
    except ValidationError as exc:
        detail = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        errors = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        raise ApplicationError("notice_invalid", detail, extra={"errors": errors}) from exc
    notice.save()
    return notice
