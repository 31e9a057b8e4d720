"""Monthly statements: closing, the contract's arithmetic through the months, states, API, PDF and XLSX."""

import io
import subprocess
from datetime import date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.core.management import call_command
from factories.billing import outcome

from billing.models import Statement
from billing.services.statements import (
    statement_adjustment_create,
    statement_approve,
    statement_close_month,
    statement_issue,
)
from billing.tasks import close_month_task
from sms_contract.exceptions import ApplicationError

pytestmark = pytest.mark.django_db


def month_of(year, month, total):
    """`total` units spread over the first days of the month."""
    return {
        date(year, month, 1): total - 2 * (total // 3),
        date(year, month, 2): total // 3,
        date(year, month, 3): total // 3,
    }


@pytest.fixture
def months(gateway_days):
    """Gateway counts for Oct 2025 .. Jan 2026."""

    def _set(by_month: dict):
        days = {}
        for (y, m), total in by_month.items():
            days.update(month_of(y, m, total))
        gateway_days(days)

    return _set


def test_month_one_is_paid_from_the_prepayment(contract, months, set_outcome):
    months({(2025, 10): 1_000_000})
    set_outcome({(2025, 10): outcome(85)})
    s = statement_close_month(contract=contract, year=2025, month=10)
    assert s.number == "JS-202510-0524-01"
    assert (s.units, s.gross_fen, s.payable_fen) == (1_000_000, 3_000_000, 3_000_000)
    assert (s.prepayment_applied_fen, s.prepayment_balance_fen, s.net_due_fen) == (3_000_000, 11_400_000, 0)
    assert s.due_on == date(2025, 11, 17)
    assert s.state == "draft"


def test_months_chain_prepayment_and_cumulative(contract, months, set_outcome):
    months({(2025, 10): 1_000_000, (2025, 11): 1_000_000, (2025, 12): 4_000_000})
    set_outcome(
        {(2025, 10): outcome(85), (2025, 11): outcome(75, assessment_id=2), (2025, 12): outcome(90, assessment_id=3)}
    )
    october = statement_close_month(contract=contract, year=2025, month=10)
    november = statement_close_month(contract=contract, year=2025, month=11)
    december = statement_close_month(contract=contract, year=2025, month=12)
    assert november.payable_fen == 2_700_000 and november.prepayment_balance_fen == 8_700_000
    assert (december.prepayment_applied_fen, december.net_due_fen, december.prepayment_balance_fen) == (
        8_700_000,
        3_300_000,
        0,
    )
    assert december.cumulative_payable_fen == 17_700_000
    assert december.contract_remaining_fen == 144_000_000 - 17_700_000
    # Re-closing an earlier draft with changed counts carries forward to the later drafts.
    months({(2025, 10): 2_000_000, (2025, 11): 1_000_000, (2025, 12): 4_000_000})
    statement_close_month(contract=contract, year=2025, month=10)
    december.refresh_from_db()
    assert december.prepayment_balance_fen == 0 and december.net_due_fen == 12_000_000 - 5_700_000
    assert Statement.objects.count() == 3
    assert october.pk == Statement.objects.get(month=10).pk


def test_without_assessment_the_statement_stays_draft_with_ratio_unknown(contract, months, api_as, finance_user):
    months({(2025, 10): 1_000_000})
    s = statement_close_month(contract=contract, year=2025, month=10)
    assert s.payment_ratio is None and s.gross_fen == 3_000_000
    with pytest.raises(ApplicationError) as err:
        statement_approve(statement=s, user=finance_user)
    assert err.value.code == "assessment_not_signed"
    body = api_as(finance_user).get(f"/api/v1/statements/{contract.number}/2025-10/").json()
    assert body["payment_ratio"] is None and body["payable_amount"] is None and body["state"] == "draft"


def test_unsigned_assessment_blocks_approval(contract, months, set_outcome, police_user):
    months({(2025, 10): 1_000_000})
    set_outcome({(2025, 10): outcome(85, signed=False)})
    s = statement_close_month(contract=contract, year=2025, month=10)
    with pytest.raises(ApplicationError, match="尚未签署"):
        statement_approve(statement=s, user=police_user)


def test_states_issue_locks_assessment_and_issued_never_changes(
    contract, months, set_outcome, police_user, finance_user, locked
):
    months({(2025, 10): 6_000_000})
    set_outcome({(2025, 10): outcome(75, assessment_id=41)})
    s = statement_close_month(contract=contract, year=2025, month=10)
    with pytest.raises(ApplicationError, match="只有已审核"):
        statement_issue(statement=s, user=finance_user)
    s = statement_approve(statement=s, user=police_user)
    s = statement_issue(statement=s, user=finance_user)
    assert s.state == "issued" and locked == [41]
    assert (s.payable_fen, s.prepayment_applied_fen, s.net_due_fen) == (16_200_000, 14_400_000, 1_800_000)
    # figures of an issued statement stay as issued even when counts change
    months({(2025, 10): 9_000_000})
    again = statement_close_month(contract=contract, year=2025, month=10)
    assert again.units == 6_000_000 and again.number == s.number
    adjustment = statement_adjustment_create(statement=s, reason="运营商补报漏计条数")
    assert adjustment.number == "JS-202510-0524-02" and adjustment.kind == "adjustment"
    assert adjustment.units == 3_000_000
    assert adjustment.payable_fen == 8_100_000  # 3,000,000 × 0.03 × 90%
    assert (adjustment.prepayment_applied_fen, adjustment.net_due_fen) == (0, 8_100_000)
    assert adjustment.state == "draft"
    with pytest.raises(ApplicationError):
        statement_adjustment_create(statement=s, reason="again")


def test_excess_over_contract_total_is_held(contract, months, set_outcome):
    contract.total_amount_fen = 3_000_000  # a small contract: 30,000.00 (prepayment 3,000.00)
    contract.save()
    months({(2025, 10): 600_000, (2025, 11): 600_000})
    set_outcome({(2025, 10): outcome(100), (2025, 11): outcome(100)})
    statement_close_month(contract=contract, year=2025, month=10)
    nov = statement_close_month(contract=contract, year=2025, month=11)
    assert (nov.payable_fen, nov.billable_fen, nov.held_fen) == (1_800_000, 1_200_000, 600_000)
    assert nov.cumulative_payable_fen == 3_000_000 and nov.contract_remaining_fen == 0


def test_statement_api_fields_and_permissions(
    contract, months, set_outcome, api_as, police_user, finance_user, auditor_user, carrier_user, make_user
):
    months({(2025, 10): 1_234_567})
    set_outcome({(2025, 10): outcome(55)})
    statement_close_month(contract=contract, year=2025, month=10)
    url = f"/api/v1/statements/{contract.number}/2025-10/"
    body = api_as(police_user).get(url).json()
    assert body == body | {
        "period": "2025-10",
        "state": "draft",
        "units": 1_234_567,
        "unit_price": "0.03",
        "gross_amount": "37037.01",
        "assessment_total": 55,
        "payment_ratio": "0.60",
        "payable_amount": "22222.21",
        "prepayment_applied": "22222.21",
        "prepayment_balance": "121777.79",
        "net_due": "0.00",
        "cumulative_payable": "22222.21",
        "contract_remaining": "1417777.79",
        "due_date": "2025-11-17",
    }
    for user in (finance_user, auditor_user, carrier_user):
        assert api_as(user).get(url).status_code == 200
    from factories.contracts import ContractFactory

    other = ContractFactory()
    outsider = make_user("carrier_staff", "other-carrier", party=other.supplier)
    assert api_as(outsider).get(url).status_code == 404
    assert api_as(make_user(None, "nobody")).get(url).status_code == 404
    assert api_as(police_user).get(f"/api/v1/statements/{contract.number}/2025-13/").status_code == 404


def test_statement_pdf_and_xlsx(contract, months, set_outcome, api_as, finance_user, tmp_path):
    months({(2025, 10): 1_000_000})
    set_outcome({(2025, 10): outcome(85)})
    statement_close_month(contract=contract, year=2025, month=10)
    response = api_as(finance_user).get(f"/api/v1/statements/{contract.number}/2025-10/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "s.pdf"
    pdf.write_bytes(response.content)
    assert response.content.startswith(b"%PDF")
    try:
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
    except FileNotFoundError:
        pytest.skip("pdftotext (poppler-utils) not installed")
    for needle in (
        "结 算 单",
        "JS-202510-0524-01",
        contract.purchaser.name,
        "30,000.00",
        "114,000.00",
        "应急保障要求",
        "盖章",
    ):
        assert needle in text, needle
    xlsx = api_as(finance_user).get(f"/api/v1/statements/{contract.number}/2025-10/xlsx/")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    values = [row for row in sheet.iter_rows(values_only=True)]
    assert ("日期", "成功条数") in values and ("合计", 1_000_000) in values


def test_close_month_command_and_task(contract, months, set_outcome, capsys):
    months({(2025, 10): 1_000_000})
    call_command("close_month", "2025-10", "--contract", contract.number)
    assert "JS-202510-0524-01 draft units=1000000 ratio=unknown" in capsys.readouterr().out
    assert close_month_task.delay(2025, 10).get() == ["JS-202510-0524-01"]
    assert Statement.objects.count() == 1
    assert close_month_task.delay(2025, 8).get() == []  # before the contract was signed
    with time_machine.travel(datetime(2025, 12, 1, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))):
        # every finished month not yet closed: September (signing month) and November
        assert close_month_task.delay().get() == ["JS-202509-0524-01", "JS-202511-0524-01"]


def test_a_credit_adjustment_is_offset_against_the_next_amounts_due(
    contract, months, set_outcome, police_user, finance_user, locked
):
    """Issue 12: a negative adjustment (the carrier's counts corrected down) is a credit set against what falls due
    next, oldest due first, until used up; it is not lost by being marked paid."""
    from billing.models import CreditOffset
    from billing.services.payments import credit_left_fen, payment_record

    months({(2025, 10): 6_000_000})
    set_outcome({(2025, 10): outcome(75, assessment_id=41), (2025, 11): outcome(100, assessment_id=42)})
    october = statement_close_month(contract=contract, year=2025, month=10)
    october = statement_issue(statement=statement_approve(statement=october, user=police_user), user=finance_user)
    assert october.net_due_fen == 1_800_000
    payment_record(contract=contract, paid_on=date(2025, 11, 20), amount_fen=1_800_000, reference="ZF-1")
    # October corrected down to 5,000,000 units: payable 13,500,000, all from the prepayment -> a credit of 1,800,000
    months({(2025, 10): 5_000_000, (2025, 11): 2_000_000})
    credit = statement_adjustment_create(statement=october, reason="运营商核减重复计费条数")
    assert credit.net_due_fen == -1_800_000
    credit = statement_issue(statement=statement_approve(statement=credit, user=police_user), user=finance_user)
    assert credit_left_fen(credit) == 1_800_000  # nothing outstanding yet: the credit waits
    # November: 2,000,000 units at 100 -> 6,000,000 payable, 900,000 of prepayment back in play -> 5,100,000 due
    november = statement_close_month(contract=contract, year=2025, month=11)
    november = statement_issue(statement=statement_approve(statement=november, user=police_user), user=finance_user)
    assert november.net_due_fen == 5_100_000
    assert (november.paid_fen, november.outstanding_fen, november.state) == (1_800_000, 3_300_000, "partly_paid")
    offset = CreditOffset.objects.get()
    assert (offset.credit, offset.statement, offset.amount_fen) == (credit, november, 1_800_000)
    assert credit_left_fen(credit) == 0
    # issuing again changes nothing: the credit is used once
    from billing.services.payments import credit_offsets_apply

    assert credit_offsets_apply(contract=contract) == 0
