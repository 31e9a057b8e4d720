"""The sender engine that `manage.py runsender` runs: one asyncio loop, a carrier session per enabled node.

The parts: `Sender` (this module) claims, dispatches and submits; `monitor.NodeMonitor` keeps every node's
health and reports outages; `writer.Writer` writes outcomes and status reports. Sessions come from the
protocol registry (`gateway.carrier.registry`) by the node's protocol; the sender sees only the neutral
`CarrierSession` interface, never a protocol package.

Flow: the dispatcher claims batches of queued messages (leases in the database), picks a node for each by
smooth weighted round-robin over the nodes' current traffic share (policy.py) and free capacity, and starts
one submit task per message. Answers are collected and written in batches by a single writer task (bulk
SQL in a worker thread); status reports are written the same way, after the answers of the same round, and
a report that arrives before its SUBMIT_RESP was committed is retried for a grace period before it is kept
as unmatched.

Failover: a session that drops (refused login, dead heartbeat, connection lost) takes its node's share to
zero at once (the session's state callback), a node whose submits stall or which keeps refusing/throttling
is taken down by the policy; messages not sent go back to the front of the local queue and out through the
other nodes immediately. A submit whose answer was lost (SubmitAmbiguous) is sent again through another
node and marked possible duplicate (GATEWAY_AMBIGUOUS_POLICY=resend, default) or failed (=fail).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.utils import timezone

from gateway import metrics
from gateway.carrier import registry
from gateway.carrier.session import (
    CarrierError,
    CarrierEvent,
    SegmentAck,
    StatusReport,
    SubmitAmbiguous,
    SubmitAnswer,
    SubmitNotSent,
    Uplink,
)
from gateway.sender import journal, policy, store
from gateway.sender.adapters import NodeSpec, submit_order
from gateway.sender.dbthreads import DbThreads
from gateway.sender.monitor import NodeMonitor
from gateway.sender.nodes import Job, Node
from gateway.sender.outages import OutageWatch
from gateway.sender.ratelimit import SharedRate, chunk_for
from gateway.sender.store import Outcome, OutcomeKind, ReportIn, SegmentAnswer
from gateway.sender.writer import Writer
from gateway.services.scheduled import messages_schedule_sweep
from sms_contract.masking import mask_mobile

log = logging.getLogger("gateway.sender")

# The result recorded (as stat RESP:255) for a message whose text or fields cannot be encoded at all: no node
# will ever take it. Not a carrier code; carriers use 0-199.
UNENCODABLE_RESULT = 255
# A refusal is the destination's (final) when, over the refusal window, the node gave at least this many answers
# and refused under this share of them or fewer than this many destinations; otherwise another node decides.
FAULT_MIN_ANSWERS = 10
FAULT_MAX_REFUSED_SHARE = 0.2
FAULT_MIN_DESTINATIONS = 3
TICK_SECONDS = 0.1  # the health tick: a node going down hands its waiting work on within this
QUEUE_GAUGES_EVERY_SECONDS = 5.0
FLOW_CONTROL_LABEL = "8"  # the submit-error metric's label for "too fast" (CMPP's result 8, kept for dashboards)
SHUTDOWN_WAIT_SECONDS = 15.0  # for in-flight submits to be answered when the sender stops
LEASE_MARGIN_CAP_SECONDS = 30.0  # a message whose lease ends sooner than min(this, lease / 4) is given back

# While a sender holds a stock of claimed messages, it still looks for urgent ones this often (and at once when
# woken by new notices), claiming up to URGENT_CLAIM of them ahead of its stock.
URGENT_CHECK_SECONDS = 0.25
URGENT_CLAIM = 100

_T = TypeVar("_T")


@dataclass(frozen=True)
class SenderSettings:
    batch: int = 1000
    lease_seconds: int = 12
    renew_seconds: float = 3.0  # leases are renewed this often while the sender lives
    journal_dir: str | None = None  # None: no journal (tests of other things); runsender always has one
    replay_every_seconds: float = 1.0  # how often dead senders' journals on this host are looked for
    poll_seconds: float = 1.0
    probation_seconds: float = 10.0
    ramp_seconds: float = 30.0
    max_error_rate: float = 0.5
    stall_seconds: float = 5.0
    node_down_ticket_seconds: float = 600.0
    all_down_ticket_seconds: float = 30.0
    ambiguous_policy: str = "resend"
    report_grace_seconds: float = 10.0
    flush_interval: float = 0.05
    capacity_factor: int = 4  # messages per node handed to its session: window * factor
    expire_every_seconds: float = 30.0
    config_poll_seconds: float = 5.0  # node changes in the admin reach the sender within this
    refusal_window_seconds: float = 10.0  # refusals across destinations over this window tell a node fault
    no_report_grace_seconds: float = 3600.0  # after validity: a submitted message without a report -> no_report

    @classmethod
    def from_django(cls, **overrides: Any) -> SenderSettings:
        values = {
            "batch": settings.GATEWAY_SENDER_BATCH,
            "lease_seconds": settings.GATEWAY_SENDER_LEASE_SECONDS,
            "poll_seconds": settings.GATEWAY_SENDER_POLL_SECONDS,
            "probation_seconds": settings.GATEWAY_NODE_PROBATION_SECONDS,
            "ramp_seconds": settings.GATEWAY_NODE_RAMP_SECONDS,
            "max_error_rate": settings.GATEWAY_NODE_MAX_ERROR_RATE,
            "node_down_ticket_seconds": settings.GATEWAY_NODE_DOWN_TICKET_SECONDS,
            "all_down_ticket_seconds": settings.GATEWAY_ALL_DOWN_TICKET_SECONDS,
            "ambiguous_policy": settings.GATEWAY_AMBIGUOUS_POLICY,
            "report_grace_seconds": settings.GATEWAY_REPORT_MATCH_GRACE_SECONDS,
            "journal_dir": str(settings.GATEWAY_SENDER_JOURNAL_DIR),
            "no_report_grace_seconds": settings.GATEWAY_NO_REPORT_GRACE_SECONDS,
        }
        values.update(overrides)
        return cls(**values)


def sender_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Sender:
    """Claims queued messages, hands each to a node chosen by weight and health, and settles what came of it."""

    def __init__(
        self,
        nodes: list[NodeSpec],
        cfg: SenderSettings | None = None,
        *,
        owner: str | None = None,
        shared_rate: SharedRate | None = None,
        spec_loader: Callable[[], list[NodeSpec]] | None = None,
    ) -> None:
        self.spec_loader = spec_loader  # () -> list[NodeSpec] from the database; None: nodes fixed for the run
        self.workers: list[asyncio.Task[Any]] = []
        self.cfg = cfg or SenderSettings()
        self.shared_rate = shared_rate
        self.owner = owner or sender_identity()
        self.nodes = {spec.id: Node(spec, self.cfg.capacity_factor) for spec in nodes}
        for node in self.nodes.values():
            if shared_rate is not None and node.spec.rate_limit:
                node.tokens = 0
        self.policy_cfg = policy.PolicyConfig(
            probation_seconds=self.cfg.probation_seconds,
            ramp_seconds=self.cfg.ramp_seconds,
            max_error_rate=self.cfg.max_error_rate,
        )
        self.picker: policy.WeightedPicker[int] = policy.WeightedPicker()
        self.local: deque[Job] = deque()
        self.tasks: set[asyncio.Future[Any]] = set()
        self.wakeup = asyncio.Event()
        self.urgent_checked = 0.0  # when the last urgent-only claim ran (self._now() clock)
        self.capacity_free = asyncio.Event()
        self.stopping = asyncio.Event()
        self.stats = {"accepted": 0, "refused": 0, "ambiguous": 0, "not_sent": 0, "reports": 0, "claimed": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._receipts: dict[str, Any] = {}
        self.journal_scope = f"{connection.settings_dict.get('HOST') or 'local'}-{connection.settings_dict['NAME']}"
        self.journal = (
            journal.Journal(self.cfg.journal_dir, self.owner, scope=self.journal_scope)
            if self.cfg.journal_dir
            else None
        )
        self.held: set[int] = set()  # claimed and not yet settled in the database: the leases to renew
        self.renewed_until: datetime | None = None
        self._replaying = False
        self.database = DbThreads(on_reachable=self.capacity_free.set)
        self.outages = OutageWatch(
            node_down_seconds=self.cfg.node_down_ticket_seconds, all_down_seconds=self.cfg.all_down_ticket_seconds
        )
        self.monitor = NodeMonitor(
            self.nodes,
            policy_cfg=self.policy_cfg,
            stall_seconds=self.cfg.stall_seconds,
            outages=self.outages,
            owner=self.owner,
            db=self._db,
            background=self._background,
            capacity_free=self.capacity_free,
        )
        self.writer = Writer(
            db=self._db,
            owner=self.owner,
            journal=self.journal,
            held=self.held,
            report_grace_seconds=self.cfg.report_grace_seconds,
            flush_interval=self.cfg.flush_interval,
        )

    # ------------------------------------------------------------------ lifecycle
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until `stop` is set (or cancelled), then stop claiming, finish in-flight work and write it."""
        self._loop = asyncio.get_running_loop()
        stop = stop or asyncio.Event()
        log.info("sender %s starting with %d node(s)", self.owner, len(self.nodes))
        started = self._now()
        self.outages.start(started)
        for node in self.nodes.values():
            self.outages.node_added(node.spec.id, started)
            metrics.node_state_set(node.spec.name, node.health.state.value)
        if self.journal is not None:
            self.journal.open()
            await self._replay_dead()  # what a dead sender on this host had acknowledged, before claiming
        workers = self.workers  # nodes added later in the admin append their tasks here too
        workers += [
            asyncio.create_task(self._connect(node), name=f"connect-{node.spec.name}") for node in self.nodes.values()
        ]
        workers += [
            asyncio.create_task(self._refill(node), name=f"rate-{node.spec.name}")
            for node in self.nodes.values()
            if node.tokens is not None
        ]
        workers += [
            asyncio.create_task(self._dispatch_loop(), name="dispatch"),
            asyncio.create_task(self.writer.loop(), name="writer"),
            asyncio.create_task(self._tick_loop(), name="tick"),
            asyncio.create_task(self._renew_loop(), name="leases"),
        ]
        if self.spec_loader is not None:
            workers.append(asyncio.create_task(self._config_loop(), name="config"))
        try:
            await stop.wait()
        finally:
            self.stopping.set()
            self.wakeup.set()
            self.capacity_free.set()
            await self._shutdown(workers)

    async def _shutdown(self, workers: list[asyncio.Task[Any]]) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=SHUTDOWN_WAIT_SECONDS)
        for job in self.local:
            self._release(job)
        self.local.clear()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for node in self.nodes.values():
            if node.session is not None:
                with contextlib.suppress(Exception):
                    await node.session.close()
        try:
            await self.writer.flush()
            await self.writer.flush_reports(final=True)
        finally:
            await self.database.close()
            if self.journal is not None:
                # Everything settled: the journal goes; otherwise it stays for the next sender to replay.
                self.journal.close(remove=not self.writer.outcomes and not self.journal.unsettled)
        log.info("sender %s stopped: %s", self.owner, self.stats)

    # ------------------------------------------------------------------ nodes: settings and sessions
    async def _config_loop(self) -> None:
        """Apply node changes made in the admin (password, address, window, rate, weight, enabled) within
        `config_poll_seconds`, without a restart."""
        assert self.spec_loader is not None
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.cfg.config_poll_seconds)
            if self.stopping.is_set():
                return
            try:
                specs = await self._db(self.spec_loader)
            except Exception as exc:
                log.warning("reading the node settings failed (%s); keeping the current ones", exc)
                continue
            await self._apply_specs(specs)

    async def _apply_specs(self, specs: list[NodeSpec]) -> None:
        wanted = {spec.id: spec for spec in specs}
        for node_id in [i for i in self.nodes if i not in wanted]:  # disabled or deleted
            node = self.nodes.pop(node_id)
            self.outages.node_removed(node_id)
            log.warning("node %s disabled in the admin: closing its session", node.spec.name)
            await self._retire(node)
        for node_id, spec in wanted.items():
            existing = self.nodes.get(node_id)
            if existing is None:
                log.warning("node %s enabled in the admin: connecting", spec.name)
                self._add_node(spec)
            elif spec.config != existing.spec.config:
                log.warning("node %s changed in the admin: logging in again with the new settings", spec.name)
                self.nodes.pop(node_id)
                await self._retire(existing)
                self._add_node(spec)
            elif spec != existing.spec:  # weight, names, numbers: no new login needed
                existing.spec = spec
                log.info("node %s: settings updated (weight %s)", spec.name, spec.weight)
        self.capacity_free.set()

    def _add_node(self, spec: NodeSpec) -> Node:
        node = Node(spec, self.cfg.capacity_factor)
        self.outages.node_added(spec.id, self._now())
        if self.shared_rate is not None and spec.rate_limit:
            node.tokens = 0
            self.workers.append(asyncio.create_task(self._refill(node), name=f"rate-{spec.name}"))
        self.nodes[spec.id] = node
        self.workers.append(asyncio.create_task(self._connect(node), name=f"connect-{spec.name}"))
        return node

    async def _retire(self, node: Node) -> None:
        """Close a node's session: waiting segments come back at once, in-flight ones get their answers."""
        node.retired = True
        session = node.session
        if session is not None:
            session.withdraw_queued(f"node {node.spec.name} changed or disabled")
            with contextlib.suppress(Exception):
                await session.close()

    async def _connect(self, node: Node) -> None:
        """Connect (and keep trying until the first login works); afterwards the session reconnects itself."""
        factory = registry.session_factory(node.spec.config.protocol)
        attempt = 0
        while not self.stopping.is_set() and not node.retired:
            node.flow_controlled_seen = 0
            session = factory(
                node.spec.config,
                on_event=functools.partial(self._on_event, node),
                on_state=functools.partial(self.monitor.on_state, node),
            )
            node.session = session
            try:
                await session.connect()
                return
            except CarrierError as exc:
                self.monitor.login_failed(node, exc)
                with contextlib.suppress(Exception):
                    await session.close()
                # The gateway's one back-off, jittered and capped: a node that comes back is used within
                # seconds, and several senders do not knock in step. A refused login keeps its reason (wrong
                # password != outage) and keeps backing off.
                delay = node.spec.config.reconnect_backoff.delay(attempt, random.random())
                attempt += 1
                log.warning("node %s: %s; retrying in %.1f s", node.spec.name, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)

    async def _tick_loop(self) -> None:
        last_expire = -1e9
        last_queue_stats = -1e9
        last_replay = self._now()
        while not self.stopping.is_set():
            now = self._now()
            self.monitor.tick(now)
            if self.journal is not None and now - last_replay >= self.cfg.replay_every_seconds:
                last_replay = now
                self._background(self._replay_dead())
            if now - last_expire > self.cfg.expire_every_seconds:
                last_expire = now
                self._background(self._db(store.messages_expire, now=timezone.now()))
                self._background(
                    self._db(
                        store.messages_no_report, now=timezone.now(), grace_seconds=self.cfg.no_report_grace_seconds
                    )
                )
            if now - last_queue_stats > QUEUE_GAUGES_EVERY_SECONDS:
                last_queue_stats = now
                self._background(self._queue_gauges())
                self._background(self._db(messages_schedule_sweep, now=timezone.now()))
            await asyncio.sleep(TICK_SECONDS)

    async def _queue_gauges(self) -> None:
        depth, age = await self._db(metrics.queue_stats)
        metrics.SENDER_QUEUE_DEPTH.set(depth)
        metrics.SENDER_QUEUE_OLDEST.set(age)

    # ------------------------------------------------------------------ dispatch
    async def _refill(self, node: Node) -> None:
        """Keep a small stock of the node's shared per-second allowance (see ratelimit.py)."""
        assert self.shared_rate is not None and node.tokens is not None
        rate = node.spec.rate_limit
        chunk = chunk_for(rate)
        while not self.stopping.is_set():
            if node.tokens >= chunk:
                await asyncio.sleep(0.005)
                continue
            try:
                granted, wait = await self.shared_rate.take(node.spec.id, rate, chunk)
            except Exception as exc:  # Redis gone: pace locally so the node's limit still holds for us
                log.warning("shared rate limit unavailable (%s); pacing %s locally", exc, node.spec.name)
                granted, wait = chunk, chunk / rate
            node.tokens += granted
            if granted:
                self.capacity_free.set()
            if wait:
                await asyncio.sleep(wait)

    def _choose(self, avoid: int | None) -> Node | None:
        now = self._now()
        weights: dict[int, float] = {}
        for node_id, node in self.nodes.items():
            if node.inflight >= node.capacity or node.session is None or not node.session.is_alive:
                continue
            if node.tokens is not None and node.tokens <= 0:
                continue
            weights[node_id] = node.spec.weight * policy.traffic_share(node.health, now, self.policy_cfg)
        if avoid is not None and any(w > 0 for k, w in weights.items() if k != avoid):
            weights.pop(avoid, None)
        chosen = self.picker.pick(weights)
        return self.nodes[chosen] if chosen is not None else None

    def _any_node_usable(self) -> bool:
        now = self._now()
        return any(
            node.spec.weight * policy.traffic_share(node.health, now, self.policy_cfg) > 0
            for node in self.nodes.values()
        )

    async def _dispatch_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                await self._dispatch_round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatch round failed; retrying")
                await asyncio.sleep(1)

    async def _dispatch_round(self) -> None:
        if not self._any_node_usable():
            await self._wait(self.capacity_free, 0.2)
            return
        if len(self.local) < self.cfg.batch // 2:
            await self._claim(self.cfg.batch)
            if not self.local:
                await self._wait(self.wakeup, self.cfg.poll_seconds)
                return
        elif self.wakeup.is_set() or self._now() - self.urgent_checked > URGENT_CHECK_SECONDS:
            # Notices were posted, or a moment passed: an urgent one must not wait until the stock drains.
            self.wakeup.clear()
            self.urgent_checked = self._now()
            await self._claim(URGENT_CLAIM, ranks=(0,))
        self._dispatch_some()
        await self._wait(self.capacity_free, 0.05)

    async def _claim(self, limit: int, ranks: tuple[int, ...] | None = None) -> None:
        # For one lease period after a database outage, leases that ran out during it are left to their
        # owners (they renew within renew_seconds, or record what the carrier took): only leases that had
        # run out before it began are taken over (their owners were dead already).
        after_outage = (
            self.database.back_at is not None and self._now() - self.database.back_at < self.cfg.lease_seconds
        )
        claimed = await self._db(
            store.message_claim_batch,
            owner=self.owner,
            limit=limit,
            lease_seconds=self.cfg.lease_seconds,
            now=timezone.now(),
            takeover_before=self.database.lost_at if after_outage else None,
            ranks=ranks,
        )
        self.stats["claimed"] += len(claimed)
        if claimed:
            self.held.update(m.id for m in claimed)
            if self.journal is not None:
                self.journal.claimed(m.id for m in claimed)
        jobs = [Job(m, possible_duplicate=m.possible_duplicate) for m in claimed]
        # Urgent notices go ahead of what this sender already holds (claims return them first).
        self.local.extendleft(reversed([j for j in jobs if j.message.priority == 0]))
        self.local.extend(j for j in jobs if j.message.priority != 0)

    def _dispatch_some(self) -> None:
        if not self.db_ok:  # what is sent now could not be recorded, and the leases cannot be renewed
            return
        now = timezone.now()
        margin = timedelta(seconds=min(LEASE_MARGIN_CAP_SECONDS, self.cfg.lease_seconds / 4))
        while self.local:
            job = self.local[0]
            node = self._choose(job.avoid)
            if node is None:
                return
            self.local.popleft()
            msg = job.message
            if msg.valid_until <= now:
                self.writer.add(Outcome(msg, OutcomeKind.EXPIRED, earlier=job.earlier))
                continue
            lease_until = max(msg.lease_until, self.renewed_until or msg.lease_until)
            if lease_until - now < margin:  # another sender may claim it soon: give it back
                self._release(job)
                continue
            if self.journal is not None:
                self.journal.sending(msg.id, node.spec.id)
            if node.inflight == 0:
                node.busy_since = self._now()
            node.inflight += 1
            if node.tokens is not None:
                node.tokens -= msg.segments
            task = asyncio.get_running_loop().create_task(self._submit(node, job))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _release(self, job: Job) -> None:
        self.writer.add(
            Outcome(job.message, OutcomeKind.RELEASED, possible_duplicate=job.possible_duplicate, earlier=job.earlier)
        )

    # ------------------------------------------------------------------ submitting and what came of it
    async def _submit(self, node: Node, job: Job) -> None:
        """Send one message through `node` and settle what came of it (below)."""
        started = self._now()
        session = node.session
        try:
            try:
                if session is None:
                    raise SubmitNotSent("no session")
                answer = await session.submit(submit_order(job.message, node.spec))
                node.last_answer = self._now()
            finally:
                node.inflight -= 1
                self.capacity_free.set()
        except SubmitAmbiguous as exc:
            self._after_ambiguous(node, job, exc)
        except SubmitNotSent as exc:
            self._after_not_sent(node, job, exc)
        except ValueError as exc:  # text or fields that cannot be encoded: never sendable
            log.error("message %s cannot be submitted: %s", job.message.id, exc)
            refusal = SegmentAnswer(1, 0, UNENCODABLE_RESULT)
            self.writer.add(Outcome(job.message, OutcomeKind.REFUSED, node_id=node.spec.id, segments=[refusal]))
        except CarrierError as exc:
            log.warning("message %s via %s not sent: %r", job.message.id, node.spec.name, exc)
            self.local.appendleft(job)
        else:
            node.m_latency.observe(self._now() - started)
            self._after_answer(node, job, answer)

    def _after_ambiguous(self, node: Node, job: Job, exc: SubmitAmbiguous) -> None:
        """The answer was lost: resend elsewhere flagged (policy "resend") or fail it (policy "fail")."""
        self.stats["ambiguous"] += 1
        metrics.SUBMIT_ERRORS.labels(node=node.spec.name, result="ambiguous").inc()
        at = timezone.now()
        job.earlier.extend((node.spec.id, _answer(s), at) for s in exc.segments if s.accepted)
        log.warning("message %s via %s: answer lost (%s)", job.message.id, node.spec.name, exc.reason)
        if self.cfg.ambiguous_policy == "fail":
            self.writer.add(Outcome(job.message, OutcomeKind.AMBIGUOUS_FAILED, earlier=job.earlier))
        else:
            job.possible_duplicate = True
            job.avoid = node.spec.id
            self.local.appendleft(job)

    def _after_not_sent(self, node: Node, job: Job, exc: SubmitNotSent) -> None:
        """Surely not sent: back to the front of the queue, out through whichever node is free."""
        self.stats["not_sent"] += 1
        if exc.flow_controlled:  # an answer (each "too fast" answer is already counted by the monitor)
            node.last_answer = self._now()
            metrics.SUBMIT_ERRORS.labels(node=node.spec.name, result=FLOW_CONTROL_LABEL).inc()
        else:
            metrics.SUBMIT_ERRORS.labels(node=node.spec.name, result="not_sent").inc()
        self.local.appendleft(job)

    def _after_answer(self, node: Node, job: Job, answer: SubmitAnswer) -> None:
        """Every segment answered: accepted, refused for good, or refused by a node at fault (resent)."""
        msg = job.message
        answers = [_answer(s) for s in answer.segments]
        if self.journal is not None:
            self.journal.acked(msg.id, node.spec.id, timezone.now(), answers)
        mono = self._now()
        if all(a.result == 0 for a in answers):
            self.stats["accepted"] += 1
            node.m_submits.inc()
            node.answers.append((mono, msg.mobile, False))
            self.monitor.answered(node, error=False)
            kind = OutcomeKind.ACCEPTED
        else:
            for a in answers:
                if a.result:
                    metrics.SUBMIT_ERRORS.labels(node=node.spec.name, result=str(a.result)).inc()
            node.answers.append((mono, msg.mobile, True))
            self.monitor.answered(node, error=True)
            if self._node_fault(node, job, mono):
                self._resend_refused(node, job, answers)
                return
            self.stats["refused"] += 1
            kind = OutcomeKind.REFUSED
        self.writer.add(
            Outcome(
                msg,
                kind,
                node_id=node.spec.id,
                segments=answers,
                possible_duplicate=job.possible_duplicate,
                earlier=job.earlier,
            )
        )

    def _resend_refused(self, node: Node, job: Job, answers: list[SegmentAnswer]) -> None:
        """The node refuses across destinations (or there is too little to tell): another node decides."""
        self.stats["refused_resent"] = self.stats.get("refused_resent", 0) + 1
        job.refused_by.add(node.spec.id)
        job.avoid = node.spec.id
        parts = [a for a in answers if a.result == 0]
        if parts:  # some segments were accepted: the carrier has part of it, the resend is flagged
            job.earlier.extend((node.spec.id, a, timezone.now()) for a in parts)
            job.possible_duplicate = True
        self.local.appendleft(job)
        self.capacity_free.set()

    def _node_fault(self, node: Node, job: Job, now: float) -> bool:
        """Is a refusal the node's fault rather than the destination's?

        The destination's, and final, when the node answers most other destinations fine over the refusal
        window (at least FAULT_MIN_ANSWERS answers, under FAULT_MAX_REFUSED_SHARE refused) or its refusals
        concern fewer than FAULT_MIN_DESTINATIONS destinations. Otherwise the node's (it refuses across
        destinations: misconfigured or sick), or not yet clear: another node not tried yet decides. With no
        such node the refusal is final."""
        others = [
            n
            for n in self.nodes.values()
            if n.spec.id != node.spec.id and n.spec.id not in job.refused_by and n.spec.weight > 0
        ]
        if not others:
            return False
        total, share, destinations = node.refusal_rate(now, self.cfg.refusal_window_seconds)
        return not (
            total >= FAULT_MIN_ANSWERS and (share < FAULT_MAX_REFUSED_SHARE or destinations < FAULT_MIN_DESTINATIONS)
        )

    # ------------------------------------------------------------------ reports and uplink
    def _on_event(self, node: Node, event: CarrierEvent) -> Awaitable[None] | None:
        """A status report or an uplink from the node; the session acknowledges it once the result is done."""
        if isinstance(event, StatusReport):
            self.stats["reports"] += 1
            counter = self._receipts.get(event.stat)
            if counter is None:
                counter = self._receipts[event.stat] = metrics.RECEIPTS.labels(stat=event.stat)
            counter.inc()
            report = ReportIn(event.msg_id, event.stat, event.dest, node.spec.id, event.submit_time, event.done_time)
            return self.writer.report(report)
        if isinstance(event, Uplink):
            log.info("uplink via %s from %s", node.spec.name, mask_mobile(event.src))
            return asyncio.ensure_future(self._uplink(node, event))
        return None

    async def _uplink(self, node: Node, event: Uplink) -> None:
        opt_out = await self._db(
            store.uplink_record,
            src=event.src,
            dest_id=event.dest_id,
            text=event.text,
            node_id=node.spec.id,
            now=timezone.now(),
        )
        metrics.UPLINKS.labels(opt_out=str(opt_out).lower()).inc()

    # ------------------------------------------------------------------ leases and the journal
    async def _renew_loop(self) -> None:
        """Renew the leases of what this sender holds, so a dead sender's work is free within one lease
        (lease_seconds) while a live one keeps its own however long it takes."""
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.cfg.renew_seconds)
            if self.stopping.is_set() or not self.held:
                continue
            try:
                self.renewed_until = await self._db(
                    store.leases_renew,
                    owner=self.owner,
                    ids=sorted(self.held),
                    lease_seconds=self.cfg.lease_seconds,
                    now=timezone.now(),
                )
            except Exception as exc:
                log.warning("renewing leases failed (%s); unsent work is given back before they run out", exc)

    async def _replay_dead(self) -> None:
        """Replay the journals of dead senders on this host (see journal.py)."""
        own = self.journal
        if own is None or self.cfg.journal_dir is None or self._replaying:
            return
        self._replaying = True
        loop = asyncio.get_running_loop()
        directory = self.cfg.journal_dir
        try:
            found = await loop.run_in_executor(
                None, lambda: list(journal.dead_journals(directory, own.path, scope=self.journal_scope))
            )
            for path, fd in found:
                try:
                    state = await loop.run_in_executor(None, journal.read, fd)
                    if not state.empty:
                        await self._db(store.journal_replay, state=state, now=timezone.now())
                except Exception:
                    journal.release(path, fd, remove=False)
                    log.exception("replaying journal %s failed; trying again later", path)
                else:
                    journal.release(path, fd, remove=True)
        finally:
            self._replaying = False

    # ------------------------------------------------------------------ helpers
    def _now(self) -> float:
        return time.monotonic()

    def _db(self, func: Callable[..., _T], /, **kwargs: Any) -> asyncio.Future[_T]:
        """Run a database function on the sender's database threads (dbthreads.py)."""
        return self.database.call(func, **kwargs)

    @property
    def db_ok(self) -> bool:
        """False while the database does not answer: sending pauses."""
        return self.database.ok

    async def _wait(self, event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        event.clear()

    def _background(self, awaitable: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(awaitable)
        self.tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Future[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed: %r", task.exception())

    def wake(self) -> None:
        self.wakeup.set()

    def health(self) -> dict[str, Any]:
        nodes = {
            node.spec.name: {
                "state": node.health.state.value,
                "connected": bool(node.session and node.session.is_alive),
                "reason": node.health.reason,
                "inflight": node.inflight,
            }
            for node in self.nodes.values()
        }
        up = sum(1 for n in self.nodes.values() if n.health.state is policy.NodeState.UP)
        return {"sender": self.owner, "ok": up > 0, "nodes_up": up, "nodes": nodes, "local_queue": len(self.local)}


def _answer(segment: SegmentAck) -> SegmentAnswer:
    return SegmentAnswer(segment.number, segment.msg_id, segment.result)
