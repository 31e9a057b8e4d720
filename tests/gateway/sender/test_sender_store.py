"""The sender's database side: claims and leases, expiry, submit answers, status reports, uplink, counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gateway.cmpp.msgid import msg_id_to_signed
from gateway.models import DailyCount, Message, MessageSegment, OptOut, UnmatchedReport, UplinkMessage
from gateway.sender import rules
from gateway.sender.store import (
    Outcome,
    OutcomeKind,
    ReportIn,
    SegmentAnswer,
    message_claim_batch,
    messages_expire,
    reports_record,
    results_record,
    unmatched_reports_keep,
    uplink_record,
)

BIG_ID = 0xF123456789ABCDEF  # above 2**63: stored negative


def _accept(claimed, node, first_id=1000, dup=False):
    answers = [SegmentAnswer(i + 1, first_id + i, 0) for i in range(claimed.segments)]
    return Outcome(claimed, OutcomeKind.ACCEPTED, node_id=node.id, segments=answers, possible_duplicate=dup)


def test_claim_leases_lowest_ids_and_a_second_claim_gets_the_rest(db, make_messages):
    msgs = make_messages(5)
    now = timezone.now()
    first = message_claim_batch(owner="s1", limit=3, lease_seconds=60, now=now)
    second = message_claim_batch(owner="s2", limit=10, lease_seconds=60, now=now)
    assert [c.id for c in first] == [m.id for m in msgs[:3]]
    assert [c.id for c in second] == [m.id for m in msgs[3:]]
    assert message_claim_batch(owner="s3", limit=10, lease_seconds=60, now=now) == []
    row = Message.objects.get(id=msgs[0].id)
    assert (row.lease_owner, row.attempts, row.status) == ("s1", 1, "queued")


def test_expired_lease_is_claimed_again(db, make_messages):
    (msg,) = make_messages(1)
    now = timezone.now()
    message_claim_batch(owner="dead", limit=10, lease_seconds=30, now=now)
    assert message_claim_batch(owner="s2", limit=10, lease_seconds=30, now=now + timedelta(seconds=29)) == []
    again = message_claim_batch(owner="s2", limit=10, lease_seconds=30, now=now + timedelta(seconds=31))
    assert [c.id for c in again] == [msg.id]
    assert Message.objects.get(id=msg.id).attempts == 2


def test_a_lease_that_ran_out_during_a_database_outage_is_left_to_its_owner(db, make_messages):
    """After an outage the senders pass its start as `takeover_before`: a lease that ran out during it
    belongs to a live sender that could not renew; one that ran out before it, to a dead one."""
    live, dead = make_messages(2)
    now = timezone.now()
    outage_began = now - timedelta(seconds=20)
    Message.objects.filter(id=live.id).update(lease_owner="live", lease_until=now - timedelta(seconds=5))
    Message.objects.filter(id=dead.id).update(lease_owner="dead", lease_until=now - timedelta(seconds=25))
    claimed = message_claim_batch(owner="s2", limit=10, lease_seconds=30, now=now, takeover_before=outage_began)
    assert [c.id for c in claimed] == [dead.id] and claimed[0].possible_duplicate
    assert Message.objects.get(id=live.id).lease_owner == "live"
    later = message_claim_batch(owner="s2", limit=10, lease_seconds=30, now=now)  # the outage long past
    assert [c.id for c in later] == [live.id]


def test_messages_past_validity_are_expired_not_claimed(db, make_messages):
    old = make_messages(2, valid_for=timedelta(seconds=-1))
    fresh = make_messages(1)
    claimed = message_claim_batch(owner="s1", limit=10, lease_seconds=30, now=timezone.now())
    assert [c.id for c in claimed] == [fresh[0].id]
    assert set(Message.objects.filter(id__in=[m.id for m in old]).values_list("status", flat=True)) == {"expired"}


def test_expire_sweep_leaves_valid_and_leased_messages(db, make_messages):
    stale = make_messages(3, valid_for=timedelta(minutes=1))
    keep = make_messages(1, valid_for=timedelta(hours=2))
    now = timezone.now() + timedelta(minutes=5)
    assert messages_expire(now=now) == 3
    assert Message.objects.get(id=keep[0].id).status == "queued"
    assert Message.objects.get(id=stale[0].id).status == "expired"


def test_accepted_answers_write_segments_status_and_daily_counts(db, make_messages, make_node, contract):
    node = make_node()
    long_text = "【12123】" + "违" * 150
    make_messages(1, content=long_text)
    (claimed,) = message_claim_batch(owner="s1", limit=10, lease_seconds=30, now=timezone.now())
    now = timezone.now()
    results_record(outcomes=[_accept(claimed, node, first_id=BIG_ID)], owner="s1", now=now)
    msg = Message.objects.get(id=claimed.id)
    assert (msg.status, msg.node_id, msg.lease_owner, msg.lease_until) == ("submitted", node.id, "", None)
    segs = list(MessageSegment.objects.filter(message=msg).order_by("pk_number"))
    assert [s.pk_number for s in segs] == [1, 2, 3]
    assert segs[0].carrier_msg_id == msg_id_to_signed(BIG_ID) < 0
    count = DailyCount.objects.get(contract=contract, day=rules.counting_day(now), node=node)
    assert (count.accepted_messages, count.accepted_units) == (1, claimed.units)
    results_record(outcomes=[], owner="s1", now=now)  # nothing to do is fine


def test_refused_submit_fails_the_message_with_the_code(db, make_messages, make_node):
    node = make_node()
    make_messages(1)
    (claimed,) = message_claim_batch(owner="s1", limit=1, lease_seconds=30, now=timezone.now())
    out = Outcome(claimed, OutcomeKind.REFUSED, node_id=node.id, segments=[SegmentAnswer(1, 77, 13)])
    results_record(outcomes=[out], owner="s1", now=timezone.now())
    msg = Message.objects.get(id=claimed.id)
    assert (msg.status, msg.stat) == ("failed", "RESP:13")
    count = DailyCount.objects.get(node=node)
    assert (count.failed_messages, count.refused_segments, count.accepted_messages) == (1, 1, 0)


def test_released_message_goes_back_to_the_queue_flagged(db, make_messages):
    make_messages(1)
    (claimed,) = message_claim_batch(owner="s1", limit=1, lease_seconds=300, now=timezone.now())
    results_record(
        outcomes=[Outcome(claimed, OutcomeKind.RELEASED, possible_duplicate=True)], owner="s1", now=timezone.now()
    )
    msg = Message.objects.get(id=claimed.id)
    assert (msg.status, msg.lease_until, msg.possible_duplicate) == ("queued", None, True)
    assert [c.id for c in message_claim_batch(owner="s2", limit=1, lease_seconds=30, now=timezone.now())] == [msg.id]


def _submitted(make_messages, node, n=1, content=None, first_id=5000):
    kw = {"content": content} if content else {}
    make_messages(n, **kw)
    claimed = message_claim_batch(owner="s1", limit=n, lease_seconds=30, now=timezone.now())
    outs = [_accept(c, node, first_id=first_id + i * 10) for i, c in enumerate(claimed)]
    results_record(outcomes=outs, owner="s1", now=timezone.now())
    return claimed


def test_long_message_is_delivered_only_when_every_segment_is(db, make_messages, make_node):
    node = make_node()
    (claimed,) = _submitted(make_messages, node, content="【12123】" + "违" * 100, first_id=BIG_ID - 5)
    assert claimed.segments == 2
    reports_record(reports=[ReportIn(BIG_ID - 5, "DELIVRD", "13900000000", node.id)], now=timezone.now())
    assert Message.objects.get(id=claimed.id).status == "submitted"
    reports_record(reports=[ReportIn(BIG_ID - 4, "DELIVRD", "13900000000", None)], now=timezone.now())
    msg = Message.objects.get(id=claimed.id)
    assert (msg.status, msg.stat) == ("delivered", "DELIVRD")
    assert msg.delivered_at is not None
    count = DailyCount.objects.get(node=node)
    assert (count.delivered_messages, count.delivered_units) == (1, claimed.units)


def test_one_failed_segment_fails_the_message_with_its_code(db, make_messages, make_node):
    node = make_node()
    (claimed,) = _submitted(make_messages, node, content="【12123】" + "违" * 100, first_id=700)
    reports_record(
        reports=[ReportIn(700, "DELIVRD", "", node.id), ReportIn(701, "MK:0005", "", node.id)], now=timezone.now()
    )
    msg = Message.objects.get(id=claimed.id)
    assert (msg.status, msg.stat) == ("failed", "MK:0005")
    assert DailyCount.objects.get(node=node).failed_messages == 1


def test_reports_for_a_batch_of_messages(db, make_messages, make_node):
    node = make_node()
    claimed = _submitted(make_messages, node, n=50, first_id=10_000)
    reports = [ReportIn(10_000 + i * 10, "DELIVRD", "", node.id) for i in range(50)]
    assert reports_record(reports=reports, now=timezone.now()) == []
    assert Message.objects.filter(id__in=[c.id for c in claimed], status="delivered").count() == 50
    assert DailyCount.objects.get(node=node).delivered_messages == 50


def test_segments_of_an_earlier_ambiguous_send_do_not_decide(db, make_messages, make_node):
    node_a, node_b = make_node("a"), make_node("b", port=7891)
    make_messages(1)
    (claimed,) = message_claim_batch(owner="s1", limit=1, lease_seconds=30, now=timezone.now())
    earlier = [(node_a.id, SegmentAnswer(1, 111, 0), timezone.now() - timedelta(seconds=5))]
    out = _accept(claimed, node_b, first_id=222, dup=True)
    out.earlier = earlier
    results_record(outcomes=[out], owner="s1", now=timezone.now())
    msg = Message.objects.get(id=claimed.id)
    assert (msg.status, msg.possible_duplicate, msg.node_id) == ("submitted", True, node_b.id)
    reports_record(reports=[ReportIn(111, "UNDELIV", "", node_a.id)], now=timezone.now())
    assert Message.objects.get(id=claimed.id).status == "submitted"  # the earlier copy's report is kept only
    reports_record(reports=[ReportIn(222, "DELIVRD", "", node_b.id)], now=timezone.now())
    assert Message.objects.get(id=claimed.id).status == "delivered"


def test_unmatched_reports_are_returned_and_can_be_kept(db, make_node):
    node = make_node()
    report = ReportIn(BIG_ID, "DELIVRD", "13912345678", node.id, "2611281200", "2611281201")
    assert reports_record(reports=[report], now=timezone.now()) == [report]
    unmatched_reports_keep(reports=[report], now=timezone.now())
    kept = UnmatchedReport.objects.get()
    assert (kept.carrier_msg_id, kept.stat, kept.node_id) == (msg_id_to_signed(BIG_ID), "DELIVRD", node.id)


@pytest.mark.parametrize("text", ["TD", " td ", "退订", "T"])
def test_uplink_opt_out_words_opt_the_subscriber_out(db, make_node, text):
    node = make_node()
    assert uplink_record(src="8613912345678", dest_id="10691212300", text=text, node_id=node.id, now=timezone.now())
    optout = OptOut.objects.get(mobile="13912345678")
    assert (optout.opted_out, optout.source) == (True, "mo")
    assert UplinkMessage.objects.get().opt_out is True


def test_other_uplink_is_logged_without_opting_out(db):
    assert uplink_record(src="13912345678", dest_id="106912", text="谢谢", node_id=None, now=timezone.now()) is False
    assert not OptOut.objects.exists()
    assert UplinkMessage.objects.get().text == "谢谢"


def test_opted_back_in_subscriber_sending_td_is_opted_out_again(db):
    OptOut.objects.create(mobile="13912345678", opted_out=False, since=timezone.now(), source="platform")
    uplink_record(src="13912345678", dest_id="", text="td", node_id=None, now=timezone.now())
    assert OptOut.objects.get(mobile="13912345678").opted_out is True


def test_daily_counts_accumulate_across_batches(db, make_messages, make_node):
    node = make_node()
    _submitted(make_messages, node, n=3, first_id=1)
    _submitted(make_messages, node, n=2, first_id=100)
    assert DailyCount.objects.get(node=node).accepted_messages == 5


def test_send_and_status_lines_are_logged_with_masked_numbers(db, make_messages, make_node, caplog):
    node = make_node()
    caplog.set_level("INFO", logger="gateway.sender")
    (claimed,) = _submitted(make_messages, node, first_id=4242)
    reports_record(reports=[ReportIn(4242, "DELIVRD", claimed.mobile, node.id)], now=timezone.now())
    text = caplog.text
    assert f"message {claimed.id} to 139****0000 submitted via node {node.id}: 4242" in text
    assert f"message {claimed.id} delivered (DELIVRD)" in text
    assert claimed.mobile not in text


@pytest.mark.django_db
def test_daily_count_rows_stay_unique_with_a_missing_type_or_node_on_every_database(contract):
    """The unique index treats a missing notice type or node as one value, on SQLite too (no models.W047)."""
    from datetime import date

    from django.core import checks
    from django.db import IntegrityError, transaction

    DailyCount.objects.create(contract=contract, day=date(2026, 3, 1), accepted_units=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyCount.objects.create(contract=contract, day=date(2026, 3, 1), accepted_units=2)
    assert not [m for m in checks.run_checks(include_deployment_checks=False) if m.id == "models.W047"]
