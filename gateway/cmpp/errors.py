"""Typed errors of the CMPP package.

Every error derives from :class:`CmppError`, and also from the built-in that describes it best, so callers
that only know the standard library still catch them sensibly:

* malformed bytes or values            -> ``ValueError``      (:class:`CmppProtocolError` and subclasses)
* connection refused / lost / dead peer -> ``ConnectionError`` (:class:`CmppConnectionError`)
* a network step that took too long    -> ``TimeoutError``    (:class:`CmppTimeout`)

The outcome of a submit that did not return a :class:`~gateway.cmpp.client.SubmitResult` is one of two
errors, which differ in what the carrier may have seen:

* :class:`SubmitNotSent` - the carrier surely did not accept the message: it never left this process, or
  every send of it was answered with flow control (result 8). Sending it again cannot create a duplicate.
* :class:`SubmitAmbiguous` - the carrier may have accepted (part of) it: a segment was sent and no answer
  came, or one segment was accepted while another failed. Sending it again may create a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from gateway.cmpp.client import SegmentResult

__all__ = [
    "CmppConnectionError",
    "CmppError",
    "CmppProtocolError",
    "CmppTimeout",
    "ConnectRefused",
    "ConnectTimeout",
    "ConnectionLost",
    "FrameError",
    "NotConnected",
    "PduDecodeError",
    "PduEncodeError",
    "PduLengthError",
    "PeerDead",
    "SessionClosed",
    "SubmitAmbiguous",
    "SubmitError",
    "SubmitNotSent",
    "TextDecodeError",
    "TextEncodeError",
    "UnknownCommand",
]


class CmppError(Exception):
    """Base class of every error raised by :mod:`gateway.cmpp`."""


# ------------------------------------------------------------------ malformed input / output
class CmppProtocolError(CmppError, ValueError):
    """Bytes or values that do not follow the protocol."""


class FrameError(CmppProtocolError):
    """The byte stream cannot be split into frames: Total_Length too small, too large or inconsistent."""


class UnknownCommand(CmppProtocolError):
    """A frame with a Command_Id this package does not know."""

    def __init__(self, command_id: int) -> None:
        super().__init__(f"unknown Command_Id 0x{command_id:08x}")
        self.command_id = command_id


class PduDecodeError(CmppProtocolError):
    """A frame body that does not match the layout of its command."""


class PduLengthError(PduDecodeError):
    """A body whose length does not match its command's layout (or its own length fields)."""


class PduEncodeError(CmppProtocolError):
    """A value that cannot be put on the wire (too long, out of range, not encodable)."""


class TextDecodeError(PduDecodeError):
    """Message content that is not valid in its Msg_Fmt."""


class TextEncodeError(PduEncodeError):
    """Text that cannot be represented in the requested Msg_Fmt."""


# ------------------------------------------------------------------ connection
class CmppConnectionError(CmppError, ConnectionError):
    """The connection to the peer failed, was refused or is gone."""


class ConnectRefused(CmppConnectionError):
    """The ISMG answered CONNECT with a non-zero Status."""

    STATUS_TEXT = {
        1: "bad message structure",
        2: "illegal source address (unknown SP_Id)",
        3: "authentication failed",
        4: "version too high",
    }

    def __init__(self, status: int) -> None:
        text = self.STATUS_TEXT.get(status, "other error")
        super().__init__(f"CONNECT refused with status {status}: {text}")
        self.status = status


class NotConnected(CmppConnectionError):
    """The session has no logged-in connection at the moment."""


class ConnectionLost(CmppConnectionError):
    """The TCP connection closed or failed while the session was using it."""


class PeerDead(ConnectionLost):
    """The peer stopped answering: a request got no response after all its sends."""


# ------------------------------------------------------------------ timeouts
class CmppTimeout(CmppError, TimeoutError):
    """A network step took longer than its timeout."""


class ConnectTimeout(CmppTimeout):
    """TCP connect or the CONNECT/CONNECT_RESP exchange did not finish in time."""


# ------------------------------------------------------------------ submit outcome
class SubmitError(CmppError):
    """A submit that did not produce an answer for every segment.

    ``segments`` holds the answers that did arrive (possibly none), ``reason`` says what went wrong.
    """

    may_have_reached_carrier: bool = False

    def __init__(self, reason: str, segments: Sequence[SegmentResult] = (), last_result: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.segments: tuple[SegmentResult, ...] = tuple(segments)
        self.last_result = last_result


class SubmitNotSent(SubmitError):
    """The carrier surely did not accept the message; resending it cannot create a duplicate.

    ``last_result`` is the last SUBMIT_RESP Result seen (8 after exhausted flow-control retries), or None.
    """

    may_have_reached_carrier = False


class SubmitAmbiguous(SubmitError):
    """The carrier may have accepted the message (or part of it); resending may create a duplicate."""

    may_have_reached_carrier = True


class SessionClosed(SubmitNotSent, CmppConnectionError):
    """The session was closed by its owner; nothing more is sent through it."""
