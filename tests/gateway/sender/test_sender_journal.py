"""The sender's journal and its replay: what the carrier acknowledged survives a crash of the sender, a copy
that may have gone out is flagged, and leases are renewed while the sender lives."""

from datetime import timedelta

from django.utils import timezone

from gateway.cmpp.msgid import msg_id_to_signed
from gateway.models import DailyCount, Message, MessageSegment
from gateway.sender import journal
from gateway.sender.store import (
    ReportIn,
    SegmentAnswer,
    journal_replay,
    leases_renew,
    message_claim_batch,
    reports_match_copies,
)


def _dead(tmp_path, owner="host:1:dead", scope="db"):
    """A journal whose process 'died': closed without removal, so its lock is free."""
    j = journal.Journal(tmp_path, owner, scope=scope)
    j.open()
    return j


def test_live_journal_is_never_replayed_and_a_dead_one_is(tmp_path):
    live = _dead(tmp_path, "host:1:live")
    dead = _dead(tmp_path, "host:2:dead")
    dead.claimed([1, 2])
    dead.close(remove=False)
    found = list(journal.dead_journals(tmp_path, scope="db"))
    assert [p for p, _ in found] == [dead.path]
    for path, fd in found:
        journal.release(path, fd, remove=True)
    assert not dead.path.exists() and live.path.exists()
    assert list(journal.dead_journals(tmp_path, scope="other-db")) == []
    live.close(remove=True)


def test_journal_reads_back_unsettled_entries_and_ignores_a_torn_line(tmp_path):
    j = _dead(tmp_path)
    at = timezone.now()
    j.claimed([1, 2, 3, 4])
    j.sending(1, 7)
    j.acked(1, 7, at, [SegmentAnswer(1, 2**64 - 5, 0)])
    j.sending(2, 7)
    j.sending(4, 7)
    j.acked(4, 7, at, [SegmentAnswer(1, 99, 0)])
    j.settled([4])
    j.close(remove=False)
    with open(j.path, "ab") as fh:
        fh.write(b"A 3 7 2026-")  # the process died in the middle of this write
    state = journal.read(j.path)
    assert state.owner == "host:1:dead"
    assert state.claimed == {1, 2, 3}
    assert state.sending == {1: 7, 2: 7}
    assert state.acked[1].segments == ((1, 2**64 - 5, 0),) and 4 not in state.acked


def test_rotation_keeps_only_unsettled_lines(tmp_path):
    j = journal.Journal(tmp_path, "host:1:x", scope="db", rotate_bytes=200)
    j.open()
    j.claimed(range(1, 40))
    j.settled(range(1, 39))
    assert j.path.stat().st_size < 100
    j.close(remove=False)
    assert journal.read(j.path).claimed == {39}


def test_replay_records_acknowledged_flags_begun_and_releases_untouched(db, make_messages, make_node, tmp_path):
    node = make_node()
    acked, begun, untouched, recorded = make_messages(4)
    now = timezone.now()
    claimed = message_claim_batch(owner="host:1:dead", limit=10, lease_seconds=12, now=now)
    assert len(claimed) == 4
    MessageSegment.objects.create(
        message=recorded, pk_number=1, carrier_msg_id=msg_id_to_signed(555), node=node, submitted_at=now
    )
    Message.objects.filter(id=recorded.id).update(status="submitted", lease_owner="", lease_until=None)
    j = _dead(tmp_path)
    j.claimed([m.id for m in claimed])
    for m in (acked, begun, recorded):
        j.sending(m.id, node.id)
    j.acked(acked.id, node.id, now, [SegmentAnswer(1, 2**64 - 1, 0)])
    j.acked(recorded.id, node.id, now, [SegmentAnswer(1, 555, 0)])
    j.close(remove=False)

    result = journal_replay(state=journal.read(j.path), now=now)

    assert result == {"acknowledged": 1, "flagged": 1, "released": 1, "elsewhere": 0, "recorded": 1}
    rows = {m.id: m for m in Message.objects.all()}
    assert (rows[acked.id].status, rows[acked.id].node_id, rows[acked.id].possible_duplicate) == (
        "submitted",
        node.id,
        False,
    )
    assert list(rows[acked.id].segment_rows.values_list("carrier_msg_id", flat=True)) == [msg_id_to_signed(2**64 - 1)]
    assert (rows[begun.id].status, rows[begun.id].lease_owner, rows[begun.id].possible_duplicate) == (
        "queued",
        "",
        True,
    )
    assert (rows[untouched.id].lease_owner, rows[untouched.id].possible_duplicate) == ("", False)
    assert rows[recorded.id].possible_duplicate is False
    assert DailyCount.objects.get().accepted_messages == 1
    # both come back at once (no waiting for the lease), flagged only where a copy may be out
    again = {c.id: c.possible_duplicate for c in message_claim_batch(owner="s2", limit=10, lease_seconds=12, now=now)}
    assert again == {begun.id: True, untouched.id: False}


def test_acknowledged_copy_of_a_message_taken_over_is_kept_and_flagged(db, make_messages, make_node, tmp_path):
    node = make_node()
    (msg,) = make_messages(1)
    now = timezone.now()
    message_claim_batch(owner="host:1:dead", limit=1, lease_seconds=12, now=now)
    later = now + timedelta(seconds=13)
    (taken,) = message_claim_batch(owner="s2", limit=1, lease_seconds=12, now=later)
    assert taken.possible_duplicate  # a lease that ran out without being given back: a copy may be out
    j = _dead(tmp_path)
    j.sending(msg.id, node.id)
    j.acked(msg.id, node.id, now, [SegmentAnswer(1, 4242, 0)])
    j.close(remove=False)
    assert journal_replay(state=journal.read(j.path), now=later)["elsewhere"] == 1
    row = Message.objects.get()
    assert (row.status, row.lease_owner, row.possible_duplicate) == ("queued", "s2", True)
    assert list(row.segment_rows.values_list("carrier_msg_id", flat=True)) == [msg_id_to_signed(4242)]


def test_leases_are_renewed_only_for_the_owner(db, make_messages):
    mine, theirs = make_messages(2)
    now = timezone.now()
    message_claim_batch(owner="me", limit=1, lease_seconds=12, now=now)
    message_claim_batch(owner="them", limit=1, lease_seconds=12, now=now)
    until = leases_renew(owner="me", ids=[mine.id, theirs.id], lease_seconds=12, now=now + timedelta(seconds=9))
    assert Message.objects.get(id=mine.id).lease_until == until
    assert Message.objects.get(id=theirs.id).lease_until == now + timedelta(seconds=12)
    later = message_claim_batch(owner="s3", limit=5, lease_seconds=12, now=now + timedelta(seconds=15))
    assert [c.id for c in later] == [theirs.id]  # mine lives on; theirs ran out


def test_report_of_an_unrecorded_copy_matches_the_flagged_message(db, make_messages, make_node):
    node = make_node()
    flagged, plain = make_messages(2)
    Message.objects.filter(id=flagged.id).update(possible_duplicate=True)
    now = timezone.now()
    reports = [
        ReportIn(777, "DELIVRD", "86" + flagged.mobile, node.id),
        ReportIn(778, "DELIVRD", plain.mobile, node.id),
    ]
    rest = reports_match_copies(reports=reports, now=now)
    assert [r.msg_id for r in rest] == [778]
    seg = MessageSegment.objects.get()
    assert (seg.message_id, seg.carrier_msg_id, seg.stat, seg.pk_number) == (flagged.id, 777, "DELIVRD", 0)


def test_submitted_without_report_after_validity_and_grace_becomes_no_report(db, make_messages, make_node):
    from gateway.selectors import daily_delivery, month_evidence
    from gateway.sender.rules import counting_day
    from gateway.sender.store import messages_no_report

    node = make_node()
    now = timezone.now()
    lost, waiting, fresh = make_messages(3)
    submitted_at = now - timedelta(hours=30)
    Message.objects.filter(id__in=[lost.id, waiting.id, fresh.id]).update(
        status="submitted", node=node, submitted_at=submitted_at
    )
    Message.objects.filter(id=lost.id).update(valid_until=now - timedelta(hours=2))  # validity + 1 h grace over
    Message.objects.filter(id=waiting.id).update(valid_until=now - timedelta(minutes=30))  # still in its grace

    assert messages_no_report(now=now, grace_seconds=3600) == 1
    assert messages_no_report(now=now, grace_seconds=3600) == 0  # final: counted once
    rows = {m.id: m for m in Message.objects.all()}
    assert (rows[lost.id].status, rows[lost.id].finished_at) == ("no_report", now)
    assert rows[waiting.id].status == "submitted" and rows[fresh.id].status == "submitted"
    day = counting_day(submitted_at)
    assert DailyCount.objects.get(day=day).no_report_messages == 1
    assert daily_delivery(contract_id=lost.contract_id, start=day, end=day)[day]["no_report"] == 1
    assert month_evidence(contract_id=lost.contract_id, year=day.year, month=day.month)["no_report"] == 1


def test_several_senders_open_one_fault_ticket_per_outage(transactional_db, contract, concurrent_writers):
    """Two senders report the same outage at the same moment (the gateway event, which the assessment app
    receives): one severe ticket, not one each; the same outage reported later opens none."""
    import threading

    from django.db import connection

    from assessment.models import FaultTicket
    from gateway.events import Outage, OutageKind
    from gateway.sender.outages import outage_report

    barrier = threading.Barrier(2)
    errors = []
    outage = Outage(OutageKind.ALL_NODES, contract.id, ("a", "b"), 30, timezone.now())

    def sender():
        try:
            barrier.wait()
            outage_report(outage=outage)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ticket = FaultTicket.objects.get(contract=contract)
    assert (ticket.severity, ticket.source, ticket.description) == ("severe", "automatic", "所有网关节点不可用（a, b）")
    outage_report(outage=Outage(OutageKind.NODE, contract.id, ("a",), 600, timezone.now()))
    outage_report(outage=outage)
    assert sorted(FaultTicket.objects.values_list("severity", "description")) == [
        ("minor", "网关节点 a 不可用已超过 600 秒"),
        ("severe", "所有网关节点不可用（a, b）"),
    ]
