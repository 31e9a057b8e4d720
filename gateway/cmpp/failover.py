"""Pure failover policy: reconnect/back-off delays and the health of gateway nodes. No I/O, no clock.

Callers pass ``now`` (any monotonic seconds) and, for jitter, a random number in [0, 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum

__all__ = ["Backoff", "FailoverPolicy", "NodeHealth", "NodeState", "choose_node", "record_failure",
           "record_success"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off: ``base * factor**attempt``, capped at ``cap``, spread by +/- ``jitter``."""

    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.1

    def delay(self, attempt: int, rand: float = 0.5) -> float:
        """Seconds to wait before try number ``attempt`` (0 = the first retry). ``rand`` in [0, 1)."""
        if attempt < 0:
            raise ValueError("attempt must be >= 0")
        # Cap the exponent so huge attempt counts cannot overflow the float.
        raw = min(self.cap, self.base * self.factor ** min(attempt, 64))
        return max(0.0, raw * (1.0 + self.jitter * (2.0 * rand - 1.0)))


class NodeHealth(Enum):
    HEALTHY = "healthy"  # in use, last attempt worked
    DEGRADED = "degraded"  # failed recently, fewer than ``failures_to_down`` times in a row: still used
    DOWN = "down"  # not used until ``retry_at``; then one attempt decides (half-open)


@dataclass(frozen=True, slots=True)
class FailoverPolicy:
    failures_to_down: int = 3
    backoff: Backoff = Backoff(base=1.0, factor=2.0, cap=60.0, jitter=0.2)


@dataclass(frozen=True, slots=True)
class NodeState:
    name: str
    health: NodeHealth = NodeHealth.HEALTHY
    failures: int = 0  # consecutive
    retry_at: float = 0.0  # when DOWN: the earliest time to try again

    def available(self, now: float) -> bool:
        return self.health is not NodeHealth.DOWN or now >= self.retry_at


def record_success(state: NodeState) -> NodeState:
    return replace(state, health=NodeHealth.HEALTHY, failures=0, retry_at=0.0)


DEFAULT_POLICY = FailoverPolicy()


def record_failure(state: NodeState, now: float, policy: FailoverPolicy = DEFAULT_POLICY,
                   rand: float = 0.5) -> NodeState:
    """One more consecutive failure; at ``failures_to_down`` the node goes DOWN for a back-off delay that
    grows with every further failure."""
    failures = state.failures + 1
    if failures < policy.failures_to_down:
        return replace(state, health=NodeHealth.DEGRADED, failures=failures)
    delay = policy.backoff.delay(failures - policy.failures_to_down, rand)
    return replace(state, health=NodeHealth.DOWN, failures=failures, retry_at=now + delay)


def choose_node(states: Iterable[NodeState], now: float) -> NodeState | None:
    """The node to use: the first HEALTHY one in list (priority) order, else the first DEGRADED one, else a
    DOWN one whose retry time has come (earliest first); None when every node is DOWN and waiting."""
    nodes = list(states)
    for health in (NodeHealth.HEALTHY, NodeHealth.DEGRADED):
        for node in nodes:
            if node.health is health:
                return node
    ready = [n for n in nodes if n.available(now)]
    return min(ready, key=lambda n: n.retry_at) if ready else None
