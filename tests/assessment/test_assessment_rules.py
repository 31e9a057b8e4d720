"""Annex 3 scores, bands and ratios, and the SLA clocks, as pure rules (no database)."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from assessment import rules
from assessment.rules import ClockState, TicketLimits
from contracts.scheme import parse_parts, parse_ratio_bands
from contracts.services import SEED_CONTRACT_NUMBER, SEED_DIR

SEED = json.loads((SEED_DIR / f"{SEED_CONTRACT_NUMBER}.json").read_text(encoding="utf-8"))
PARTS = parse_parts(SEED["assessment_parts"])
RATIOS = parse_ratio_bands(SEED["payment_ratio_bands"])
FULL = {"sending": 30, "ops_timeliness": 20, "ops_compliance": 20, "emergency": 30}


def sheet(**scores):
    return rules.score_sheet(PARTS, RATIOS, {**FULL, **scores})


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, "not_met"), (7, "not_met"), (8, "serious"), (16, "serious"), (17, "minor"), (29, "minor"), (30, "full")],
)
@pytest.mark.parametrize("code", ["sending", "emergency"])
def test_thirty_point_parts_band_edges(code, score, band):
    assert sheet(**{code: score}).bands[code] == band


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, "not_met"), (7, "not_met"), (8, "serious"), (14, "serious"), (15, "minor"), (19, "minor"), (20, "full")],
)
@pytest.mark.parametrize("code", ["ops_timeliness", "ops_compliance"])
def test_twenty_point_parts_band_edges(code, score, band):
    assert sheet(**{code: score}).bands[code] == band


@pytest.mark.parametrize(
    ("scores", "total", "ratio"),
    [
        ({"sending": 29, "ops_timeliness": 20, "ops_compliance": 0, "emergency": 0}, 49, "0.00"),
        ({"sending": 30, "ops_timeliness": 20, "ops_compliance": 0, "emergency": 0}, 50, "0.60"),
        ({"sending": 30, "ops_timeliness": 20, "ops_compliance": 9, "emergency": 0}, 59, "0.60"),
        ({"sending": 30, "ops_timeliness": 20, "ops_compliance": 10, "emergency": 0}, 60, "0.80"),
        ({"sending": 30, "ops_timeliness": 20, "ops_compliance": 19, "emergency": 0}, 69, "0.80"),
        ({"sending": 30, "ops_timeliness": 20, "ops_compliance": 20, "emergency": 0}, 70, "0.90"),
        ({"sending": 30, "ops_timeliness": 20, "ops_compliance": 20, "emergency": 9}, 79, "0.90"),
        ({"sending": 30, "ops_timeliness": 20, "ops_compliance": 20, "emergency": 10}, 80, "1.00"),
        ({"sending": 30, "ops_timeliness": 20, "ops_compliance": 20, "emergency": 30}, 100, "1.00"),
        ({"sending": 0, "ops_timeliness": 0, "ops_compliance": 0, "emergency": 0}, 0, "0.00"),
    ],
)
def test_total_and_payment_ratio_edges(scores, total, ratio):
    result = rules.score_sheet(PARTS, RATIOS, scores)
    assert result.total == total
    assert result.payment_ratio == Decimal(ratio)


def test_ratio_comes_from_the_contract_data_not_code():
    generous = parse_ratio_bands([{"min": 0, "max": 49, "ratio": "0.50"}, {"min": 50, "max": 100, "ratio": "1.00"}])
    assert rules.score_sheet(PARTS, generous, {**FULL, "sending": 0, "emergency": 0}).payment_ratio == Decimal("0.50")


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        ({"sending": 31}, "sending", "0-30"),
        ({"ops_timeliness": 21}, "ops_timeliness", "0-20"),
        ({"emergency": -1}, "emergency", "0-30"),
        ({"ops_compliance": 15.5}, "ops_compliance", "整数"),
        ({"sending": "30"}, "sending", "整数"),
        ({"sending": True}, "sending", "整数"),
        ({"sending": None}, "sending", "请填写"),
    ],
)
def test_bad_scores_name_the_field(raw, field, fragment):
    with pytest.raises(rules.ScoreErrors) as exc:
        rules.score_sheet(PARTS, RATIOS, {**FULL, **raw})
    assert list(exc.value.errors) == [field]
    assert fragment in exc.value.errors[field][0]


def test_missing_part_is_an_error():
    raw = dict(FULL)
    del raw["emergency"]
    with pytest.raises(rules.ScoreErrors) as exc:
        rules.score_sheet(PARTS, RATIOS, raw)
    assert "emergency" in exc.value.errors


def test_below_full_needs_a_reason():
    scores = {**FULL, "sending": 29, "emergency": 30}
    assert rules.reason_errors(PARTS, scores, {}) == {"reasons.sending": ["得分低于满分（30）时须填写扣分理由。"]}
    assert rules.reason_errors(PARTS, scores, {"sending": "  "}) != {}
    assert rules.reason_errors(PARTS, scores, {"sending": "节点故障一次"}) == {}
    assert rules.reason_errors(PARTS, FULL, {}) == {}


# --- clocks ------------------------------------------------------------------------------------

T0 = datetime(2025, 10, 8, 1, 0, tzinfo=UTC)
LIMITS = TicketLimits(
    response=timedelta(minutes=15),
    on_site=timedelta(hours=2),
    recovery_minor=timedelta(hours=4),
    recovery_severe=timedelta(hours=24),
)


def ticket_states(severity, now, **done):
    clocks = rules.ticket_clocks(
        severity=severity,
        reported_at=T0,
        responded_at=done.get("responded_at", T0 + timedelta(minutes=5)),
        on_site_at=done.get("on_site_at"),
        recovered_at=done.get("recovered_at"),
        limits=LIMITS,
    )
    return {c.code: c.state(now) for c in clocks}


def hm(hours, minutes=0):
    return T0 + timedelta(hours=hours, minutes=minutes)


@pytest.mark.parametrize(
    ("now", "state"), [(hm(1, 59), ClockState.RUNNING), (hm(2), ClockState.RUNNING), (hm(2, 1), ClockState.BREACHED)]
)
def test_on_site_clock_open(now, state):
    assert ticket_states("minor", now)["on_site"] == state


@pytest.mark.parametrize(("arrived", "state"), [(hm(1, 59), ClockState.MET), (hm(2, 1), ClockState.BREACHED)])
def test_on_site_clock_done(arrived, state):
    assert ticket_states("minor", hm(30), on_site_at=arrived)["on_site"] == state


@pytest.mark.parametrize(
    ("now", "recovered", "state"),
    [
        (hm(3, 59), None, ClockState.RUNNING),
        (hm(4, 1), None, ClockState.BREACHED),
        (hm(30), hm(3, 59), ClockState.MET),
        (hm(30), hm(4, 1), ClockState.BREACHED),
    ],
)
def test_minor_recovery_clock(now, recovered, state):
    assert ticket_states("minor", now, on_site_at=hm(1), recovered_at=recovered)["recovery"] == state


@pytest.mark.parametrize(
    ("now", "recovered", "state"),
    [
        (hm(4, 1), None, ClockState.RUNNING),
        (hm(23, 59), None, ClockState.RUNNING),
        (hm(24, 1), None, ClockState.BREACHED),
        (hm(40), hm(23, 59), ClockState.MET),
        (hm(40), hm(24, 1), ClockState.BREACHED),
    ],
)
def test_severe_recovery_clock(now, recovered, state):
    assert ticket_states("severe", now, on_site_at=hm(1), recovered_at=recovered)["recovery"] == state


def test_response_clock_uses_the_setting_and_later_steps_count():
    late = ticket_states("minor", hm(0, 20), responded_at=None)
    assert late["response"] == ClockState.BREACHED
    assert ticket_states("minor", hm(0, 14), responded_at=None)["response"] == ClockState.RUNNING
    # Recovered remotely within 10 minutes: response and arrival are met too.
    remote = ticket_states("minor", hm(5), responded_at=None, recovered_at=hm(0, 10))
    assert remote == {"response": ClockState.MET, "on_site": ClockState.MET, "recovery": ClockState.MET}


def complaint(**kw):
    args = {
        "received_by": "police",
        "responsible_side": "police",
        "received_at": T0,
        "passed_at": None,
        "first_reply_at": None,
        "contact_limit": timedelta(hours=1),
        "reply_limit": timedelta(hours=1),
    } | kw
    return {c.code: c for c in rules.complaint_clocks(**args)}


def test_complaint_owned_by_the_receiving_side_has_no_clock():
    assert complaint() == {}


@pytest.mark.parametrize("responsible", ["carrier", "unknown"])
def test_contact_clock_for_the_other_sides_or_unclear_problem(responsible):
    clock = complaint(responsible_side=responsible)["contact"]
    assert clock.duty == "police"
    assert clock.state(hm(0, 59)) == ClockState.RUNNING
    assert clock.state(hm(1, 1)) == ClockState.BREACHED
    assert complaint(responsible_side=responsible, passed_at=hm(0, 59))["contact"].state(hm(9)) == ClockState.MET


def test_first_reply_clock_for_a_complaint_passed_by_the_carrier():
    clocks = complaint(received_by="carrier", responsible_side="police", passed_at=hm(0, 30))
    assert clocks["contact"].duty == "carrier"
    reply = clocks["first_reply"]
    assert reply.duty == "police"
    assert reply.deadline == hm(1, 30)
    assert reply.state(hm(1, 29)) == ClockState.RUNNING
    assert reply.state(hm(1, 31)) == ClockState.BREACHED
    answered = complaint(received_by="carrier", responsible_side="police", passed_at=hm(0, 30), first_reply_at=hm(1))
    assert answered["first_reply"].state(hm(9)) == ClockState.MET


# --- suggestions -------------------------------------------------------------------------------


def test_emergency_suggestion_deducts_per_breach_and_floors_at_zero():
    none = rules.suggest_score(max_score=30, deductions=rules.emergency_deductions(breached=[], per_breach=5))
    assert none == rules.Suggestion(30, "本月无扣分事项。")
    one = rules.suggest_score(
        max_score=30, deductions=rules.emergency_deductions(breached=[("故障单#1", "到场")], per_breach=5)
    )
    assert one.score == 25
    assert "故障单#1到场超时（扣5分）" in one.basis
    many = rules.suggest_score(
        max_score=30, deductions=rules.emergency_deductions(breached=[("#1", "恢复")] * 7, per_breach=5)
    )
    assert many.score == 0


def test_complaint_suggestion_counts_faults_and_breaches():
    deductions = rules.complaint_deductions(
        carrier_faults=["投诉#3"], carrier_breaches=[("投诉#4", "联系对方")], per_fault=3, per_breach=2
    )
    result = rules.suggest_score(max_score=20, deductions=deductions)
    assert result.score == 15
    assert "投诉#3属乙方责任（扣3分）" in result.basis and "投诉#4联系对方超时（扣2分）" in result.basis
