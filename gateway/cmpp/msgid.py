"""The 64-bit Msg_Id (docs/cmpp-protocol.md, "Msg_Id"): month, day, hour, minute, second, gateway code, sequence.

Also its mapping to a signed 64-bit integer for databases that have no unsigned BIGINT (PostgreSQL, SQLite):
two's complement, values >= 2**63 become negative. The mapping is a bijection, so a stored id always maps
back to exactly the value the carrier sent and status reports always match.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "MSG_ID_LIMIT",
    "MsgIdGenerator",
    "MsgIdParts",
    "msg_id_from_signed",
    "msg_id_to_signed",
    "pack_msg_id",
    "unpack_msg_id",
]

MSG_ID_LIMIT = 1 << 64  # a Msg_Id is an unsigned 64-bit integer: 0 <= id < MSG_ID_LIMIT
_SIGNED_LIMIT = 1 << 63  # a signed 64-bit integer: -_SIGNED_LIMIT <= value < _SIGNED_LIMIT

_FIELDS = (  # name, shift, width
    ("month", 60, 4),
    ("day", 55, 5),
    ("hour", 50, 5),
    ("minute", 44, 6),
    ("second", 38, 6),
    ("gateway", 16, 22),
    ("sequence", 0, 16),
)


@dataclass(frozen=True, slots=True)
class MsgIdParts:
    month: int
    day: int
    hour: int
    minute: int
    second: int
    gateway: int
    sequence: int


def pack_msg_id(month: int, day: int, hour: int, minute: int, second: int, gateway: int, sequence: int) -> int:
    """Compose a Msg_Id; every part must fit its bit width (ValueError otherwise)."""
    values = (month, day, hour, minute, second, gateway, sequence)
    msg_id = 0
    for (name, shift, width), value in zip(_FIELDS, values, strict=True):
        if not 0 <= value < 1 << width:
            raise ValueError(f"Msg_Id {name} {value} does not fit {width} bits")
        msg_id |= value << shift
    return msg_id


def msg_id_to_signed(msg_id: int) -> int:
    """Unsigned 64-bit Msg_Id -> the signed 64-bit integer with the same bits (ValueError outside 64 bits)."""
    if not 0 <= msg_id < MSG_ID_LIMIT:
        raise ValueError(f"Msg_Id {msg_id} is not an unsigned 64-bit integer")
    return msg_id - MSG_ID_LIMIT if msg_id >= _SIGNED_LIMIT else msg_id


def msg_id_from_signed(value: int) -> int:
    """A signed 64-bit integer (as stored) -> the unsigned 64-bit Msg_Id with the same bits."""
    if not -_SIGNED_LIMIT <= value < _SIGNED_LIMIT:
        raise ValueError(f"{value} is not a signed 64-bit integer")
    return value + MSG_ID_LIMIT if value < 0 else value


def unpack_msg_id(msg_id: int) -> MsgIdParts:
    if not 0 <= msg_id < MSG_ID_LIMIT:
        raise ValueError(f"Msg_Id {msg_id} is not a 64-bit unsigned integer")
    return MsgIdParts(*((msg_id >> shift) & ((1 << width) - 1) for _, shift, width in _FIELDS))


class MsgIdGenerator:
    """Unique Msg_Ids for one gateway node: the clock's second plus a 16-bit sequence.

    When more than 65,536 ids are needed within one second, the generator moves its own notion of the
    second forward instead of wrapping, so ids never repeat (and never go backwards) while the process runs.
    ``clock`` returns epoch seconds (``time.time`` by default; tests pass their own).
    """

    __slots__ = ("_clock", "_gateway_bits", "_second", "_prefix", "_seq")

    def __init__(self, gateway: int, clock: Callable[[], float] = time.time) -> None:
        if not 0 <= gateway < 1 << 22:
            raise ValueError(f"gateway code {gateway} does not fit 22 bits")
        self._gateway_bits = gateway << 16
        self._clock = clock
        self._second = -1
        self._prefix = 0
        self._seq = 0

    def __call__(self) -> int:
        return self.reserve(1)

    def reserve(self, count: int) -> int:
        """The first of ``count`` consecutive unused ids (a group send to ``count`` numbers uses M..M+count-1)."""
        if not 1 <= count <= 0x10000:
            raise ValueError("count must be 1..65536")
        now = int(self._clock())
        if now > self._second:
            self._set_second(now)
        elif self._seq + count > 0x10000:
            self._set_second(self._second + 1)
        seq = self._seq
        self._seq = seq + count
        return self._prefix | seq

    def _set_second(self, second: int) -> None:
        t = time.localtime(second)
        self._second = second
        self._seq = 0
        self._prefix = (
            t.tm_mon << 60 | t.tm_mday << 55 | t.tm_hour << 50 | t.tm_min << 44 | t.tm_sec << 38 | self._gateway_bits
        )
