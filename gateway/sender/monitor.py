"""Node health while the sender runs: session state changes, submit answers, stalls, "too fast" answers and
heartbeat probes go into the node health policy (policy.py); each change is logged, counted and recorded, and
outages long enough to report raise the gateway event (outages.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.utils import timezone

from gateway import metrics
from gateway.carrier.session import CarrierError, LinkState
from gateway.events import Outage
from gateway.sender import policy, store
from gateway.sender.nodes import Node
from gateway.sender.outages import OutageWatch, WatchedNode, outage_report

log = logging.getLogger("gateway.sender")

PROBE_EVERY_SECONDS = 1.0  # a DOWN but logged-in node gets a heartbeat at most this often
PROBE_TIMEOUT_SECONDS = 2.0
MAX_FLOW_CONTROL_PER_TICK = 1000  # "too fast" answers fed to the policy per node and tick, at most

DbCall = Callable[..., Awaitable[Any]]


class NodeMonitor:
    def __init__(
        self,
        nodes: dict[int, Node],
        *,
        policy_cfg: policy.PolicyConfig,
        stall_seconds: float,
        outages: OutageWatch,
        owner: str,
        db: DbCall,
        background: Callable[[Awaitable[Any]], None],
        capacity_free: asyncio.Event,
    ) -> None:
        self.nodes = nodes  # the sender's own dict: nodes added or retired in the admin show up here
        self.policy_cfg = policy_cfg
        self.stall_seconds = stall_seconds
        self.outages = outages
        self.owner = owner
        self._db = db
        self._background = background
        self.capacity_free = capacity_free

    @staticmethod
    def _now() -> float:
        return time.monotonic()

    def on_state(self, node: Node, state: LinkState, error: BaseException | None) -> None:
        now = self._now()
        if state is LinkState.UP:
            changed = policy.on_connected(node.health, now, self.policy_cfg)
        else:
            changed = policy.on_disconnected(node.health, now, f"session {state.value}: {error}")
        self.changed(node, changed)

    def login_failed(self, node: Node, error: BaseException) -> None:
        self.changed(node, policy.on_disconnected(node.health, self._now(), f"login failed: {error}"))

    def answered(self, node: Node, *, error: bool) -> None:
        self.changed(node, policy.on_answer(node.health, self._now(), error, self.policy_cfg))

    def changed(self, node: Node, changed: bool) -> None:
        """After a policy call: log, count and record a change of the node's state."""
        if not changed:
            return
        h = node.health
        metrics.node_state_set(node.spec.name, h.state.value)
        if h.state is policy.NodeState.DOWN:
            self.outages.node_down(node.spec.id, self._now())
        elif h.state is policy.NodeState.UP:
            self.outages.node_up(node.spec.id)
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

    def tick(self, now: float) -> None:
        """Once per tick: every node's stall, "too fast" answers, waiting work, probe and policy tick; then
        the outages due."""
        for node in self.nodes.values():
            self._tick_node(node, now)
        self._check_outages(now)

    def _tick_node(self, node: Node, now: float) -> None:
        h = node.health
        session = node.session
        if (
            h.state is policy.NodeState.UP
            and node.inflight
            and now - max(node.last_answer, node.busy_since) > (self.stall_seconds)
        ):
            self.changed(node, policy.on_stalled(h, now, self.policy_cfg, "submits not answered"))
            # A stalled node: drop the link, so what is in flight comes back at once (as possibly sent: resent
            # elsewhere flagged) instead of after T x N seconds; it reconnects by itself.
            if session is not None:
                session.drop(f"no answer for {self.stall_seconds} s")
        if session is not None and session.flow_controlled != node.flow_controlled_seen:
            # Every "too fast" answer counts as an error answer at once (the session retries them itself).
            fresh = session.flow_controlled - node.flow_controlled_seen
            node.flow_controlled_seen = session.flow_controlled
            for _ in range(max(0, min(fresh, MAX_FLOW_CONTROL_PER_TICK))):
                self.answered(node, error=True)
        if h.state is not policy.NodeState.UP and session is not None:
            # Within one tick of the node going down its waiting segments leave through the others, not when
            # the session's queue timeout runs out.
            session.withdraw_queued(f"node {node.spec.name} is {h.state.value}")
        if policy.wants_probe(h, now) and not node.probing and now - node.probe_at >= PROBE_EVERY_SECONDS:
            node.probing, node.probe_at = True, now
            self._background(self.probe(node))
        self.changed(node, policy.tick(h, now, self.policy_cfg))
        metrics.NODE_INFLIGHT.labels(node=node.spec.name).set(node.inflight)

    async def probe(self, node: Node) -> None:
        """A heartbeat to a node that is logged in but DOWN: an answer is the evidence probation needs."""
        try:
            session = node.session
            if session is None or not session.is_alive:
                return
            with contextlib.suppress(CarrierError, TimeoutError):
                await asyncio.wait_for(session.heartbeat(), PROBE_TIMEOUT_SECONDS)
                policy.on_heartbeat(node.health, self._now())
                self.changed(node, policy.tick(node.health, self._now(), self.policy_cfg))
        finally:
            node.probing = False

    def _check_outages(self, now: float) -> None:
        """Report an outage that lasted long enough (every node down, or one): the assessment app opens one
        fault ticket per outage, however many senders report it."""
        watched = [
            WatchedNode(n.spec.id, n.spec.name, n.spec.contract_id, n.health.state is policy.NodeState.UP)
            for n in self.nodes.values()
        ]
        for due in self.outages.check(watched, now):
            log.error("reporting an outage (%s: %s, %d s)", due.kind, ", ".join(due.node_names), due.down_seconds)
            outage = Outage(due.kind, due.contract_id, due.node_names, due.down_seconds, timezone.now())
            self._background(self._db(outage_report, outage=outage))
