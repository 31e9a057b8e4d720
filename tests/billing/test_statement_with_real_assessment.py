"""The seam between billing and assessment, not faked: the gateway's daily counts and a real assessment recorded
and signed through the assessment app feed the monthly statement; approving needs the signature, issuing locks
the assessment, and a locked assessment can no longer be changed. The contract's figures throughout: 0.03 yuan a
unit, prepayment 10% of 1,440,000.00 = 144,000.00, payment ratio 1.00 from 80 points and 0.90 from 70 to 79."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from assessment.models import Assessment
from assessment.services import assessment_record, assessment_sign
from billing.models import Statement
from billing.services.statements import statement_approve, statement_close_month, statement_issue
from gateway.models import DailyCount
from sms_contract.exceptions import ApplicationError

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
SHANGHAI = ZoneInfo("Asia/Shanghai")
SCORES_85 = {"sending": 30, "ops_timeliness": 15, "ops_compliance": 20, "emergency": 20}
SCORES_75 = {"sending": 25, "ops_timeliness": 15, "ops_compliance": 15, "emergency": 20}


def _reasons(scores):
    full = {"sending": 30, "ops_timeliness": 20, "ops_compliance": 20, "emergency": 30}
    return {code: "当月有扣分事项（测试）" for code, score in scores.items() if score < full[code]}


def _counts(contract, day, units):
    DailyCount.objects.create(contract=contract, day=day, accepted_messages=units, accepted_units=units)


def _assess(contract, year, month, scores, police, *, sign=True):
    at = datetime(year + month // 12, month % 12 + 1, 3, 10, tzinfo=SHANGHAI)
    a = assessment_record(
        contract=contract, year=year, month=month, scores=scores, reasons=_reasons(scores), by=police, now=at
    )
    return assessment_sign(assessment=a, by=police, now=at) if sign else a


@time_machine.travel(datetime(2025, 12, 10, 9, tzinfo=SHANGHAI), tick=False)
def test_statements_use_the_signed_assessment_and_issuing_locks_it(contract, police_user, finance_user):
    _counts(contract, date(2025, 10, 8), 1_000_000)  # 30,000.00 yuan
    _counts(contract, date(2025, 11, 3), 2_500_000)
    _counts(contract, date(2025, 11, 4), 3_500_000)  # 6,000,000 units: 180,000.00 yuan
    october = _assess(contract, 2025, 10, SCORES_85, police_user)
    november = _assess(contract, 2025, 11, SCORES_75, police_user, sign=False)

    oct_ = statement_close_month(contract=contract, year=2025, month=10)
    assert (oct_.units, oct_.gross_fen, str(oct_.payment_ratio), oct_.payable_fen) == (
        1_000_000,
        3_000_000,
        "1.00",
        3_000_000,
    )
    assert (oct_.prepayment_applied_fen, oct_.prepayment_balance_fen, oct_.net_due_fen) == (3_000_000, 11_400_000, 0)
    assert oct_.assessment_id == october.pk and oct_.assessment_scores == SCORES_85

    nov = statement_close_month(contract=contract, year=2025, month=11)
    assert str(nov.payment_ratio) == "0.90"  # 75 points, as recorded (not yet signed)
    assert (nov.gross_fen, nov.payable_fen) == (18_000_000, 16_200_000)
    assert (nov.prepayment_applied_fen, nov.prepayment_balance_fen, nov.net_due_fen) == (11_400_000, 0, 4_800_000)
    with pytest.raises(ApplicationError) as refused:
        statement_approve(statement=nov, user=police_user)
    assert refused.value.code == "assessment_not_signed"
    assert Statement.objects.get(pk=nov.pk).state == Statement.State.DRAFT

    for statement in (oct_, nov):
        if statement.pk == nov.pk:
            assessment_sign(assessment=november, by=police_user)
        approved = statement_approve(statement=statement, user=police_user)
        issued = statement_issue(statement=approved, user=finance_user)
        assert issued.state in (Statement.State.ISSUED, Statement.State.PAID)
    october.refresh_from_db()
    november.refresh_from_db()
    assert (october.state, november.state) == (Assessment.State.LOCKED, Assessment.State.LOCKED)
    assert october.locked_at is not None and november.locked_at is not None
    assert Statement.objects.get(pk=nov.pk).net_due_fen == 4_800_000  # 48,000.00 yuan due for November

    with pytest.raises(ApplicationError) as locked:
        assessment_record(contract=contract, year=2025, month=11, scores=SCORES_85, reasons=_reasons(SCORES_85),
                          change_reason="复核", by=police_user)  # fmt: skip
    assert locked.value.code == "assessment_locked"
    assert Assessment.objects.get(pk=november.pk).total == 75
