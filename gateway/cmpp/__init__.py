"""CMPP 2.0 / 3.0 for the SP side, in plain asyncio (no Django). See docs/cmpp.md.

The names below are the package's public API; submodules (pdu, codec, auth, msgid, text, segmentation,
ratelimit, simulator) hold the building blocks, and `carrier` adapts a Session to the sender's
protocol-neutral `gateway.carrier.CarrierSession`.
"""

from gateway.carrier.backoff import Backoff
from gateway.cmpp.client import (
    DeliverEvent,
    DeliverMO,
    DeliverReport,
    SegmentResult,
    Session,
    SessionConfig,
    SessionState,
    SessionStats,
    SubmitRequest,
    SubmitResult,
)
from gateway.cmpp.errors import (
    CmppConnectionError,
    CmppError,
    CmppProtocolError,
    CmppTimeout,
    ConnectionLost,
    ConnectRefused,
    ConnectTimeout,
    FrameError,
    NotConnected,
    PduDecodeError,
    PduEncodeError,
    PeerDead,
    SessionClosed,
    SubmitAmbiguous,
    SubmitError,
    SubmitNotSent,
    TextDecodeError,
    TextEncodeError,
    UnknownCommand,
)
from gateway.cmpp.pdu import V20, V21, V30, Result
from gateway.cmpp.segmentation import split_message, split_text

__all__ = [
    "V20",
    "V21",
    "V30",
    "Backoff",
    "CmppConnectionError",
    "CmppError",
    "CmppProtocolError",
    "CmppTimeout",
    "ConnectRefused",
    "ConnectTimeout",
    "ConnectionLost",
    "DeliverEvent",
    "DeliverMO",
    "DeliverReport",
    "FrameError",
    "NotConnected",
    "PduDecodeError",
    "PduEncodeError",
    "PeerDead",
    "Result",
    "SegmentResult",
    "Session",
    "SessionClosed",
    "SessionConfig",
    "SessionState",
    "SessionStats",
    "SubmitAmbiguous",
    "SubmitError",
    "SubmitNotSent",
    "SubmitRequest",
    "SubmitResult",
    "TextDecodeError",
    "TextEncodeError",
    "UnknownCommand",
    "split_message",
    "split_text",
]
