"""The database side of the sender: claims with leases, bulk writes of submit answers and status reports,
uplink messages, daily counts and node state changes. Synchronous Django code; the async runner calls it
in a worker thread. Writes are batched: one claim per ~1,000 messages, a handful of statements per batch.

On PostgreSQL claims use `SELECT ... FOR UPDATE SKIP LOCKED` over the partial index of queued rows, so any
number of sender processes share the queue without sending anything twice. On SQLite (the demo) row locks
do not exist: run one sender there.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q

from gateway.models import (
    DailyCount,
    Message,
    MessageSegment,
    NodeStateChange,
    OptOut,
    UnmatchedReport,
    UplinkMessage,
)
from gateway.msgid_store import to_db
from gateway.sender import rules
from gateway.services.optouts import optout_set
from sms_contract.masking import mask_mobile

log = logging.getLogger("gateway.sender")

QUEUED = Message.Status.QUEUED
SUBMITTED = Message.Status.SUBMITTED


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message this sender holds a lease on."""

    id: int
    contract_id: int
    notice_type_id: int | None
    mobile: str
    content: str
    src_id: str
    units: int
    segments: int
    valid_until: datetime
    lease_until: datetime
    possible_duplicate: bool


@dataclass(frozen=True, slots=True)
class SegmentAnswer:
    pk_number: int
    msg_id: int  # unsigned 64-bit
    result: int


@dataclass(slots=True)
class Outcome:
    """What became of one claimed message.

    kind: "accepted" (every segment result 0), "refused" (a segment refused: final failure), "released"
    (give it back to the queue), "expired" (validity ran out while we tried), "ambiguous_failed" (answer lost
    and the policy says fail). `earlier` holds segments of earlier ambiguous attempts (node_id, answer, at).
    """

    message: Claimed
    kind: str
    node_id: int | None = None
    segments: list[SegmentAnswer] = field(default_factory=list)
    possible_duplicate: bool = False
    earlier: list[tuple[int, SegmentAnswer, datetime]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReportIn:
    msg_id: int
    stat: str
    mobile: str
    node_id: int | None
    submit_time: str = ""
    done_time: str = ""


# ----------------------------------------------------------------------------- claims

# The message fields a sender needs to send (positions 0-8 of the rows claimed and of the rows replayed).
SEND_FIELDS = ("id", "contract_id", "notice_type_id", "mobile", "content", "src_id", "units", "segments", "valid_until")


def message_claim_batch(*, owner: str, limit: int, lease_seconds: int, now: datetime) -> list[Claimed]:
    """Lease up to `limit` queued messages (lowest ids first) whose lease is free or expired.

    Messages already past their validity are marked `expired` here instead of being returned, so nothing is
    sent late after an outage. A message whose lease ran out without being given back (its sender died, and
    no journal replay settled it) may have reached the carrier already: it is marked `possible_duplicate`.
    """
    lease_until = now + timedelta(seconds=lease_seconds)
    if connection.vendor == "postgresql":
        return _claim_postgresql(owner=owner, limit=limit, lease_until=lease_until, now=now)
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=QUEUED)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("id")
            .values_list(
                *SEND_FIELDS,
                "possible_duplicate",
                "lease_owner",
            )[:limit]
        )
        if not rows:
            return []
        expired = [row[0] for row in rows if row[8] <= now]
        live = [row for row in rows if row[8] > now]
        if expired:
            Message.objects.filter(id__in=expired).update(
                status=Message.Status.EXPIRED, finished_at=now, lease_owner="", lease_until=None
            )
            for message_id in expired:
                log.info("message %s expired before it could be sent", message_id)
        if live:
            Message.objects.filter(id__in=[row[0] for row in live]).update(
                lease_owner=owner, lease_until=lease_until, attempts=F("attempts") + 1
            )
            taken_over = [row[0] for row in live if row[10]]
            if taken_over:
                Message.objects.filter(id__in=taken_over).update(possible_duplicate=True)
    return [Claimed(*row[:9], lease_until, row[9] or bool(row[10])) for row in live]


_CLAIM_SQL = """
UPDATE gateway_message m SET lease_owner = %s, lease_until = %s, attempts = m.attempts + 1,
    possible_duplicate = m.possible_duplicate OR m.lease_owner <> ''
FROM (
    SELECT id, created_at FROM gateway_message
    WHERE status = 'queued' AND (lease_until IS NULL OR lease_until < %s)
    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
) picked
WHERE m.id = picked.id AND m.created_at = picked.created_at
RETURNING m.id, m.contract_id, m.notice_type_id, m.mobile, m.content, m.src_id, m.units, m.segments, m.valid_until,
    m.possible_duplicate
"""


def _claim_postgresql(*, owner: str, limit: int, lease_until: datetime, now: datetime) -> list[Claimed]:
    """One statement: pick with SKIP LOCKED over the partial index, lease, return the rows. The join names
    created_at too, so on the partitioned table each row is found in its own month (ADR 0115)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [owner, lease_until, now, limit])
        rows = sorted(cursor.fetchall())
        expired = [row[0] for row in rows if row[8] <= now]
        if expired:
            Message.objects.filter(id__in=expired).update(
                status=Message.Status.EXPIRED, finished_at=now, lease_owner="", lease_until=None
            )
            for message_id in expired:
                log.info("message %s expired before it could be sent", message_id)
    return [Claimed(*row[:9], lease_until, row[9]) for row in rows if row[8] > now]


def leases_renew(*, owner: str, ids: Sequence[int], lease_seconds: int, now: datetime) -> datetime:
    """Extend this sender's leases on `ids` (those still queued under it); returns the new lease end."""
    lease_until = now + timedelta(seconds=lease_seconds)
    for start in range(0, len(ids), 5000):
        Message.objects.filter(id__in=ids[start : start + 5000], status=QUEUED, lease_owner=owner).update(
            lease_until=lease_until
        )
    return lease_until


def journal_replay(*, state, now: datetime) -> dict[str, int]:
    """Settle what a dead sender's journal (`journal.JournalState`) says, before its leases run out.

    * acknowledged (every SUBMIT_RESP in the journal): recorded as submitted (or failed for a refusal) with
      its segments, so its status reports match and it is not sent again; if another sender took the
      message over meanwhile, the segments are kept as an earlier attempt and the message is flagged;
    * submit begun, no answer journaled: the carrier may have it; the lease is given back and the message
      flagged `possible_duplicate`, so the copy sent next is marked;
    * only claimed: the lease is given back unflagged (it never left the process);
    * already recorded before the crash (the `D` line was not written yet): nothing to do.
    Returns counts per case.
    """
    owner = state.owner
    acked = dict(state.acked)
    sending = {k: v for k, v in state.sending.items() if k not in acked}
    claimed = state.claimed - set(acked) - set(sending)
    ids = sorted(set(acked) | set(sending) | claimed)
    result = {"acknowledged": 0, "flagged": 0, "released": 0, "elsewhere": 0, "recorded": 0}
    if not ids:
        return result
    outcomes: list[Outcome] = []
    earlier: list[MessageSegment] = []
    with transaction.atomic():
        rows = {
            row[0]: row
            for row in Message.objects.select_for_update()
            .filter(id__in=ids)
            .order_by("id")
            .values_list(
                *SEND_FIELDS,
                "lease_until",
                "possible_duplicate",
                "status",
                "lease_owner",
            )
        }
        ours = {mid for mid, row in rows.items() if row[11] == QUEUED and row[12] == owner}
        flag: list[int] = []
        release: list[int] = []
        for message_id, ack in acked.items():
            row = rows.get(message_id)
            if row is None:
                continue
            answers = [SegmentAnswer(*seg) for seg in ack.segments]
            if message_id in ours:
                kind = "accepted" if all(a.result == 0 for a in answers) else "refused"
                outcomes.append(
                    Outcome(Claimed(*row[:11]), kind, node_id=ack.node_id, segments=answers, possible_duplicate=row[10])
                )
                result["acknowledged"] += 1
            else:  # recorded before the crash, or taken over by another sender meanwhile
                known = set(
                    MessageSegment.objects.filter(message_id=message_id).values_list("carrier_msg_id", flat=True)
                )
                unknown = [a for a in answers if a.result == 0 and to_db(a.msg_id) not in known]
                if unknown:  # a copy the database never heard of: keep it, so its reports match, and flag
                    earlier.extend(_segment(message_id, ack.node_id, a, ack.at) for a in unknown)
                    flag.append(message_id)
                    result["elsewhere"] += 1
                else:
                    result["recorded"] += 1
        for message_id in sending:
            # Not ours any more: recorded before the crash, or claimed by another sender from the expired
            # lease, which flags it at the claim.
            if message_id in ours:
                flag.append(message_id)
                release.append(message_id)
                result["flagged"] += 1
        for message_id in claimed:
            if message_id in ours:
                release.append(message_id)
                result["released"] += 1
        if earlier:
            _segments_insert(earlier)
        if flag:
            Message.objects.filter(id__in=flag).update(possible_duplicate=True)
        if release:
            Message.objects.filter(id__in=release, status=QUEUED, lease_owner=owner).update(
                lease_owner="", lease_until=None
            )
        if outcomes:
            results_record(outcomes=outcomes, owner=owner, now=now)
    log.warning("journal of dead sender %s replayed: %s", owner, result)
    return result


def messages_no_report(*, now: datetime, grace_seconds: float, limit: int = 10_000) -> int:
    """Submitted messages whose validity ended more than `grace_seconds` ago without a (final) status report
    become `no_report` (final) and are counted in `DailyCount.no_report_messages` on the day they were
    submitted. A report arriving later still updates its segment but no longer changes the message."""
    cutoff = now - timedelta(seconds=grace_seconds)
    counts: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=SUBMITTED, valid_until__lt=cutoff)
            .order_by("valid_until")
            .values_list("id", "contract_id", "submitted_at", "notice_type_id", "node_id")[:limit]
        )
        if not rows:
            return 0
        Message.objects.filter(id__in=[r[0] for r in rows], status=SUBMITTED).update(
            status=Message.Status.NO_REPORT, finished_at=now
        )
        for _, contract_id, submitted_at, notice_type_id, node_id in rows:
            counts[(contract_id, rules.counting_day(submitted_at or now), notice_type_id, node_id)][
                "no_report_messages"
            ] += 1
        daily_counts_add(counts)
    _log_lines([f"message {r[0]} no_report (no status report within validity + {grace_seconds:.0f} s)" for r in rows])
    return len(rows)


def messages_expire(*, now: datetime, limit: int = 10_000) -> int:
    """Mark queued messages past their validity `expired` (lease free or expired). Returns how many."""
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=QUEUED, valid_until__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            Message.objects.filter(id__in=ids).update(
                status=Message.Status.EXPIRED, finished_at=now, lease_owner="", lease_until=None
            )
    for message_id in ids:
        log.info("message %s expired before it could be sent", message_id)
    return len(ids)


# ----------------------------------------------------------------------------- submit answers
def results_record(*, outcomes: Sequence[Outcome], owner: str, now: datetime) -> None:
    """Write a batch of outcomes: segments (bulk insert), message statuses (one UPDATE per group), daily
    counts (one upsert per day/notice type/node) and one log line per message."""
    if not outcomes:
        return
    segments: list[MessageSegment] = []
    groups: dict[tuple, list[int]] = defaultdict(list)
    counts: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    day = rules.counting_day(now)
    lines: list[str] = []
    for out in outcomes:
        msg = out.message
        for node_id, answer, at in out.earlier:
            segments.append(_segment(msg.id, node_id, answer, at))
        if out.kind == "accepted":
            segments.extend(_segment(msg.id, out.node_id, answer, now) for answer in out.segments)
            groups[("accepted", out.node_id, out.possible_duplicate)].append(msg.id)
            key = (msg.contract_id, day, msg.notice_type_id, out.node_id)
            counts[key]["accepted_messages"] += 1
            counts[key]["accepted_units"] += msg.units
            ids = ",".join(str(a.msg_id) for a in out.segments)
            lines.append(f"message {msg.id} to {mask_mobile(msg.mobile)} submitted via node {out.node_id}: {ids}")
        elif out.kind == "refused":
            segments.extend(_segment(msg.id, out.node_id, answer, now) for answer in out.segments)
            code = next((a.result for a in out.segments if a.result != 0), 0)
            groups[("refused", out.node_id, rules.refusal_stat(code))].append(msg.id)
            key = (msg.contract_id, day, msg.notice_type_id, out.node_id)
            counts[key]["failed_messages"] += 1
            counts[key]["refused_segments"] += sum(1 for a in out.segments if a.result != 0)
            lines.append(f"message {msg.id} to {mask_mobile(msg.mobile)} refused by node {out.node_id}: {code}")
        elif out.kind in ("released", "expired", "ambiguous_failed"):
            groups[(out.kind, None, out.possible_duplicate)].append(msg.id)
            lines.append(f"message {msg.id} to {mask_mobile(msg.mobile)} {out.kind.replace('_', ' ')}")
        else:
            raise ValueError(f"unknown outcome {out.kind!r}")
    with transaction.atomic():
        if segments:
            _segments_insert(segments)
        for (kind, node_id, extra), ids in groups.items():
            qs = Message.objects.filter(id__in=ids, status=QUEUED)
            if kind == "accepted":
                qs.update(
                    status=SUBMITTED,
                    node_id=node_id,
                    submitted_at=now,
                    possible_duplicate=extra,
                    lease_owner="",
                    lease_until=None,
                )
            elif kind == "refused":
                qs.update(
                    status=Message.Status.FAILED,
                    node_id=node_id,
                    stat=extra,
                    finished_at=now,
                    lease_owner="",
                    lease_until=None,
                )
            elif kind == "released":
                qs.filter(lease_owner=owner).update(lease_owner="", lease_until=None, possible_duplicate=extra)
            elif kind == "expired":
                qs.update(status=Message.Status.EXPIRED, finished_at=now, lease_owner="", lease_until=None)
            else:  # ambiguous_failed
                qs.update(
                    status=Message.Status.FAILED,
                    stat="AMBIGUOUS",
                    possible_duplicate=True,
                    finished_at=now,
                    lease_owner="",
                    lease_until=None,
                )
        daily_counts_add(counts)
    _log_lines(lines)


def _segments_insert(segments: list[MessageSegment]) -> None:
    if connection.vendor != "postgresql":
        MessageSegment.objects.bulk_create(segments, batch_size=2000)
        return
    from psycopg2.extras import execute_values

    rows = [(s.message_id, s.pk_number, s.carrier_msg_id, s.node_id, s.result, s.submitted_at, "") for s in segments]
    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            f"INSERT INTO {MessageSegment._meta.db_table} "  # noqa: S608
            "(message_id, pk_number, carrier_msg_id, node_id, result, submitted_at, stat) VALUES %s",
            rows,
            page_size=2000,
        )


def _log_lines(lines: list[str]) -> None:
    """One log record per batch, one line per message in it (numbers already masked; the logging filter masks
    again). A record per message would cost more than the rest of the batch's Python work."""
    if lines and log.isEnabledFor(logging.INFO):
        log.info("\n".join(lines))


def _segment(message_id: int, node_id: int | None, answer: SegmentAnswer, at: datetime) -> MessageSegment:
    return MessageSegment(
        message_id=message_id,
        pk_number=answer.pk_number,
        carrier_msg_id=to_db(answer.msg_id),
        node_id=node_id,
        result=answer.result,
        submitted_at=at,
    )


# ----------------------------------------------------------------------------- status reports
def reports_record(*, reports: Sequence[ReportIn], now: datetime) -> list[ReportIn]:
    """Apply status reports to segments and messages; returns the reports that matched no segment (the
    caller retries them a little later, since a report can overtake the write of its SUBMIT_RESP).

    A message becomes `delivered` when every segment of its last submission reported DELIVRD, `failed` with
    the code as soon as one segment reports anything else. Message rows are locked in id order first, so two
    senders handling reports for segments of the same message see each other's writes.
    """
    if not reports:
        return []
    by_id: dict[int, list[ReportIn]] = defaultdict(list)
    for report in reports:
        by_id[to_db(report.msg_id)].append(report)
    unmatched: list[ReportIn] = []
    counts: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    lines: list[str] = []
    with transaction.atomic():
        found: dict[int, tuple[int, int, datetime, int]] = {}
        for seg_id, db_id, message_id, submitted_at, segments in MessageSegment.objects.filter(
            carrier_msg_id__in=list(by_id)
        ).values_list("id", "carrier_msg_id", "message_id", "submitted_at", "message__segments"):
            if db_id not in found or submitted_at > found[db_id][2]:  # the same id twice: the latest send
                found[db_id] = (seg_id, message_id, submitted_at, segments)
        reported = {
            message_id: (submitted_at, by_id[db_id][-1].stat[:16])
            for db_id, (_, message_id, submitted_at, _) in found.items()
        }
        for db_id, items in by_id.items():
            if db_id not in found:
                unmatched.extend(items)
        if not found:
            return unmatched
        by_stat: dict[str, list[int]] = defaultdict(list)
        for db_id, (seg_id, _, _, _) in found.items():
            by_stat[by_id[db_id][-1].stat[:16]].append(seg_id)
        for stat, seg_ids in by_stat.items():
            MessageSegment.objects.filter(id__in=seg_ids).update(stat=stat, reported_at=now)
        done: set[int] = set()
        if connection.vendor == "postgresql":
            done = _one_segment_reports(found, by_id, now, counts, lines)
        message_ids = sorted({message_id for _, message_id, _, _ in found.values()} - done)
        messages = {
            row[0]: row
            for row in Message.objects.select_for_update()
            .filter(id__in=message_ids)
            .order_by("id")
            .values_list(
                "id", "status", "submitted_at", "segments", "units", "contract_id", "notice_type_id", "node_id"
            )
        }
        pending = [m for m in messages.values() if m[1] == SUBMITTED]
        stats: dict[int, list[str]] = defaultdict(list)
        last_sent = {}
        for m in pending:
            sent_at, stat = reported[m[0]]
            if m[3] == 1 and sent_at == m[2]:  # one segment, reported now: no need to read the others
                stats[m[0]].append(stat)
            else:
                last_sent[m[0]] = m[2]
        if last_sent:
            for message_id, stat, submitted_at in MessageSegment.objects.filter(
                message_id__in=list(last_sent)
            ).values_list("message_id", "stat", "submitted_at"):
                if submitted_at == last_sent[message_id]:  # segments of earlier (ambiguous) sends do not count
                    stats[message_id].append(stat)
        delivered: list[int] = []
        failed: dict[str, list[int]] = defaultdict(list)
        for m in pending:
            outcome = rules.message_outcome(stats[m[0]], m[3])
            if outcome is None:
                continue
            key = (m[5], rules.counting_day(m[2]), m[6], m[7])
            if outcome[0] == "delivered":
                delivered.append(m[0])
                counts[key]["delivered_messages"] += 1
                counts[key]["delivered_units"] += m[4]
            else:
                failed[outcome[1]].append(m[0])
                counts[key]["failed_messages"] += 1
            lines.append(f"message {m[0]} {outcome[0]} ({outcome[1]})")
        if delivered:
            Message.objects.filter(id__in=delivered).update(
                status=Message.Status.DELIVERED, stat=rules.DELIVERED_STAT, delivered_at=now, finished_at=now
            )
        for stat, ids in failed.items():
            Message.objects.filter(id__in=ids).update(status=Message.Status.FAILED, stat=stat, finished_at=now)
        daily_counts_add(counts)
    _log_lines(lines)
    return unmatched


_ONE_SEGMENT_SQL = """
UPDATE gateway_message m SET status = %s, stat = %s, finished_at = %s,
    delivered_at = CASE WHEN %s THEN %s ELSE m.delivered_at END
FROM gateway_messagesegment s
WHERE s.id = ANY(%s) AND m.id = s.message_id AND m.status = 'submitted' AND m.segments = 1
    AND s.submitted_at = m.submitted_at
RETURNING m.id, m.contract_id, m.submitted_at, m.notice_type_id, m.node_id, m.units
"""


def _one_segment_reports(found, by_id, now, counts, lines) -> set[int]:
    """PostgreSQL: finish one-segment messages with one UPDATE ... RETURNING per Stat, without locking and
    re-reading them first (the status condition makes a second sender's update of the same row a no-op, and
    only returned rows are counted). Returns the ids of the messages handled here."""
    seg_ids: dict[str, list[int]] = defaultdict(list)
    handled: set[int] = set()
    for db_id, (seg_id, message_id, _, segments) in found.items():
        if segments == 1:
            seg_ids[by_id[db_id][-1].stat[:16]].append(seg_id)
            handled.add(message_id)
    with connection.cursor() as cursor:
        for stat, ids in seg_ids.items():
            delivered = stat == rules.DELIVERED_STAT
            status = Message.Status.DELIVERED if delivered else Message.Status.FAILED
            cursor.execute(_ONE_SEGMENT_SQL, [status, stat, now, delivered, now, ids])
            for message_id, contract_id, submitted_at, notice_type_id, node_id, units in cursor.fetchall():
                key = (contract_id, rules.counting_day(submitted_at), notice_type_id, node_id)
                if delivered:
                    counts[key]["delivered_messages"] += 1
                    counts[key]["delivered_units"] += units
                else:
                    counts[key]["failed_messages"] += 1
                lines.append(f"message {message_id} {status} ({stat})")
    return handled


def reports_match_copies(*, reports: Sequence[ReportIn], now: datetime, days: int = 3) -> list[ReportIn]:
    """Reports that match no known Msg_Id but belong to a copy we could not record (a sender died after the
    carrier took a SUBMIT and before its answer was journaled): matched to the latest message flagged
    `possible_duplicate` to the same mobile, and kept on it as a segment of an earlier copy (pk_number 0:
    which segment is unknown). The message's status still follows its last submission. Returns the rest."""
    rest: list[ReportIn] = []
    rows: list[MessageSegment] = []
    since = now - timedelta(days=days)
    with transaction.atomic():
        for report in reports:
            mobile = rules.normalise_mobile(report.mobile)
            match = (
                Message.objects.filter(possible_duplicate=True, mobile=mobile, created_at__gte=since)
                .order_by("-id")
                .values_list("id", "created_at", "node_id")
                .first()
            )
            node_id = report.node_id or (match[2] if match else None)
            if match is None or node_id is None:
                rest.append(report)
                continue
            rows.append(
                MessageSegment(
                    message_id=match[0],
                    pk_number=0,
                    carrier_msg_id=to_db(report.msg_id),
                    node_id=node_id,
                    result=0,
                    submitted_at=match[1],
                    stat=report.stat[:16],
                    reported_at=now,
                )
            )
            log.info("status report %s matched the earlier copy of message %s", report.msg_id, match[0])
        if rows:
            MessageSegment.objects.bulk_create(rows)
    return rest


def unmatched_reports_keep(*, reports: Iterable[ReportIn], now: datetime) -> int:
    rows = [
        UnmatchedReport(
            carrier_msg_id=to_db(r.msg_id),
            stat=r.stat[:16],
            mobile=r.mobile[:21],
            node_id=r.node_id,
            submit_time=r.submit_time[:10],
            done_time=r.done_time[:10],
            received_at=now,
        )
        for r in reports
    ]
    UnmatchedReport.objects.bulk_create(rows)
    for r in rows:
        log.warning("status report %s (%s) for %s matched no message", r.carrier_msg_id, r.stat, mask_mobile(r.mobile))
    return len(rows)


# ----------------------------------------------------------------------------- uplink
def uplink_record(*, src: str, dest_id: str, text: str, node_id: int | None, now: datetime) -> bool:
    """Log an uplink text; TD / T / 退订 opts the subscriber out (source `mo`). Returns True for an opt-out."""
    mobile = rules.normalise_mobile(src)
    opt_out = rules.is_opt_out(text)
    with transaction.atomic():
        UplinkMessage.objects.create(
            mobile=mobile, dest_id=dest_id[:21], text=text, node_id=node_id, opt_out=opt_out, received_at=now
        )
        if opt_out:
            optout_set(mobile=mobile, opted_out=True, source=OptOut.Source.MO, now=now, actor="uplink TD")
    if opt_out:
        log.info("subscriber %s opted out by uplink %r", mask_mobile(mobile), text.strip())
    else:
        log.info("uplink from %s to %s logged", mask_mobile(mobile), dest_id)
    return opt_out


# ----------------------------------------------------------------------------- node states
def node_state_record(*, node_id: int, healthy: bool, state: str, reason: str, sender: str, at: datetime) -> None:
    NodeStateChange.objects.create(
        node_id=node_id, healthy=healthy, state=state, reason=reason[:200], sender=sender[:64], at=at
    )
    log.info("node %s is %s: %s", node_id, state, reason)


# ----------------------------------------------------------------------------- fault tickets
_TICKET_LOCK = 0x12123_0002


def fault_ticket_open_once(*, contract_id: int, severity: str, description: str, reported_at: datetime):
    """Open an automatic fault ticket unless one with this text is still open; several senders seeing the
    same outage take turns (an advisory lock on PostgreSQL), so they open one ticket, not one each."""
    from assessment.services import fault_ticket_open_automatic

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TICKET_LOCK])
        return fault_ticket_open_automatic(
            contract_id=contract_id, severity=severity, description=description, reported_at=reported_at
        )


# ----------------------------------------------------------------------------- daily counts
_COUNT_FIELDS = (
    "accepted_messages",
    "accepted_units",
    "delivered_messages",
    "delivered_units",
    "failed_messages",
    "refused_segments",
    "no_report_messages",
)


def daily_counts_add(counts: dict[tuple, dict[str, int]]) -> None:
    """Add to the daily counts keyed (contract_id, day, notice_type_id, node_id). Keys go in sorted order so
    concurrent senders cannot deadlock. PostgreSQL: one INSERT ... ON CONFLICT DO UPDATE; elsewhere an
    UPDATE with F() and an INSERT when nothing was there (run inside the caller's transaction)."""
    if not counts:
        return
    keys = sorted(counts, key=lambda k: (k[0], k[1], k[2] or 0, k[3] or 0))
    if connection.vendor == "postgresql":
        rows = [(*key, *(counts[key].get(f, 0) for f in _COUNT_FIELDS)) for key in keys]
        table = DailyCount._meta.db_table
        cols = ", ".join(_COUNT_FIELDS)
        updates = ", ".join(f"{f} = {table}.{f} + EXCLUDED.{f}" for f in _COUNT_FIELDS)
        placeholders = ", ".join(["%s"] * (4 + len(_COUNT_FIELDS)))
        sql = (
            f"INSERT INTO {table} (contract_id, day, notice_type_id, node_id, {cols}) VALUES ({placeholders}) "  # noqa: S608
            f"ON CONFLICT (contract_id, day, COALESCE(notice_type_id, 0), COALESCE(node_id, 0)) DO UPDATE SET {updates}"
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        return
    for key in keys:
        contract_id, day, notice_type_id, node_id = key
        deltas = {f: v for f, v in counts[key].items() if v}
        if not deltas:
            continue
        lookup = {"contract_id": contract_id, "day": day, "notice_type_id": notice_type_id, "node_id": node_id}
        updated = DailyCount.objects.filter(**lookup).update(**{f: F(f) + v for f, v in deltas.items()})
        if not updated:
            DailyCount.objects.create(**lookup, **deltas)
