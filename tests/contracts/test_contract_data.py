from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from factories.contracts import ContractFactory

from contracts.models import Contract
from contracts.scheme import validate_scheme
from contracts.selectors import contract_terms


@pytest.mark.django_db
def test_seed_contract_carries_the_contract_figures(contract):
    assert contract.number == "JSZC-320300-HWZX-D2025-0524"
    assert contract.name == "12123 平台短信-移动用户"
    assert contract.signed_on == date(2025, 9, 1)
    assert contract.unit_price == Decimal("0.03")
    assert contract.total_amount_fen == 144_000_000
    assert contract.prepayment_fen == 14_400_000  # 144,000.00 yuan (5.3, method two)
    assert contract.bond_fen == 14_400_000  # 10% bond (5.2)
    assert contract.payment_method == Contract.PaymentMethod.NO_GUARANTEE
    assert (contract.service_months, contract.renewal_notice_days, contract.termination_notice_days) == (
        12,
        90,
        90,
    )
    assert contract.confidentiality_years == 2
    assert contract.purchaser.name == "徐州市公安局交通管理支队"
    assert contract.purchaser.address == "徐州市泉山区祥湖路3号"
    assert contract.supplier.contact == "安爽"


@pytest.mark.django_db
def test_loading_the_seed_twice_changes_nothing():
    call_command("load_contract")
    call_command("load_contract")
    assert Contract.objects.count() == 1


@pytest.mark.django_db
def test_a_second_contract_has_its_own_figures(contract):
    other = ContractFactory(number="NEXT-2026", unit_price=Decimal("0.025"), total_amount_fen=50_000_000)
    terms = contract_terms(other)
    assert terms.unit_price == Decimal("0.025")
    assert terms.prepayment_fen == 5_000_000
    assert contract_terms(contract).prepayment_fen == 14_400_000


def test_scheme_of_the_seed_is_valid_and_gaps_are_refused(settings):
    import json

    from contracts.services import SEED_CONTRACT_NUMBER, SEED_DIR

    seed = json.loads((SEED_DIR / f"{SEED_CONTRACT_NUMBER}.json").read_text(encoding="utf-8"))
    validate_scheme(seed["assessment_parts"], seed["payment_ratio_bands"])
    broken = [dict(b) for b in seed["payment_ratio_bands"]]
    broken[1]["min"] = 71  # leaves 70 without a ratio
    with pytest.raises(ValueError, match="without gap"):
        validate_scheme(seed["assessment_parts"], broken)


def test_ratio_and_band_come_from_the_contract_scheme(contract):
    from contracts.scheme import band_for_score, ratio_for_total

    terms = contract_terms(contract)
    sending = terms.parts[0]
    assert [band_for_score(sending, s) for s in (30, 29, 17, 16, 8, 7, 0)] == [
        "full",
        "minor",
        "minor",
        "serious",
        "serious",
        "not_met",
        "not_met",
    ]
    assert ratio_for_total(80, terms.ratio_bands) == Decimal("1.00")
    assert ratio_for_total(79, terms.ratio_bands) == Decimal("0.90")
    assert ratio_for_total(49, terms.ratio_bands) == Decimal("0.00")
    with pytest.raises(ValueError, match="between 0 and 30"):
        band_for_score(sending, 31)
