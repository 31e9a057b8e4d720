"""When an outage is long enough to report: every node down for `all_down_seconds`, or one node down for
`node_down_seconds`. Pure bookkeeping (callers pass monotonic `now`); the runner raises the gateway event
(`gateway.events.node_outage_started`) for each outage this returns, once per outage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.events import Outage, OutageKind, node_outage_started


@dataclass(frozen=True, slots=True)
class WatchedNode:
    """What the watch needs to know of one node."""

    id: int
    name: str
    contract_id: int
    usable: bool  # UP (gets traffic)


@dataclass(frozen=True, slots=True)
class DueOutage:
    kind: OutageKind
    contract_id: int
    node_names: tuple[str, ...]
    down_seconds: int


class OutageWatch:
    """Tracks since when every node, and each node, has been down; says when an outage is due to be reported.

    A node counts as down from the start (nothing connected yet) until it is first UP. An outage is reported
    once; it can be reported again only after the node (or some node) was UP in between."""

    def __init__(self, *, node_down_seconds: float, all_down_seconds: float) -> None:
        self.node_down_seconds = node_down_seconds
        self.all_down_seconds = all_down_seconds
        self.all_down_since: float | None = None
        self.all_down_reported = False
        self._down_since: dict[int, float | None] = {}
        self._reported: set[int] = set()

    def start(self, now: float) -> None:
        self.all_down_since = now

    def node_added(self, node_id: int, now: float) -> None:
        self._down_since[node_id] = now
        self._reported.discard(node_id)

    def node_removed(self, node_id: int) -> None:
        self._down_since.pop(node_id, None)
        self._reported.discard(node_id)

    def node_down(self, node_id: int, now: float) -> None:
        if self._down_since.get(node_id) is None:
            self._down_since[node_id] = now

    def node_up(self, node_id: int) -> None:
        self._down_since[node_id] = None
        self._reported.discard(node_id)

    def check(self, nodes: Sequence[WatchedNode], now: float) -> list[DueOutage]:
        """The outages to report now (each one once)."""
        if not nodes:
            return []
        due: list[DueOutage] = []
        if all(not n.usable for n in nodes):
            if self.all_down_since is None:
                self.all_down_since = now
            if not self.all_down_reported and now - self.all_down_since >= self.all_down_seconds:
                self.all_down_reported = True
                names = tuple(n.name for n in nodes)
                due.append(DueOutage(OutageKind.ALL_NODES, nodes[0].contract_id, names, int(self.all_down_seconds)))
        else:
            self.all_down_since = None
            self.all_down_reported = False
        for node in nodes:
            since = self._down_since.get(node.id)
            if since is not None and node.id not in self._reported and now - since >= self.node_down_seconds:
                self._reported.add(node.id)
                due.append(DueOutage(OutageKind.NODE, node.contract_id, (node.name,), int(self.node_down_seconds)))
        return due


def outage_report(*, outage: Outage) -> None:
    """Tell the higher apps (`gateway.events.node_outage_started`); run in a database thread."""
    node_outage_started.send(sender=None, outage=outage)
