"""The sender engine that `manage.py runsender` runs: one asyncio loop, a CMPP session per enabled node.

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
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection, connections
from django.utils import timezone

from gateway import metrics
from gateway.cmpp import (
    Backoff,
    CmppError,
    DeliverMO,
    DeliverReport,
    PeerDead,
    Session,
    SessionState,
    SubmitAmbiguous,
    SubmitNotSent,
)
from gateway.sender import journal, policy, store
from gateway.sender.adapters import NodeSpec, submit_request
from gateway.sender.ratelimit import SharedRate, chunk_for
from gateway.sender.store import Claimed, Outcome, ReportIn, SegmentAnswer
from gateway.services.scheduled import messages_schedule_sweep
from sms_contract.masking import mask_mobile

log = logging.getLogger("gateway.sender")

# While a sender holds a stock of claimed messages, it still looks for urgent ones this often (and at once when
# woken by new notices), claiming up to URGENT_CLAIM of them ahead of its stock.
URGENT_CHECK_SECONDS = 0.25
URGENT_CLAIM = 100

LOGIN_BACKOFF = Backoff(base=0.5, factor=2.0, cap=5.0, jitter=0.5)


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
    def from_django(cls, **overrides) -> SenderSettings:
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


@dataclass(slots=True)
class Job:
    """A claimed message on its way out, with what earlier attempts left behind."""

    message: Claimed
    possible_duplicate: bool = False
    avoid: int | None = None  # node id not to use (the one that lost an ambiguous submit)
    earlier: list[tuple[int, SegmentAnswer, datetime]] = field(default_factory=list)
    refused_by: set[int] = field(default_factory=set)  # nodes that refused it (SUBMIT_RESP result not 0/8)


class Node:
    """A node's session and live bookkeeping."""

    def __init__(self, spec: NodeSpec) -> None:
        self.spec = spec
        self.health = policy.NodeHealth(spec.name)
        self.session: Session | None = None
        self.inflight = 0
        self.last_answer = 0.0
        self.busy_since = 0.0  # when inflight last went from 0 to 1
        self.down_since: float | None = 0.0
        self.ticket_opened = False
        self.capacity = max(1, spec.config.window) * 4
        self.tokens: int | None = None  # with a shared rate limit: segments this sender may still hand the node
        self.m_submits = metrics.SUBMITS.labels(node=spec.name)
        self.m_latency = metrics.SUBMIT_LATENCY.labels(node=spec.name)
        self.probing = False
        self.retired = False  # replaced or disabled in the admin
        self.probe_at = 0.0
        self.flow_controlled_seen = 0  # the session's count of result 8 answers already fed to the policy
        self.answers: deque[tuple[float, str, bool]] = deque()  # (when, destination, refused) over the window

    def refusal_rate(self, now: float, window: float) -> tuple[int, float, int]:
        """Over the last `window` seconds: answers, share refused, distinct destinations refused."""
        answers = self.answers
        while answers and answers[0][0] < now - window:
            answers.popleft()
        if not answers:
            return 0, 0.0, 0
        refused = [dest for _, dest, bad in answers if bad]
        return len(answers), len(refused) / len(answers), len(set(refused))


def sender_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Sender:
    def __init__(
        self,
        nodes: list[NodeSpec],
        cfg: SenderSettings | None = None,
        *,
        owner: str | None = None,
        shared_rate: SharedRate | None = None,
        spec_loader=None,
    ) -> None:
        self.spec_loader = spec_loader  # () -> list[NodeSpec] from the database; None: nodes fixed for the run
        self.workers: list[asyncio.Task] = []
        self.cfg = cfg or SenderSettings()
        self.shared_rate = shared_rate
        self.owner = owner or sender_identity()
        self.nodes = {spec.id: Node(spec) for spec in nodes}
        for node in self.nodes.values():
            node.capacity = max(1, node.spec.config.window) * self.cfg.capacity_factor
            if shared_rate is not None and node.spec.rate_limit:
                node.tokens = 0
        self.policy_cfg = policy.PolicyConfig(
            probation_seconds=self.cfg.probation_seconds,
            ramp_seconds=self.cfg.ramp_seconds,
            max_error_rate=self.cfg.max_error_rate,
        )
        self.picker = policy.WeightedPicker()
        self.local: deque[Job] = deque()
        self.outcomes: list[Outcome] = []
        self.reports: list[tuple[ReportIn, asyncio.Future[None] | None]] = []
        self.retry_reports: list[tuple[float, float, ReportIn]] = []  # (first seen, next try, report)
        self.tasks: set[asyncio.Task] = set()
        self.wakeup = asyncio.Event()
        self.urgent_checked = 0.0  # when the last urgent-only claim ran (self._now() clock)
        self.capacity_free = asyncio.Event()
        self.stopping = asyncio.Event()
        self.all_down_since: float | None = 0.0
        self.all_down_ticket = False
        self.stats = {"accepted": 0, "refused": 0, "ambiguous": 0, "not_sent": 0, "reports": 0, "claimed": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._receipts: dict[str, object] = {}
        self.journal_scope = f"{connection.settings_dict.get('HOST') or 'local'}-{connection.settings_dict['NAME']}"
        self.journal = (
            journal.Journal(self.cfg.journal_dir, self.owner, scope=self.journal_scope)
            if self.cfg.journal_dir
            else None
        )
        self.db_ok = True  # False from a failed database call until the next one that works
        self.held: set[int] = set()  # claimed and not yet settled in the database: the leases to renew
        self.renewed_until: datetime | None = None
        self._replaying = False
        self.executor = ThreadPoolExecutor(
            max_workers=1 if connection.vendor == "sqlite" else 4, thread_name_prefix="sender-db"
        )

    # ------------------------------------------------------------------ lifecycle
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until `stop` is set (or cancelled), then stop claiming, finish in-flight work and write it."""
        self._loop = asyncio.get_running_loop()
        stop = stop or asyncio.Event()
        log.info("sender %s starting with %d node(s)", self.owner, len(self.nodes))
        started = self._now()
        self.all_down_since = started
        for node in self.nodes.values():
            node.down_since = started
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
            asyncio.create_task(self._writer_loop(), name="writer"),
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

    async def _shutdown(self, workers: list[asyncio.Task]) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=15)
        for job in self.local:
            self.outcomes.append(
                Outcome(job.message, "released", possible_duplicate=job.possible_duplicate, earlier=job.earlier)
            )
        self.local.clear()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for node in self.nodes.values():
            if node.session is not None:
                with contextlib.suppress(Exception):
                    await node.session.close()
        try:
            await self._flush()
            await self._flush_reports(final=True)
        finally:
            await self._close_db_threads()
            if self.journal is not None:
                # Everything settled: the journal goes; otherwise it stays for the next sender to replay.
                self.journal.close(remove=not self.outcomes and not self.journal.unsettled)
        log.info("sender %s stopped: %s", self.owner, self.stats)

    # ------------------------------------------------------------------ sessions and health
    async def _config_loop(self) -> None:
        """Apply node changes made in the admin (password, address, window, rate, weight, enabled) within
        `config_poll_seconds`, without a restart."""
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
            log.warning("node %s disabled in the admin: closing its session", node.spec.name)
            await self._retire(node)
        for node_id, spec in wanted.items():
            node = self.nodes.get(node_id)
            if node is None:
                log.warning("node %s enabled in the admin: connecting", spec.name)
                self._add_node(spec)
            elif spec.config != node.spec.config:
                log.warning("node %s changed in the admin: logging in again with the new settings", spec.name)
                self.nodes.pop(node_id)
                await self._retire(node)
                self._add_node(spec)
            elif spec != node.spec:  # weight, names, numbers: no new login needed
                node.spec = spec
                log.info("node %s: settings updated (weight %s)", spec.name, spec.weight)
        self.capacity_free.set()

    def _add_node(self, spec: NodeSpec) -> Node:
        node = Node(spec)
        node.capacity = max(1, spec.config.window) * self.cfg.capacity_factor
        node.down_since = self._now()
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
        attempt = 0
        while not self.stopping.is_set() and not node.retired:
            node.flow_controlled_seen = 0
            session = Session(
                node.spec.config,
                on_deliver=lambda event, node=node: self._on_deliver(node, event),
                on_state=lambda state, error, node=node: self._on_state(node, state, error),
            )
            node.session = session
            try:
                await session.connect()
                return
            except CmppError as exc:
                self._health_changed(node, policy.on_disconnected(node.health, self._now(), f"login failed: {exc}"))
                with contextlib.suppress(Exception):
                    await session.close()
                # Jittered and capped: a node that comes back is used within seconds, and several senders
                # do not knock in step. A refused login keeps its Status in the reason (wrong password != outage).
                delay = LOGIN_BACKOFF.delay(attempt, random.random())
                attempt += 1
                log.warning("node %s: %s; retrying in %.1f s", node.spec.name, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)

    def _on_state(self, node: Node, state: SessionState, error: BaseException | None) -> None:
        now = self._now()
        if state is SessionState.CONNECTED:
            changed = policy.on_connected(node.health, now, self.policy_cfg)
        elif state in (SessionState.RECONNECTING, SessionState.DISCONNECTED):
            changed = policy.on_disconnected(node.health, now, f"session {state.value}: {error}")
        else:
            return
        self._health_changed(node, changed)

    def _health_changed(self, node: Node, changed: bool) -> None:
        if not changed:
            return
        h = node.health
        metrics.node_state_set(node.spec.name, h.state.value)
        now = self._now()
        if h.state is policy.NodeState.DOWN:
            node.down_since = node.down_since if node.down_since is not None else now
        elif h.state is policy.NodeState.UP:
            node.down_since = None
            node.ticket_opened = False
        log.log(
            logging.WARNING if h.state is policy.NodeState.DOWN else logging.INFO,
            "node %s -> %s (%s)",
            node.spec.name,
            h.state.value,
            h.reason,
        )
        self.capacity_free.set()
        self._background(
            self._db(
                store.node_state_record,
                node_id=node.spec.id,
                healthy=h.healthy,
                state=h.state.value,
                reason=h.reason,
                sender=self.owner,
                at=timezone.now(),
            )
        )

    async def _tick_loop(self) -> None:
        last_expire = -1e9
        last_queue_stats = -1e9
        last_replay = self._now()
        while not self.stopping.is_set():
            now = self._now()
            for node in self.nodes.values():
                h = node.health
                if (
                    h.state is policy.NodeState.UP
                    and node.inflight
                    and now - max(node.last_answer, node.busy_since) > self.cfg.stall_seconds
                ):
                    self._health_changed(node, policy.on_stalled(h, now, self.policy_cfg, "submits not answered"))
                    # A stalled node: drop the link, so what is in flight comes back at once (as possibly
                    # sent: resent elsewhere flagged) instead of after T x N seconds; it reconnects by itself.
                    if node.session is not None:
                        node.session.drop(PeerDead(f"no answer for {self.cfg.stall_seconds} s"))
                session = node.session
                if session is not None and session.stats.flow_controlled != node.flow_controlled_seen:
                    # Every result 8 counts as an error answer at once (the session retries them itself).
                    fresh = session.stats.flow_controlled - node.flow_controlled_seen
                    node.flow_controlled_seen = session.stats.flow_controlled
                    for _ in range(max(0, min(fresh, 1000))):
                        self._answer(node, error=True)
                if h.state is not policy.NodeState.UP and node.session is not None:
                    # Within one tick (0.1 s) of the node going down its waiting segments leave through the
                    # others, not when the session's queue timeout runs out.
                    node.session.withdraw_queued(f"node {node.spec.name} is {h.state.value}")
                if policy.wants_probe(h, now) and not node.probing and now - node.probe_at >= 1.0:
                    node.probing, node.probe_at = True, now
                    self._background(self._probe(node))
                self._health_changed(node, policy.tick(h, now, self.policy_cfg))
                metrics.NODE_INFLIGHT.labels(node=node.spec.name).set(node.inflight)
            self._check_tickets(now)
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
            if now - last_queue_stats > 5:
                last_queue_stats = now
                self._background(self._queue_gauges())
                self._background(self._db(messages_schedule_sweep, now=timezone.now()))
            await asyncio.sleep(0.1)

    async def _probe(self, node: Node) -> None:
        """ACTIVE_TEST a node that is logged in but DOWN: an answer is the evidence probation needs."""
        try:
            session = node.session
            if session is None or not session.is_alive:
                return
            with contextlib.suppress(CmppError, TimeoutError):
                await asyncio.wait_for(session.active_test(), 2.0)
                policy.on_heartbeat(node.health, self._now())
                self._health_changed(node, policy.tick(node.health, self._now(), self.policy_cfg))
        finally:
            node.probing = False

    async def _queue_gauges(self) -> None:
        depth, age = await self._db(metrics.queue_stats)
        metrics.SENDER_QUEUE_DEPTH.set(depth)
        metrics.SENDER_QUEUE_OLDEST.set(age)

    def _check_tickets(self, now: float) -> None:
        nodes = list(self.nodes.values())
        if not nodes:
            return
        all_down = all(n.health.state is not policy.NodeState.UP for n in nodes)
        if all_down:
            self.all_down_since = self.all_down_since if self.all_down_since is not None else now
            if not self.all_down_ticket and now - self.all_down_since >= self.cfg.all_down_ticket_seconds:
                self.all_down_ticket = True
                names = ", ".join(n.spec.name for n in nodes)
                self._open_ticket(nodes[0].spec.contract_id, "severe", f"所有网关节点不可用（{names}）")
        else:
            self.all_down_since = None
            self.all_down_ticket = False
        for node in nodes:
            if (
                node.down_since is not None
                and not node.ticket_opened
                and now - node.down_since >= self.cfg.node_down_ticket_seconds
            ):
                node.ticket_opened = True
                self._open_ticket(
                    node.spec.contract_id,
                    "minor",
                    # The same text from every sender (the reason differs per sender and goes to the log), so
                    # several senders open one ticket per outage.
                    f"网关节点 {node.spec.name} 不可用已超过 {int(self.cfg.node_down_ticket_seconds)} 秒",
                )

    def _open_ticket(self, contract_id: int, severity: str, description: str) -> None:
        log.error("opening a %s fault ticket (unless another sender did): %s", severity, description)
        self._background(
            self._db(
                store.fault_ticket_open_once,
                contract_id=contract_id,
                severity=severity,
                description=description,
                reported_at=timezone.now(),
            )
        )

    # ------------------------------------------------------------------ dispatch
    async def _refill(self, node: Node) -> None:
        """Keep a small stock of the node's shared per-second allowance (see ratelimit.py)."""
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
        claimed = await self._db(
            store.message_claim_batch,
            owner=self.owner,
            limit=limit,
            lease_seconds=self.cfg.lease_seconds,
            now=timezone.now(),
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
        margin = timedelta(seconds=min(30, self.cfg.lease_seconds / 4))
        while self.local:
            job = self.local[0]
            node = self._choose(job.avoid)
            if node is None:
                return
            self.local.popleft()
            msg = job.message
            if msg.valid_until <= now:
                self.outcomes.append(Outcome(msg, "expired", earlier=job.earlier))
                continue
            lease_until = max(msg.lease_until, self.renewed_until or msg.lease_until)
            if lease_until - now < margin:  # another sender may claim it soon: give it back
                self.outcomes.append(
                    Outcome(msg, "released", possible_duplicate=job.possible_duplicate, earlier=job.earlier)
                )
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

    async def _submit(self, node: Node, job: Job) -> None:
        msg = job.message
        name = node.spec.name
        started = self._now()
        try:
            try:
                result = await node.session.submit(submit_request(msg, node.spec))
                node.last_answer = self._now()
            finally:
                node.inflight -= 1
                self.capacity_free.set()
        except SubmitAmbiguous as exc:
            self.stats["ambiguous"] += 1
            metrics.SUBMIT_ERRORS.labels(node=name, result="ambiguous").inc()
            at = timezone.now()
            job.earlier.extend((node.spec.id, _answer(s), at) for s in exc.segments if s.result == 0)
            log.warning("message %s via %s: answer lost (%s)", msg.id, name, exc.reason)
            if self.cfg.ambiguous_policy == "fail":
                self.outcomes.append(Outcome(msg, "ambiguous_failed", earlier=job.earlier))
            else:
                job.possible_duplicate = True
                job.avoid = node.spec.id
                self.local.appendleft(job)
            return
        except SubmitNotSent as exc:
            self.stats["not_sent"] += 1
            if exc.last_result == 8:  # an answer (each result 8 already counted by the tick loop)
                node.last_answer = self._now()
                metrics.SUBMIT_ERRORS.labels(node=name, result="8").inc()
            else:
                metrics.SUBMIT_ERRORS.labels(node=name, result="not_sent").inc()
            self.local.appendleft(job)
            return
        except ValueError as exc:  # text or fields that cannot be encoded: never sendable
            log.error("message %s cannot be submitted: %s", msg.id, exc)
            self.outcomes.append(Outcome(msg, "refused", node_id=node.spec.id, segments=[SegmentAnswer(1, 0, 255)]))
            return
        except CmppError as exc:
            log.warning("message %s via %s not sent: %r", msg.id, name, exc)
            self.local.appendleft(job)
            return
        node.m_latency.observe(self._now() - started)
        answers = [_answer(s) for s in result.segments]
        if self.journal is not None:
            self.journal.acked(msg.id, node.spec.id, timezone.now(), answers)
        mono = self._now()
        if all(a.result == 0 for a in answers):
            self.stats["accepted"] += 1
            node.m_submits.inc()
            node.answers.append((mono, msg.mobile, False))
            self._answer(node, error=False)
            kind = "accepted"
        else:
            for a in answers:
                if a.result:
                    metrics.SUBMIT_ERRORS.labels(node=name, result=str(a.result)).inc()
            node.answers.append((mono, msg.mobile, True))
            self._answer(node, error=True)
            if self._node_fault(node, job, mono):
                # The node refuses across destinations (or there is too little to tell): another node decides.
                self.stats["refused_resent"] = self.stats.get("refused_resent", 0) + 1
                job.refused_by.add(node.spec.id)
                job.avoid = node.spec.id
                parts = [a for a in answers if a.result == 0]
                if parts:  # some segments were accepted: the carrier has part of it, the resend is flagged
                    job.earlier.extend((node.spec.id, a, timezone.now()) for a in parts)
                    job.possible_duplicate = True
                self.local.appendleft(job)
                self.capacity_free.set()
                return
            self.stats["refused"] += 1
            kind = "refused"
        self.outcomes.append(
            Outcome(
                msg,
                kind,
                node_id=node.spec.id,
                segments=answers,
                possible_duplicate=job.possible_duplicate,
                earlier=job.earlier,
            )
        )

    def _node_fault(self, node: Node, job: Job, now: float) -> bool:
        """Is a refusal (result not 0/8) the node's fault rather than the destination's?

        The destination's, and final, when the node answers most other destinations fine over the last 10 s
        (at least 10 answers, under 20 % refused) or its refusals concern fewer than 3 destinations. Otherwise
        the node's (it refuses across destinations: misconfigured or sick), or not yet clear: another node
        not tried yet decides. With no such node the refusal is final."""
        others = [
            n
            for n in self.nodes.values()
            if n.spec.id != node.spec.id and n.spec.id not in job.refused_by and n.spec.weight > 0
        ]
        if not others:
            return False
        total, share, destinations = node.refusal_rate(now, self.cfg.refusal_window_seconds)
        return not (total >= 10 and (share < 0.2 or destinations < 3))

    def _answer(self, node: Node, *, error: bool) -> None:
        self._health_changed(node, policy.on_answer(node.health, self._now(), error, self.policy_cfg))

    # ------------------------------------------------------------------ reports and uplink
    def _on_deliver(self, node: Node, event) -> asyncio.Future[None] | None:
        if isinstance(event, DeliverReport):
            self.stats["reports"] += 1
            counter = self._receipts.get(event.stat)
            if counter is None:
                counter = self._receipts[event.stat] = metrics.RECEIPTS.labels(stat=event.stat)
            counter.inc()
            done = self._loop.create_future()
            report = ReportIn(event.msg_id, event.stat, event.dest, node.spec.id, event.submit_time, event.done_time)
            self.reports.append((report, done))
            return done
        if isinstance(event, DeliverMO):
            log.info("uplink via %s from %s", node.spec.name, mask_mobile(event.src))
            return asyncio.ensure_future(self._uplink(node, event))
        return None

    async def _uplink(self, node: Node, event: DeliverMO) -> None:
        opt_out = await self._db(
            store.uplink_record,
            src=event.src,
            dest_id=event.dest_id,
            text=event.text,
            node_id=node.spec.id,
            now=timezone.now(),
        )
        metrics.UPLINKS.labels(opt_out=str(opt_out).lower()).inc()

    # ------------------------------------------------------------------ writing
    async def _writer_loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.flush_interval)
            try:
                # Concurrently: a report that overtakes its answer's write is simply retried a moment later.
                results = await asyncio.gather(self._flush(), self._flush_reports(), return_exceptions=True)
                for result in results:
                    if isinstance(result, BaseException):
                        raise result
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("writing results failed; retrying")
                await asyncio.sleep(1)

    async def _flush(self) -> None:
        while self.outcomes:
            batch, self.outcomes = self.outcomes[:5000], self.outcomes[5000:]
            try:
                if self.journal is not None:  # the acknowledgements survive a power cut before the DB has them
                    await self._loop.run_in_executor(None, self.journal.sync)
                await self._db(store.results_record, outcomes=batch, owner=self.owner, now=timezone.now())
            except BaseException:
                self.outcomes[:0] = batch
                raise
            ids = [out.message.id for out in batch]
            self.held.difference_update(ids)
            if self.journal is not None:
                self.journal.settled(ids)

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
        if self.journal is None or self._replaying:
            return
        self._replaying = True
        try:
            found = await self._loop.run_in_executor(
                None,
                lambda: list(journal.dead_journals(self.cfg.journal_dir, self.journal.path, scope=self.journal_scope)),
            )
            for path, fd in found:
                try:
                    state = await self._loop.run_in_executor(None, journal.read, fd)
                    if not state.empty:
                        await self._db(store.journal_replay, state=state, now=timezone.now())
                except Exception:
                    journal.release(path, fd, remove=False)
                    log.exception("replaying journal %s failed; trying again later", path)
                else:
                    journal.release(path, fd, remove=True)
        finally:
            self._replaying = False

    async def _flush_reports(self, final: bool = False) -> None:
        """Write the reports received since the last round plus unmatched ones due for another try. A report
        still unmatched after the grace period is kept in the unmatched table."""
        now = self._now()
        due = [entry for entry in self.retry_reports if final or now >= entry[1]]
        fresh, self.reports = self.reports, []
        if not fresh and not due:
            return
        self.retry_reports = [entry for entry in self.retry_reports if not (final or now >= entry[1])]
        first_seen = {id(report): first for first, _, report in due}
        batch = [report for report, _ in fresh] + [report for _, _, report in due]
        try:
            unmatched = await self._db(store.reports_record, reports=batch, now=timezone.now())
        except Exception:
            # Not written (database away): kept and tried again next round; their DELIVERs stay unacknowledged
            # until then (a carrier that tires of waiting resends them, which is harmless).
            self.reports[:0] = fresh
            self.retry_reports.extend(due)
            raise
        for _, fut in fresh:
            if fut is not None and not fut.done():
                fut.set_result(None)
        keep = []
        for report in unmatched:
            first = first_seen.get(id(report), now)
            if final or now - first >= self.cfg.report_grace_seconds:
                keep.append(report)
            else:
                self.retry_reports.append((first, now + 1.0, report))
        if keep:
            keep = await self._db(store.reports_match_copies, reports=keep, now=timezone.now())
        if keep:
            metrics.UNMATCHED_REPORTS.inc(len(keep))
            await self._db(store.unmatched_reports_keep, reports=keep, now=timezone.now())

    # ------------------------------------------------------------------ helpers
    def _now(self) -> float:
        return time.monotonic()

    async def _close_db_threads(self) -> None:
        workers = self.executor._max_workers
        barrier = threading.Barrier(workers, timeout=5)

        def close() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()  # one call per worker thread
            connections.close_all()

        await asyncio.gather(*(self._loop.run_in_executor(self.executor, close) for _ in range(workers)))
        self.executor.shutdown(wait=True)

    def _db(self, func, /, **kwargs):
        """Run a database function on the sender's DB threads (one on SQLite, which locks whole tables).
        Every call tells whether the database is reachable: while it is not, sending pauses (see db_ok)."""
        future = self._loop.run_in_executor(self.executor, functools.partial(_db_call, func, kwargs))
        future.add_done_callback(self._db_done)
        return future

    def _db_done(self, future) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is None:
            if not self.db_ok:
                self.db_ok = True
                log.warning("database reachable again: sending resumes")
                self.capacity_free.set()
        elif isinstance(exc, OperationalError | InterfaceError) and self.db_ok:
            self.db_ok = False
            log.error("database unreachable (%s): sending paused until it answers", exc)

    async def _wait(self, event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        event.clear()

    def _background(self, awaitable) -> None:
        task = asyncio.ensure_future(awaitable)
        self.tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed: %r", task.exception())

    def wake(self) -> None:
        self.wakeup.set()

    def health(self) -> dict:
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


def _answer(segment) -> SegmentAnswer:
    return SegmentAnswer(segment.pk_number, segment.msg_id, segment.result)


def _db_call(func, kwargs):
    close_old_connections()
    return func(**kwargs)
