"""Pure node health policy: which nodes get traffic, and how much. No I/O; callers pass `now`
(monotonic seconds).

A node is DOWN when its session is not connected, or when too many of its recent answers were refusals or
flow control (result 8). A DOWN node enters PROBATION (no traffic) only on evidence that it works: its
session is logged in and, after it was taken down and after its hold, it answered a heartbeat
(`on_heartbeat`); a timer alone never brings it back. PROBATION lasts `probation_seconds`, then UP with a
share of its weight that ramps from `ramp_floor` to 1 over `ramp_seconds`. A node DOWN for misbehaving is
held for a cool-down that doubles with each relapse (the gateway's one `Backoff`, starting at
`probation_seconds`, capped at `cooldown_cap_seconds`); `good_seconds` UP without a relapse resets the count.

The names: `NodeState` is where a node stands (UP, PROBATION, DOWN); `NodeHealth` is the record of one node
that the functions below change.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

from gateway.carrier.backoff import Backoff

K = TypeVar("K", bound=Hashable)


class NodeState(Enum):
    UP = "up"
    PROBATION = "probation"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    probation_seconds: float = 10.0
    ramp_seconds: float = 30.0
    ramp_floor: float = 0.1
    error_window_seconds: float = 10.0
    max_error_rate: float = 0.5
    min_samples: int = 20
    cooldown_cap_seconds: float = 300.0
    good_seconds: float = 300.0  # UP this long without relapse: the relapse count starts again from 0

    @property
    def hold(self) -> Backoff:
        """The cool-down of a node taken down for misbehaving, by relapse (0 = the first)."""
        return Backoff(base=self.probation_seconds, factor=2.0, cap=self.cooldown_cap_seconds, jitter=0.0)


@dataclass(slots=True)
class NodeHealth:
    """Mutable health of one node; change it only through the functions below."""

    name: str
    state: NodeState = NodeState.DOWN
    since: float = 0.0
    connected: bool = False
    reason: str = "not connected yet"
    relapses: int = 0
    ever_up: bool = False
    held_until: float = 0.0  # DOWN for misbehaving: no traffic before this even when connected
    heartbeat_at: float = -1.0  # when the session last answered a heartbeat (evidence for probation)
    samples: deque[tuple[float, bool]] = field(default_factory=deque)  # (when, was_error)
    errors: int = 0  # errors among `samples`, kept as they come and go
    streak: int = 0  # consecutive errors (a node that throttles or refuses everything is caught in ~1 s)

    @property
    def healthy(self) -> bool:
        return self.state is NodeState.UP


def _set(health: NodeHealth, state: NodeState, now: float, reason: str) -> bool:
    if health.state is state:
        return False
    health.state, health.since, health.reason = state, now, reason
    return True


def on_connected(health: NodeHealth, now: float, cfg: PolicyConfig) -> bool:
    """The session logged in. First connection: UP at once; after an outage: PROBATION. True if changed."""
    health.connected = True
    health.samples.clear()
    health.errors = 0
    if not health.ever_up:
        health.ever_up = True
        return _set(health, NodeState.UP, now - cfg.ramp_seconds, "connected")  # full weight at once
    health.reason = "logged in again; waiting for a heartbeat answer"
    return False


def _hold(health: NodeHealth, now: float, cfg: PolicyConfig) -> None:
    health.relapses += 1
    health.held_until = now + cfg.hold.delay(health.relapses - 1)


def on_stalled(health: NodeHealth, now: float, cfg: PolicyConfig, reason: str) -> bool:
    """Submits went unanswered: DOWN and held like a node that misbehaves (the hold doubles per relapse)."""
    _hold(health, now, cfg)
    health.connected = False  # the caller drops the link; a new login and a heartbeat answer bring it back
    return _set(health, NodeState.DOWN, now, reason)


def on_heartbeat(health: NodeHealth, now: float) -> None:
    """The session answered an ACTIVE_TEST: evidence that the node works (see `tick`)."""
    health.heartbeat_at = now


def wants_probe(health: NodeHealth, now: float) -> bool:
    """A DOWN, connected node whose hold is over needs a heartbeat answer before probation."""
    return (
        health.state is NodeState.DOWN
        and health.connected
        and now >= health.held_until
        and health.heartbeat_at < max(health.since, health.held_until)
    )


def on_disconnected(health: NodeHealth, now: float, reason: str) -> bool:
    health.connected = False
    return _set(health, NodeState.DOWN, now, reason)


def on_answer(health: NodeHealth, now: float, error: bool, cfg: PolicyConfig) -> bool:
    """Record one submit answer (error: refused or throttled). Too many errors in the window: DOWN."""
    samples = health.samples
    samples.append((now, error))
    health.errors += error
    health.streak = health.streak + 1 if error else 0
    horizon = now - cfg.error_window_seconds
    while samples and samples[0][0] < horizon:
        health.errors -= samples.popleft()[1]
    if health.state is not NodeState.UP or len(samples) < cfg.min_samples:
        return False
    errors = health.errors
    if errors / len(samples) <= cfg.max_error_rate and health.streak < cfg.min_samples:
        return False
    health.streak = 0
    _hold(health, now, cfg)
    samples.clear()
    health.errors = 0
    return _set(health, NodeState.DOWN, now, f"{errors} of the last answers refused or throttled")


def tick(health: NodeHealth, now: float, cfg: PolicyConfig) -> bool:
    """Advance: DOWN -> PROBATION on evidence (logged in, hold over, a heartbeat answered after both the
    fall and the hold); PROBATION -> UP after `probation_seconds`; UP for `good_seconds` resets relapses."""
    if (
        health.state is NodeState.DOWN
        and health.connected
        and now >= health.held_until
        and health.heartbeat_at >= max(health.since, health.held_until)
    ):
        return _set(health, NodeState.PROBATION, now, "logged in and answering heartbeats")
    if health.state is NodeState.PROBATION and now - health.since >= cfg.probation_seconds:
        return _set(health, NodeState.UP, now, "probation over")
    if health.state is NodeState.UP and health.relapses and now - health.since >= cfg.good_seconds:
        health.relapses = 0  # behaved for long enough: the next storm starts from the first cool-down
    return False


def traffic_share(health: NodeHealth, now: float, cfg: PolicyConfig) -> float:
    """The fraction (0..1) of its weight a node gets now."""
    if health.state is not NodeState.UP:
        return 0.0
    if cfg.ramp_seconds <= 0:
        return 1.0
    progress = (now - health.since) / cfg.ramp_seconds
    return max(cfg.ramp_floor, min(1.0, cfg.ramp_floor + (1 - cfg.ramp_floor) * progress))


class WeightedPicker(Generic[K]):
    """Smooth weighted round-robin (nginx): spreads picks in proportion to the current weights."""

    __slots__ = ("_current",)

    def __init__(self) -> None:
        self._current: dict[K, float] = {}

    def pick(self, weights: Mapping[K, float]) -> K | None:
        """One name among those with weight > 0, or None if there is none."""
        total = 0.0
        best: K | None = None
        current = self._current
        for name, weight in weights.items():
            if weight <= 0:
                continue
            value = current.get(name, 0.0) + weight
            current[name] = value
            total += weight
            if best is None or value > current[best]:
                best = name
        if best is not None:
            current[best] -= total
        return best
