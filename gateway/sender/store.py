"""The database side of the sender: claims with leases, bulk writes of submit answers and status reports,
uplink messages, daily counts and node state changes. Synchronous Django code; the async runner calls it
in a worker thread. Writes are batched: one claim per ~1,000 messages, a handful of statements per batch.

On PostgreSQL claims use `SELECT ... FOR UPDATE SKIP LOCKED` over the partial index of queued rows, so any
number of sender processes share the queue without sending anything twice. On SQLite (the demo) row locks
do not exist: run one sender there.
"""

from __future__ import annotations

import enum
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q

from gateway import scheduling
from gateway.callbacks.outbox import events_record
from gateway.cmpp.msgid import msg_id_to_signed
from gateway.models import (
    DailyCount,
    Message,
    MessageSegment,
    NodeStateChange,
    OptOut,
    UnmatchedReport,
    UplinkMessage,
)
from gateway.sender import rules
from gateway.sender.journal import JournalState
from gateway.services.optouts import optout_set
from sms_contract.masking import mask_mobile

log = logging.getLogger("gateway.sender")

QUEUED = Message.Status.QUEUED
SUBMITTED = Message.Status.SUBMITTED
WRITE_CHUNK = 5000  # ids per UPDATE ... WHERE id IN (...) and outcomes per results_record call
AMBIGUOUS_STAT = "AMBIGUOUS"  # the stat of a message failed because its answer was lost (policy "fail")


class OutcomeKind(enum.StrEnum):
    ACCEPTED = "accepted"  # every segment result 0
    REFUSED = "refused"  # a segment refused: final failure
    RELEASED = "released"  # give it back to the queue
    EXPIRED = "expired"  # validity ran out while we tried
    AMBIGUOUS_FAILED = "ambiguous_failed"  # answer lost and the policy says fail


CountKey = tuple[int, date, int | None, int | None]  # (contract_id, day, notice_type_id, node_id)
Counts = dict[CountKey, dict[str, int]]


def _counts() -> Counts:
    return defaultdict(lambda: defaultdict(int))


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
    priority: int = 1  # 0 urgent, 1 normal, 2 bulk


@dataclass(frozen=True, slots=True)
class SegmentAnswer:
    pk_number: int
    msg_id: int  # unsigned 64-bit
    result: int


@dataclass(slots=True)
class Outcome:
    """What became of one claimed message (`OutcomeKind`). `earlier` holds segments of earlier ambiguous
    attempts (node_id, answer, at)."""

    message: Claimed
    kind: OutcomeKind
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


def message_claim_batch(
    *,
    owner: str,
    limit: int,
    lease_seconds: int,
    now: datetime,
    takeover_before: datetime | None = None,
    weights: dict[int, int] | None = None,
    ranks: tuple[int, ...] | None = None,
) -> list[Claimed]:
    """Lease up to `limit` queued messages that may go now, urgent first, whose lease is free or expired.

    Each priority first gets its weighted share of `limit` (GATEWAY_PRIORITY_WEIGHTS; oldest first within a
    priority), then what a priority left unused goes to the others, most urgent first: urgent notices never
    wait behind bulk, and bulk is never starved (`ranks` limits the claim to those priorities, e.g. (0,) for
    urgent only). Messages waiting for `send_at` or their window (`not_before` set) are not in the queue index
    and not claimed. Returned in order: priority, then id.

    Messages already past their validity are marked `expired` here instead of being returned, so nothing is
    sent late after an outage. A message whose lease ran out without being given back (its sender died, and
    no journal replay settled it) may have reached the carrier already: it is marked `possible_duplicate`.
    Another sender's lease is taken over only if it ran out before `takeover_before` (default: now): after a
    database outage the senders pass the time it began, so the leases that ran out only because nobody could
    renew them stay with their live owners, who renew them or record what the carrier already took.
    """
    lease_until = now + timedelta(seconds=lease_seconds)
    takeover_before = now if takeover_before is None else min(now, takeover_before)
    take = _claim_postgresql if connection.vendor == "postgresql" else _claim_other
    rows: list[tuple] = []
    with transaction.atomic():
        full: dict[int, bool] = {}
        weights = {r: w for r, w in (weights or _weights()).items() if ranks is None or r in ranks}
        lease = {"owner": owner, "lease_until": lease_until, "now": now, "takeover_before": takeover_before}
        for rank, quota in scheduling.claim_quotas(limit, weights):
            got = take(rank=rank, limit=quota, **lease)
            rows.extend(got)
            full[rank] = len(got) == quota
        for rank in sorted(weights):
            left = limit - len(rows)
            if left > 0 and full.get(rank, True):  # not tried yet (a claim smaller than 3), or had more
                rows.extend(take(rank=rank, limit=left, **lease))
        expired = [row[0] for row in rows if row[8] <= now]
        if expired:
            Message.objects.filter(id__in=expired).update(
                status=Message.Status.EXPIRED, finished_at=now, lease_owner="", lease_until=None
            )
            events_record(expired, at=now)
            for message_id in expired:
                log.info("message %s expired before it could be sent", message_id)
    rows.sort(key=lambda row: (row[10], row[0]))
    return [Claimed(*row[:9], lease_until, row[9], row[10]) for row in rows if row[8] > now]


def _weights() -> dict[int, int]:
    return scheduling.parse_weights(settings.GATEWAY_PRIORITY_WEIGHTS)


def _claim_other(
    *, owner: str, rank: int, limit: int, lease_until: datetime, now: datetime, takeover_before: datetime
) -> list[tuple]:
    """SQLite (the demo, one sender): read, then lease, in the caller's transaction."""
    rows = list(
        Message.objects.filter(status=QUEUED, not_before__isnull=True, priority=rank)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(lease_owner="") | Q(lease_until__lt=takeover_before))
        .order_by("priority", "id")
        .values_list(*SEND_FIELDS, "possible_duplicate", "priority", "lease_owner")[:limit]
    )
    if rows:
        Message.objects.filter(id__in=[row[0] for row in rows]).update(
            lease_owner=owner, lease_until=lease_until, attempts=F("attempts") + 1
        )
        taken_over = [row[0] for row in rows if row[11]]
        if taken_over:
            Message.objects.filter(id__in=taken_over).update(possible_duplicate=True)
    return [(*row[:9], row[9] or bool(row[11]), row[10]) for row in rows]


# `status = 'queued' AND not_before IS NULL ... ORDER BY priority, id` is the partial index message_queue_idx.
_CLAIM_SQL = """
UPDATE gateway_message m SET lease_owner = %s, lease_until = %s, attempts = m.attempts + 1,
    possible_duplicate = m.possible_duplicate OR m.lease_owner <> ''
FROM (
    SELECT id, created_at FROM gateway_message
    WHERE status = 'queued' AND not_before IS NULL AND priority = %s AND (lease_until IS NULL OR lease_until < %s)
        AND (lease_owner = '' OR lease_until < %s)
    ORDER BY priority, id LIMIT %s FOR UPDATE SKIP LOCKED
) picked
WHERE m.id = picked.id AND m.created_at = picked.created_at
RETURNING m.id, m.contract_id, m.notice_type_id, m.mobile, m.content, m.src_id, m.units, m.segments, m.valid_until,
    m.possible_duplicate, m.priority
"""


def _claim_postgresql(
    *, owner: str, rank: int, limit: int, lease_until: datetime, now: datetime, takeover_before: datetime
) -> list[tuple]:
    """One statement per priority: pick with SKIP LOCKED over the partial index, lease, return the rows (rows
    leased by an earlier statement of the same claim have a lease in the future, so none comes twice). The join
    names created_at too, so on the partitioned table each row is found in its own month (ADR 0115)."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [owner, lease_until, rank, now, takeover_before, limit])
        return cursor.fetchall()


def leases_renew(*, owner: str, ids: Sequence[int], lease_seconds: int, now: datetime) -> datetime:
    """Extend this sender's leases on `ids` (those still queued under it); returns the new lease end."""
    lease_until = now + timedelta(seconds=lease_seconds)
    for start in range(0, len(ids), WRITE_CHUNK):
        Message.objects.filter(id__in=ids[start : start + WRITE_CHUNK], status=QUEUED, lease_owner=owner).update(
            lease_until=lease_until
        )
    return lease_until


def journal_replay(*, state: JournalState, now: datetime) -> dict[str, int]:
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
            row.id: row
            for row in Message.objects.select_for_update()
            .filter(id__in=ids)
            .order_by("id")
            .values_list(*SEND_FIELDS, "lease_until", "possible_duplicate", "status", "lease_owner", named=True)
        }
        ours = {mid for mid, row in rows.items() if row.status == QUEUED and row.lease_owner == owner}
        flag: list[int] = []
        release: list[int] = []
        for message_id, ack in acked.items():
            row = rows.get(message_id)
            if row is None:
                continue
            answers = [SegmentAnswer(*seg) for seg in ack.segments]
            if message_id in ours:
                kind = OutcomeKind.ACCEPTED if all(a.result == 0 for a in answers) else OutcomeKind.REFUSED
                claimed_row = Claimed(
                    **{name: getattr(row, name) for name in SEND_FIELDS},
                    lease_until=row.lease_until,
                    possible_duplicate=row.possible_duplicate,
                )
                outcomes.append(
                    Outcome(
                        claimed_row,
                        kind,
                        node_id=ack.node_id,
                        segments=answers,
                        possible_duplicate=row.possible_duplicate,
                    )
                )
                result["acknowledged"] += 1
            else:  # recorded before the crash, or taken over by another sender meanwhile
                known = set(
                    MessageSegment.objects.filter(message_id=message_id).values_list("carrier_msg_id", flat=True)
                )
                unknown = [a for a in answers if a.result == 0 and msg_id_to_signed(a.msg_id) not in known]
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
    counts = _counts()
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=SUBMITTED, valid_until__lt=cutoff)
            .order_by("valid_until")
            .values_list("id", "contract_id", "submitted_at", "notice_type_id", "node_id", named=True)[:limit]
        )
        if not rows:
            return 0
        Message.objects.filter(id__in=[r.id for r in rows], status=SUBMITTED).update(
            status=Message.Status.NO_REPORT, finished_at=now
        )
        events_record([r.id for r in rows], at=now)
        for r in rows:
            key = (r.contract_id, rules.counting_day(r.submitted_at or now), r.notice_type_id, r.node_id)
            counts[key]["no_report_messages"] += 1
        daily_counts_add(counts)
    _log_lines([f"message {r.id} no_report (no status report within validity + {grace_seconds:.0f} s)" for r in rows])
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
            events_record(ids, at=now)
    for message_id in ids:
        log.info("message %s expired before it could be sent", message_id)
    return len(ids)


# ----------------------------------------------------------------------------- submit answers
def results_record(*, outcomes: Sequence[Outcome], owner: str, now: datetime) -> None:
    """Write a batch of outcomes: segments (bulk insert), message statuses (one UPDATE per group), daily
    counts (one upsert per day/notice type/node) and one log line per message."""
    if not outcomes:
        return
    plan = _results_plan(outcomes, now)
    with transaction.atomic():
        if plan.segments:
            _segments_insert(plan.segments)
        for (kind, node_id, extra), ids in plan.groups.items():
            _outcome_status_write(kind, node_id, extra, ids, owner=owner, now=now)
        events_record(
            [i for (kind, _, _), ids in plan.groups.items() if kind is not OutcomeKind.RELEASED for i in ids], at=now
        )
        daily_counts_add(plan.counts)
    _log_lines(plan.lines)


@dataclass(slots=True)
class _ResultsPlan:
    """What a batch of outcomes writes: segment rows, message ids grouped by (kind, node, extra), counts, log lines.
    `extra` is possible_duplicate, or the stat of a refusal."""

    segments: list[MessageSegment] = field(default_factory=list)
    groups: dict[tuple[OutcomeKind, int | None, bool | str], list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )
    counts: Counts = field(default_factory=_counts)
    lines: list[str] = field(default_factory=list)


def _results_plan(outcomes: Sequence[Outcome], now: datetime) -> _ResultsPlan:
    plan = _ResultsPlan()
    day = rules.counting_day(now)
    for out in outcomes:
        msg = out.message
        plan.segments.extend(_segment(msg.id, node_id, answer, at) for node_id, answer, at in out.earlier)
        if out.kind is OutcomeKind.ACCEPTED:
            _plan_accepted(plan, out, day, now)
        elif out.kind is OutcomeKind.REFUSED:
            _plan_refused(plan, out, day, now)
        elif out.kind in (OutcomeKind.RELEASED, OutcomeKind.EXPIRED, OutcomeKind.AMBIGUOUS_FAILED):
            plan.groups[(out.kind, None, out.possible_duplicate)].append(msg.id)
            plan.lines.append(f"message {msg.id} to {mask_mobile(msg.mobile)} {out.kind.replace('_', ' ')}")
        else:
            raise ValueError(f"unknown outcome {out.kind!r}")
    return plan


def _plan_accepted(plan: _ResultsPlan, out: Outcome, day: date, now: datetime) -> None:
    msg = out.message
    plan.segments.extend(_segment(msg.id, out.node_id, answer, now) for answer in out.segments)
    plan.groups[(OutcomeKind.ACCEPTED, out.node_id, out.possible_duplicate)].append(msg.id)
    key = (msg.contract_id, day, msg.notice_type_id, out.node_id)
    plan.counts[key]["accepted_messages"] += 1
    plan.counts[key]["accepted_units"] += msg.units
    ids = ",".join(str(a.msg_id) for a in out.segments)
    plan.lines.append(f"message {msg.id} to {mask_mobile(msg.mobile)} submitted via node {out.node_id}: {ids}")


def _plan_refused(plan: _ResultsPlan, out: Outcome, day: date, now: datetime) -> None:
    msg = out.message
    plan.segments.extend(_segment(msg.id, out.node_id, answer, now) for answer in out.segments)
    code = next((a.result for a in out.segments if a.result != 0), 0)
    plan.groups[(OutcomeKind.REFUSED, out.node_id, rules.refusal_stat(code))].append(msg.id)
    key = (msg.contract_id, day, msg.notice_type_id, out.node_id)
    plan.counts[key]["failed_messages"] += 1
    plan.counts[key]["refused_segments"] += sum(1 for a in out.segments if a.result != 0)
    plan.lines.append(f"message {msg.id} to {mask_mobile(msg.mobile)} refused by node {out.node_id}: {code}")


def _outcome_status_write(
    kind: OutcomeKind, node_id: int | None, extra: bool | str, ids: list[int], *, owner: str, now: datetime
) -> None:
    """The status UPDATE of one group of outcomes (only messages still queued: a message settled meanwhile by
    a journal replay is left alone). Every kind gives the lease back."""
    qs = Message.objects.filter(id__in=ids, status=QUEUED)
    lease_free = {"lease_owner": "", "lease_until": None}
    if kind is OutcomeKind.ACCEPTED:
        qs.update(status=SUBMITTED, node_id=node_id, submitted_at=now, possible_duplicate=extra, **lease_free)
    elif kind is OutcomeKind.REFUSED:
        qs.update(status=Message.Status.FAILED, node_id=node_id, stat=extra, finished_at=now, **lease_free)
    elif kind is OutcomeKind.RELEASED:
        qs.filter(lease_owner=owner).update(possible_duplicate=extra, **lease_free)
    elif kind is OutcomeKind.EXPIRED:
        qs.update(status=Message.Status.EXPIRED, finished_at=now, **lease_free)
    else:  # AMBIGUOUS_FAILED
        qs.update(
            status=Message.Status.FAILED, stat=AMBIGUOUS_STAT, possible_duplicate=True, finished_at=now, **lease_free
        )


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
        carrier_msg_id=msg_id_to_signed(answer.msg_id),
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
        by_id[msg_id_to_signed(report.msg_id)].append(report)
    finished: list[Finished] = []
    with transaction.atomic():
        found = _reported_segments(by_id)
        unmatched = [report for db_id, items in by_id.items() if db_id not in found for report in items]
        if not found:
            return unmatched
        _segment_stats_write(found, by_id, now)
        done: set[int] = set()
        if connection.vendor == "postgresql":
            done = _one_segment_reports(found, by_id, now, finished)
        finished += _reported_messages_finish(found, by_id, done, now)
        events_record([f.id for f in finished], at=now)
        counts, lines = _messages_finished(finished)
        daily_counts_add(counts)
    _log_lines(lines)
    return unmatched


class _Found(NamedTuple):
    """The segment a report is for (the latest send when the carrier id occurs twice)."""

    seg_id: int
    message_id: int
    submitted_at: datetime
    segments: int  # of its message


class Finished(NamedTuple):
    """A message a status report just took to its final status (`delivered` or `failed`)."""

    id: int
    status: str
    stat: str
    contract_id: int
    notice_type_id: int | None
    node_id: int | None
    submitted_at: datetime
    units: int


def _stat(items: list[ReportIn]) -> str:
    return items[-1].stat[:16]  # the latest report for a carrier id counts


def _reported_segments(by_id: dict[int, list[ReportIn]]) -> dict[int, _Found]:
    found: dict[int, _Found] = {}
    for seg_id, db_id, message_id, submitted_at, segments in MessageSegment.objects.filter(
        carrier_msg_id__in=list(by_id)
    ).values_list("id", "carrier_msg_id", "message_id", "submitted_at", "message__segments"):
        if db_id not in found or submitted_at > found[db_id].submitted_at:  # the same id twice: the latest send
            found[db_id] = _Found(seg_id, message_id, submitted_at, segments)
    return found


def _segment_stats_write(found: dict[int, _Found], by_id: dict[int, list[ReportIn]], now: datetime) -> None:
    by_stat: dict[str, list[int]] = defaultdict(list)
    for db_id, seg in found.items():
        by_stat[_stat(by_id[db_id])].append(seg.seg_id)
    for stat, seg_ids in by_stat.items():
        MessageSegment.objects.filter(id__in=seg_ids).update(stat=stat, reported_at=now)


def _reported_messages_finish(
    found: dict[int, _Found], by_id: dict[int, list[ReportIn]], done: set[int], now: datetime
) -> list[Finished]:
    """Lock the reported messages not finished yet (`done`), decide each from its segments' stats
    (rules.message_outcome) and write the final statuses. Returns the messages finished here."""
    reported = {seg.message_id: (seg.submitted_at, _stat(by_id[db_id])) for db_id, seg in found.items()}
    message_ids = sorted({seg.message_id for seg in found.values()} - done)
    rows = (
        Message.objects.select_for_update()
        .filter(id__in=message_ids)
        .order_by("id")
        .values_list(
            "id",
            "status",
            "submitted_at",
            "segments",
            "units",
            "contract_id",
            "notice_type_id",
            "node_id",
            named=True,
        )
    )
    messages = [m for m in rows if m.status == SUBMITTED]  # every reported row is locked, in id order
    stats: dict[int, list[str]] = defaultdict(list)
    last_sent = {}
    for m in messages:
        sent_at, stat = reported[m.id]
        if m.segments == 1 and sent_at == m.submitted_at:  # one segment, reported now: no need to read the others
            stats[m.id].append(stat)
        else:
            last_sent[m.id] = m.submitted_at
    if last_sent:
        for message_id, stat, submitted_at in MessageSegment.objects.filter(message_id__in=list(last_sent)).values_list(
            "message_id", "stat", "submitted_at"
        ):
            if submitted_at == last_sent[message_id]:  # segments of earlier (ambiguous) sends do not count
                stats[message_id].append(stat)
    finished: list[Finished] = []
    for m in messages:
        outcome = rules.message_outcome(stats[m.id], m.segments)
        if outcome is not None:
            finished.append(
                Finished(m.id, *outcome, m.contract_id, m.notice_type_id, m.node_id, m.submitted_at, m.units)
            )
    delivered = [f.id for f in finished if f.status == Message.Status.DELIVERED]
    if delivered:
        Message.objects.filter(id__in=delivered).update(
            status=Message.Status.DELIVERED, stat=rules.DELIVERED_STAT, delivered_at=now, finished_at=now
        )
    failed: dict[str, list[int]] = defaultdict(list)
    for f in finished:
        if f.status == Message.Status.FAILED:
            failed[f.stat].append(f.id)
    for stat, ids in failed.items():
        Message.objects.filter(id__in=ids).update(status=Message.Status.FAILED, stat=stat, finished_at=now)
    return finished


def _messages_finished(finished: Sequence[Finished]) -> tuple[Counts, list[str]]:
    """Every message a status report took to its final status passes here once, inside the transaction that
    wrote it (both the PostgreSQL one-statement path and the general one): its daily counts and its log line."""
    counts = _counts()
    lines: list[str] = []
    for f in finished:
        key = (f.contract_id, rules.counting_day(f.submitted_at), f.notice_type_id, f.node_id)
        if f.status == Message.Status.DELIVERED:
            counts[key]["delivered_messages"] += 1
            counts[key]["delivered_units"] += f.units
        else:
            counts[key]["failed_messages"] += 1
        lines.append(f"message {f.id} {f.status} ({f.stat})")
    return counts, lines


_ONE_SEGMENT_SQL = """
UPDATE gateway_message m SET status = %s, stat = %s, finished_at = %s,
    delivered_at = CASE WHEN %s THEN %s ELSE m.delivered_at END
FROM gateway_messagesegment s
WHERE s.id = ANY(%s) AND m.id = s.message_id AND m.status = 'submitted' AND m.segments = 1
    AND s.submitted_at = m.submitted_at
RETURNING m.id, m.contract_id, m.submitted_at, m.notice_type_id, m.node_id, m.units
"""


def _one_segment_reports(
    found: dict[int, _Found], by_id: dict[int, list[ReportIn]], now: datetime, finished: list[Finished]
) -> set[int]:
    """PostgreSQL: finish one-segment messages with one UPDATE ... RETURNING per Stat, without locking and
    re-reading them first (the status condition makes a second sender's update of the same row a no-op, and
    only returned rows are finished here). Returns the ids of the messages handled here."""
    seg_ids: dict[str, list[int]] = defaultdict(list)
    handled: set[int] = set()
    for db_id, seg in found.items():
        if seg.segments == 1:
            seg_ids[_stat(by_id[db_id])].append(seg.seg_id)
            handled.add(seg.message_id)
    with connection.cursor() as cursor:
        for stat, ids in seg_ids.items():
            delivered = stat == rules.DELIVERED_STAT
            status = Message.Status.DELIVERED if delivered else Message.Status.FAILED
            cursor.execute(_ONE_SEGMENT_SQL, [status, stat, now, delivered, now, ids])
            for message_id, contract_id, submitted_at, notice_type_id, node_id, units in cursor.fetchall():
                finished.append(
                    Finished(message_id, status, stat, contract_id, notice_type_id, node_id, submitted_at, units)
                )
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
                    carrier_msg_id=msg_id_to_signed(report.msg_id),
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
            carrier_msg_id=msg_id_to_signed(r.msg_id),
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


def daily_counts_add(counts: Counts) -> None:
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
