"""A carrier node as the sender sees it while it runs, and a message on its way out."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from gateway import metrics
from gateway.carrier.session import CarrierSession
from gateway.sender import policy
from gateway.sender.adapters import NodeSpec
from gateway.sender.store import Claimed, SegmentAnswer


@dataclass(slots=True)
class Job:
    """A claimed message on its way out, with what earlier attempts left behind."""

    message: Claimed
    possible_duplicate: bool = False
    avoid: int | None = None  # node id not to use (the one that lost an ambiguous submit)
    earlier: list[tuple[int, SegmentAnswer, datetime]] = field(default_factory=list)
    refused_by: set[int] = field(default_factory=set)  # nodes that refused it (a result other than accepted)


class Node:
    """A node's session and live bookkeeping."""

    def __init__(self, spec: NodeSpec, capacity_factor: int) -> None:
        self.spec = spec
        self.health = policy.NodeHealth(spec.name)
        self.session: CarrierSession | None = None
        self.inflight = 0
        self.last_answer = 0.0
        self.busy_since = 0.0  # when inflight last went from 0 to 1
        self.capacity = max(1, spec.config.window) * capacity_factor
        self.tokens: int | None = None  # with a shared rate limit: segments this sender may still hand the node
        self.m_submits = metrics.SUBMITS.labels(node=spec.name)
        self.m_latency = metrics.SUBMIT_LATENCY.labels(node=spec.name)
        self.probing = False
        self.retired = False  # replaced or disabled in the admin
        self.probe_at = 0.0
        self.flow_controlled_seen = 0  # the session's count of "too fast" answers already fed to the policy
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
