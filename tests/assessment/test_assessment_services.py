"""Recording, signing, revising and locking the monthly assessment; the outcome billing reads."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from factories.assessment import FaultTicketFactory

from assessment.models import Assessment, AssessmentVersion
from assessment.selectors import assessment_outcome
from assessment.services import assessment_lock, assessment_record, assessment_sign
from sms_contract.exceptions import ApplicationError

pytestmark = pytest.mark.django_db


def test_record_derives_bands_total_and_ratio(record):
    a = record(sending=25, emergency=24, reasons={"sending": "节点切换慢", "emergency": "到场晚"})
    assert a.state == Assessment.State.DRAFT
    assert a.total == 89
    assert a.payment_ratio == Decimal("1.00")
    assert a.reasons == {"sending": "节点切换慢", "emergency": "到场晚"}
    assert a.version == 1


def test_record_refuses_out_of_range_and_changes_nothing(record):
    with pytest.raises(ApplicationError) as exc:
        record(ops_timeliness=21)
    assert exc.value.code == "invalid"
    assert "ops_timeliness" in exc.value.extra["errors"]
    assert not Assessment.objects.exists()


def test_record_below_full_without_reason_is_refused(record):
    with pytest.raises(ApplicationError) as exc:
        record(ops_compliance=19)
    assert list(exc.value.extra["errors"]) == ["reasons.ops_compliance"]


def test_one_assessment_per_contract_and_month(record):
    first = record()
    second = record(sending=29, reasons={"sending": "改动了短信代码"})
    assert first.pk == second.pk
    assert Assessment.objects.count() == 1
    assert second.total == 99


def test_sign_records_who_and_when_and_freezes_the_version(record, police_user):
    a = assessment_sign(assessment=record(), by=police_user)
    assert a.state == Assessment.State.SIGNED
    assert a.signed_by == police_user
    assert a.signed_at is not None
    v = AssessmentVersion.objects.get(assessment=a)
    assert (v.version, v.total, v.signed_by) == (1, 100, police_user)


def test_only_police_staff_sign(record, carrier_user, finance_user):
    a = record()
    for user in (carrier_user, finance_user):
        with pytest.raises(ApplicationError) as exc:
            assessment_sign(assessment=a, by=user)
        assert exc.value.status_code == 403
    a.refresh_from_db()
    assert a.state == Assessment.State.DRAFT


def test_change_after_signing_is_a_new_version_with_a_reason(record, contract, police_user):
    signed = assessment_sign(assessment=record(), by=police_user)
    with pytest.raises(ApplicationError) as exc:
        record(sending=20, reasons={"sending": "x"})
    assert exc.value.code == "change_reason_required"
    revised = assessment_record(
        contract=contract,
        year=2025,
        month=10,
        scores={"sending": 20, "ops_timeliness": 20, "ops_compliance": 20, "emergency": 30},
        reasons={"sending": "上级新增告知类型未能发送"},
        change_reason="补充核查发现遗漏",
        by=police_user,
    )
    assert revised.pk == signed.pk
    assert (revised.version, revised.state, revised.signed_by) == (2, Assessment.State.DRAFT, None)
    old = AssessmentVersion.objects.get(assessment=revised, version=1)
    assert old.total == 100 and old.superseded_at is not None
    assert revised.history.first().history_change_reason == "补充核查发现遗漏"
    assert assessment_outcome(contract_id=contract.pk, year=2025, month=10).signed is False
    assessment_sign(assessment=revised, by=police_user)
    assert AssessmentVersion.objects.filter(assessment=revised).count() == 2


def test_locked_assessment_cannot_change_or_be_signed(record, police_user):
    a = assessment_sign(assessment=record(), by=police_user)
    assessment_lock(assessment_id=a.pk)
    assessment_lock(assessment_id=a.pk)  # idempotent
    a.refresh_from_db()
    assert a.state == Assessment.State.LOCKED and a.locked_at is not None
    with pytest.raises(ApplicationError) as exc:
        record(sending=10, reasons={"sending": "x"})
    assert (exc.value.code, exc.value.status_code) == ("assessment_locked", 409)
    with pytest.raises(ApplicationError):
        assessment_sign(assessment=a, by=police_user)


def test_a_draft_cannot_be_locked(record):
    with pytest.raises(ApplicationError) as exc:
        assessment_lock(assessment_id=record().pk)
    assert exc.value.code == "assessment_not_signed"


def test_outcome_for_billing(record, contract, police_user):
    assert assessment_outcome(contract_id=contract.pk, year=2025, month=10) is None
    a = record(emergency=5, reasons={"emergency": "严重故障超过24小时未恢复"})
    draft = assessment_outcome(contract_id=contract.pk, year=2025, month=10)
    assert draft.signed is False
    assert (draft.total, draft.payment_ratio) == (75, Decimal("0.90"))
    assert draft.scores == {"sending": 30, "ops_timeliness": 20, "ops_compliance": 20, "emergency": 5}
    assessment_sign(assessment=a, by=police_user)
    signed = assessment_outcome(contract_id=contract.pk, year=2025, month=10)
    assert signed.signed is True and signed.assessment_id == a.pk
    assessment_lock(assessment_id=a.pk)
    assert assessment_outcome(contract_id=contract.pk, year=2025, month=10).signed is True


def test_emergency_suggestion_from_breached_tickets(record, contract):
    reported = datetime(2025, 10, 8, 1, 0, tzinfo=UTC)
    FaultTicketFactory(
        contract=contract,
        reported_at=reported,
        responded_at=reported + timedelta(minutes=5),
        on_site_at=reported + timedelta(hours=3),  # on site late
        recovered_at=reported + timedelta(hours=3, minutes=30),
    )
    # Overriding the suggestion (25) with full marks needs a reason.
    with pytest.raises(ApplicationError) as exc:
        record()
    assert "reasons.emergency" in exc.value.extra["errors"]
    # Confirming the suggestion takes its basis as the reason.
    a = record(emergency=25)
    assert a.suggestions["emergency"]["score"] == 25
    assert "到场超时" in a.reasons["emergency"]
    assert a.overridden == []
    b = record(emergency=30, reasons={"emergency": "到场迟到系道路封闭，不予扣分"})
    assert b.overridden == ["emergency"]


def test_complaint_suggestions_for_parts_2_1_and_2_2(record, contract):
    from factories.assessment import ComplaintFactory

    ComplaintFactory(contract=contract, responsible_side="carrier", assessment_part="ops_compliance",
                     passed_at=datetime(2025, 10, 9, 2, 30, tzinfo=UTC))  # fmt: skip
    a = record(ops_compliance=17)
    assert a.suggestions["ops_compliance"] == {"score": 17, "basis": a.reasons["ops_compliance"]}
    assert a.suggestions["ops_timeliness"]["score"] == 20


def test_evidence_shows_the_gateway_figures_or_a_dash(contract, monkeypatch):
    from assessment.selectors import assessment_evidence

    figures = {"messages_sent": 1234567, "delivery_rate": Decimal("0.98765"), "refused_share": Decimal("0.0012"),
               "seconds_below_two_healthy_nodes": 3725}  # fmt: skip
    monkeypatch.setattr("gateway.selectors.month_evidence", lambda **kw: figures)
    now = datetime(2025, 11, 1, tzinfo=UTC)
    shown = dict(assessment_evidence(contract_id=contract.pk, year=2025, month=10, now=now).gateway)
    assert shown == {"发送条数": "1,234,567", "送达率": "98.77%", "运营商拒收占比": "0.12%",
                     "健康节点少于两个的时长": "1小时2分5秒"}  # fmt: skip
    monkeypatch.setattr("gateway.selectors.month_evidence", lambda **kw: {"messages_sent": 0, "delivery_rate": None})
    shown = dict(assessment_evidence(contract_id=contract.pk, year=2025, month=10, now=now).gateway)
    assert shown == {"发送条数": "0", "送达率": "—", "运营商拒收占比": "—", "健康节点少于两个的时长": "—"}


def test_evidence_lists_the_months_tickets_and_complaints_with_clock_states(contract):
    from factories.assessment import ComplaintFactory

    from assessment.selectors import assessment_evidence

    FaultTicketFactory(contract=contract, reported_at=datetime(2025, 9, 30, 16, 0, tzinfo=UTC))  # 10-01 00:00 Shanghai
    FaultTicketFactory(contract=contract, reported_at=datetime(2025, 9, 30, 15, 59, tzinfo=UTC))  # still September
    ComplaintFactory(contract=contract, responsible_side="unknown")
    evidence = assessment_evidence(
        contract_id=contract.pk, year=2025, month=10, now=datetime(2025, 9, 30, 16, 5, tzinfo=UTC)
    )
    assert len(evidence.tickets) == 1
    [(_, clocks)] = evidence.tickets
    assert [c.state for c in clocks] == ["running", "running", "running"]
    [(_, complaint_clocks)] = evidence.complaints
    assert [(c.code, c.state_label) for c in complaint_clocks] == [("contact", "计时中")]
