"""Events the gateway raises for higher apps (the gateway imports none of them).

`node_outage_started` is sent when the sender sees an outage that lasted long enough to be reported: every
node down (`OutageKind.ALL_NODES`) or one node down (`OutageKind.NODE`). It is sent in a database thread
inside no transaction; a receiver does its own database work. The assessment app connects to it in its
AppConfig.ready() and opens one automatic fault ticket per outage, however many senders report it.

Receivers are called as ``receiver(sender=None, outage=Outage(...))``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal

__all__ = ["Outage", "OutageKind", "node_outage_started"]


class OutageKind(enum.StrEnum):
    ALL_NODES = "all_nodes"  # no node usable for `down_seconds`
    NODE = "node"  # one node down for `down_seconds`


@dataclass(frozen=True, slots=True)
class Outage:
    """An outage the same for every sender that sees it (the per-sender reasons go to the log)."""

    kind: OutageKind
    contract_id: int
    node_names: tuple[str, ...]  # ALL_NODES: every node of the sender; NODE: the one that is down
    down_seconds: int  # the threshold that was passed (settings), not the measured time: equal across senders
    reported_at: datetime


node_outage_started = Signal()
