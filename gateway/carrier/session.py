"""The protocol-neutral carrier session: what the sender needs from any carrier gateway protocol.

A protocol package (today `gateway.cmpp`; China Telecom's SMGP or China Unicom's SGIP would sit beside it)
provides a `CarrierSession` implementation and registers a factory for it under the protocol names it speaks
(`gateway.carrier.registry`). The sender, the store and the API see only the types below. No Django here.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from gateway.carrier.backoff import RECONNECT_BACKOFF, Backoff

__all__ = [
    "ACCEPTED",
    "CarrierError",
    "CarrierEvent",
    "CarrierSession",
    "EventCallback",
    "LinkState",
    "NodeConfig",
    "SegmentAck",
    "SessionFactory",
    "StateCallback",
    "StatusReport",
    "SubmitAmbiguous",
    "SubmitAnswer",
    "SubmitNotSent",
    "SubmitOrder",
    "Uplink",
]

ACCEPTED = 0  # a segment's result when the carrier took it; any other value is the protocol's refusal code


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """How to reach and log in to one carrier node. `protocol` picks the implementation (registry keys such as
    "cmpp2.0", "cmpp3.0"); `account` is the login name the carrier gave (CMPP: SP_Id)."""

    protocol: str
    host: str
    port: int
    account: str
    secret: str
    window: int = 16  # requests sent and not yet answered
    rate_limit: float | None = None  # segments per second, None = unlimited
    response_timeout: float = 60.0
    max_sends: int = 3  # sends of one request before the peer counts as dead
    heartbeat_interval: float = 180.0
    connect_timeout: float = 10.0
    reconnect_backoff: Backoff = RECONNECT_BACKOFF


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    """One message to one number; the session splits it into segments as its protocol requires."""

    dest: str
    text: str
    service_id: str
    src_id: str  # the number shown on the handset
    account: str  # the content source (CMPP: Msg_src, the SP_Id)
    want_report: bool = True
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class SegmentAck:
    """The carrier's answer to one segment: its message id there (unsigned 64-bit) and the result."""

    number: int  # 1-based
    msg_id: int
    result: int  # ACCEPTED, or the protocol's refusal code

    @property
    def accepted(self) -> bool:
        return self.result == ACCEPTED


@dataclass(frozen=True, slots=True)
class SubmitAnswer:
    segments: Sequence[SegmentAck]


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A delivery report for a segment sent earlier (`msg_id` as in its SegmentAck)."""

    msg_id: int
    stat: str  # "DELIVRD" when delivered; anything else is a final failure, kept as sent (at most 16 chars kept)
    dest: str
    submit_time: str = ""
    done_time: str = ""


@dataclass(frozen=True, slots=True)
class Uplink:
    """A message a subscriber sent (MO), long ones already reassembled."""

    src: str
    dest_id: str
    text: str


CarrierEvent = StatusReport | Uplink


class LinkState(enum.Enum):
    UP = "up"  # logged in
    LOST = "lost"  # the connection went; the session reconnects by itself
    DOWN = "down"  # lost and not reconnecting (closed, or attempts used up)


class CarrierError(Exception):
    """Anything that went wrong talking to the carrier (refused login, lost link, timeout ...)."""


@dataclass(eq=False)
class SubmitNotSent(CarrierError):
    """The message did not reach the carrier (nothing of it was accepted): safe to send again elsewhere.
    `flow_controlled`: the carrier answered "too fast" (CMPP result 8) until the session gave up."""

    reason: str
    flow_controlled: bool = False

    def __str__(self) -> str:
        return self.reason


@dataclass(eq=False)
class SubmitAmbiguous(CarrierError):
    """Sent, but not every answer came back (the link was lost): the carrier may have it. `segments` are the
    answers that did come."""

    reason: str
    segments: Sequence[SegmentAck] = field(default_factory=tuple)

    def __str__(self) -> str:
        return self.reason


# on_event returns an awaitable when the event must be written before the carrier hears it was received
# (the session acknowledges it after the awaitable completes), or None to acknowledge at once.
EventCallback = Callable[[CarrierEvent], Awaitable[None] | None]
StateCallback = Callable[[LinkState, BaseException | None], None]


@runtime_checkable
class CarrierSession(Protocol):
    """One long-lived, self-reconnecting session to a carrier node."""

    @property
    def is_alive(self) -> bool:
        """Logged in now."""
        ...

    @property
    def flow_controlled(self) -> int:
        """How many "too fast" answers the session got so far (it retries those segments itself)."""
        ...

    async def connect(self) -> None:
        """Connect and log in; raises CarrierError (a refused login names its reason). Afterwards the session
        reconnects by itself and reports each change through `on_state`."""
        ...

    async def submit(self, order: SubmitOrder) -> SubmitAnswer:
        """Send one message. Returns every segment's answer (refusals included); raises SubmitNotSent or
        SubmitAmbiguous when it could not be sent or its answers were lost, ValueError when the text or fields
        cannot be encoded at all, CarrierError for anything else."""
        ...

    async def heartbeat(self) -> None:
        """Ask the carrier whether the link works (CMPP: ACTIVE_TEST); raises CarrierError without an answer."""
        ...

    def withdraw_queued(self, reason: str) -> int:
        """Fail what waits for a window slot as SubmitNotSent (it goes out through another node). Returns how many."""
        ...

    def drop(self, reason: str) -> None:
        """Drop the link now (what is in flight becomes SubmitAmbiguous); the session reconnects by itself."""
        ...

    async def close(self) -> None:
        """Log out and close for good."""
        ...


class SessionFactory(Protocol):
    def __call__(self, config: NodeConfig, *, on_event: EventCallback, on_state: StateCallback) -> CarrierSession: ...
