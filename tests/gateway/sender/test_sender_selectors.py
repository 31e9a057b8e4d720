"""The gateway selectors billing and assessment read: daily success units, month evidence, Msg_Ids."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from gateway.models import DailyCount, NodeStateChange
from gateway.selectors import carrier_msg_ids, daily_success_units, month_evidence, seconds_below_two_healthy_nodes
from gateway.sender.rules import SHANGHAI
from gateway.sender.store import Outcome, OutcomeKind, SegmentAnswer, message_claim_batch, results_record


def _count(contract, day, node=None, **kw):
    return DailyCount.objects.create(contract=contract, day=day, node=node, **kw)


def test_daily_success_units_follow_the_contract_basis(contract, make_node):
    a, b = make_node("a"), make_node("b", port=7891)
    _count(contract, date(2026, 3, 1), a, accepted_units=10, delivered_units=8)
    _count(contract, date(2026, 3, 1), b, accepted_units=5, delivered_units=5)
    _count(contract, date(2026, 3, 2), a, accepted_units=7, delivered_units=0)
    _count(contract, date(2026, 3, 5), a, accepted_units=1, delivered_units=1)
    assert daily_success_units(contract_id=contract.id, start=date(2026, 3, 1), end=date(2026, 3, 2)) == {
        date(2026, 3, 1): 15,
        date(2026, 3, 2): 7,
    }
    contract.success_basis = "delivered"
    contract.save()
    assert daily_success_units(contract_id=contract.id, start=date(2026, 3, 1), end=date(2026, 3, 2)) == {
        date(2026, 3, 1): 13
    }


def test_month_evidence_rates(contract, make_node):
    a = make_node("a")
    _count(contract, date(2026, 3, 1), a, accepted_messages=90, accepted_units=95, delivered_messages=81)
    _count(
        contract,
        date(2026, 3, 31),
        a,
        accepted_messages=10,
        accepted_units=10,
        delivered_messages=9,
        refused_segments=5,
    )
    _count(contract, date(2026, 4, 1), a, accepted_messages=1000)
    ev = month_evidence(contract_id=contract.id, year=2026, month=3)
    assert ev["messages_sent"] == 100
    assert ev["delivery_rate"] == Decimal("0.9")
    assert ev["refused_share"] == Decimal("0.045455")
    assert ev["seconds_below_two_healthy_nodes"] is None


def test_month_evidence_without_traffic(contract):
    ev = month_evidence(contract_id=contract.id, year=2026, month=2)
    assert (ev["messages_sent"], ev["delivery_rate"], ev["refused_share"]) == (0, None, None)


def test_time_with_fewer_than_two_healthy_nodes(contract, make_node):
    a, b = make_node("a"), make_node("b", port=7891)
    t0 = datetime(2026, 3, 1, tzinfo=SHANGHAI)

    def change(node, minutes, healthy):
        NodeStateChange.objects.create(node=node, at=t0 + timedelta(minutes=minutes), healthy=healthy, state="x")

    change(a, -60, True)  # before the month: a up
    change(b, 10, True)  # both up from 00:10
    change(a, 30, False)  # a down 00:30-00:45
    change(a, 45, True)
    change(b, 60, False)  # b down from 01:00 to the end
    end = t0 + timedelta(hours=2)
    assert seconds_below_two_healthy_nodes(contract_id=contract.id, start=t0, end=end) == (10 + 15 + 60) * 60


def test_carrier_msg_ids_stream_accepted_segments_as_unsigned(contract, make_node, make_messages):
    node = make_node()
    make_messages(2)
    claimed = message_claim_batch(owner="s", limit=2, lease_seconds=30, now=datetime.now(SHANGHAI))
    big = 2**64 - 2
    outs = [
        Outcome(claimed[0], OutcomeKind.ACCEPTED, node_id=node.id, segments=[SegmentAnswer(1, big, 0)]),
        Outcome(claimed[1], OutcomeKind.REFUSED, node_id=node.id, segments=[SegmentAnswer(1, 42, 9)]),
    ]
    results_record(outcomes=outs, owner="s", now=datetime.now(SHANGHAI))
    today = datetime.now(SHANGHAI).date()
    assert list(carrier_msg_ids(contract_id=contract.id, start=today, end=today)) == [big]
    assert (
        list(carrier_msg_ids(contract_id=contract.id, start=today - timedelta(days=3), end=today - timedelta(days=1)))
        == []
    )
