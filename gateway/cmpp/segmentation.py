"""Long messages: splitting into concatenated-SMS segments, reading their UDH, reassembling uplink parts.

This is the *wire* segment (67 UCS2 characters behind a 6-byte UDH, docs/cmpp-protocol.md section 6). It is
deliberately separate from the contract's 70-character billing unit, which lives with the billing rules.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

from gateway.cmpp.errors import TextEncodeError
from gateway.cmpp.text import FMT_ASCII, FMT_GBK, FMT_UCS2, encode_text

__all__ = [
    "MAX_SEGMENTS",
    "Assembled",
    "Concat",
    "Reassembler",
    "next_reference",
    "parse_udh",
    "split_message",
    "split_text",
    "udh_8bit",
]

MAX_CONTENT = 140  # octets of user data in one SMS
ASCII_SINGLE = 159  # Msg_Fmt 0: "< 160"
UDH_8BIT_SIZE = 6
SEGMENT_PAYLOAD = MAX_CONTENT - UDH_8BIT_SIZE  # 134 bytes = 67 UCS2 code units
MAX_SEGMENTS = 255

_references = itertools.count(random.randrange(256))  # not security relevant: only tells messages apart


def next_reference() -> int:
    """The next concatenation reference (0..255), shared by all segments of one message."""
    return next(_references) & 0xFF


def udh_8bit(reference: int, total: int, number: int) -> bytes:
    """``05 00 03 RR TT NN``."""
    return bytes((5, 0, 3, reference & 0xFF, total, number))


def _with_udh(chunks: list[bytes], reference: int | None) -> list[bytes]:
    total = len(chunks)
    if total > MAX_SEGMENTS:
        raise TextEncodeError(f"message needs {total} segments, at most {MAX_SEGMENTS} are possible")
    ref = next_reference() if reference is None else reference & 0xFF
    return [udh_8bit(ref, total, number) + chunk for number, chunk in enumerate(chunks, 1)]


def split_message(text: str, *, reference: int | None = None) -> list[bytes]:
    """UCS2 Msg_Content for each segment of ``text``.

    Up to 70 UTF-16 code units fit one SMS and come back as a single segment without UDH. Longer text is cut
    into segments of at most 67 code units (134 bytes), each behind the 8-bit-reference UDH
    ``05 00 03 RR TT NN``; a surrogate pair (an emoji) is never cut in two. ``reference`` defaults to a
    rolling counter.
    """
    ucs2 = encode_text(text, FMT_UCS2)
    if len(ucs2) <= MAX_CONTENT:
        return [ucs2]
    chunks: list[bytes] = []
    start, size = 0, len(ucs2)
    while start < size:
        end = min(start + SEGMENT_PAYLOAD, size)
        if end < size and 0xD8 <= ucs2[end - 2] <= 0xDB:  # last unit is a high surrogate: keep the pair
            end -= 2
        chunks.append(ucs2[start:end])
        start = end
    return _with_udh(chunks, reference)


def split_text(text: str, msg_fmt: int = FMT_UCS2, *, reference: int | None = None) -> tuple[int, list[bytes]]:
    """(Msg_Fmt actually used, segments) for text in Msg_Fmt 0, 8 or 15.

    ASCII text longer than 159 characters is sent as UCS2, as most senders do (docs/cmpp-protocol.md section 6
    leaves the ASCII segment size open). GBK is cut at character boundaries into 134-byte segments.
    """
    if msg_fmt == FMT_UCS2:
        return FMT_UCS2, split_message(text, reference=reference)
    raw = encode_text(text, msg_fmt)
    if msg_fmt == FMT_ASCII:
        if len(raw) <= ASCII_SINGLE:
            return FMT_ASCII, [raw]
        return FMT_UCS2, split_message(text, reference=reference)
    if msg_fmt == FMT_GBK and len(raw) > MAX_CONTENT:
        chunks: list[bytes] = []
        current = bytearray()
        for char in text:
            encoded = char.encode("gbk")
            if len(current) + len(encoded) > SEGMENT_PAYLOAD:
                chunks.append(bytes(current))
                current.clear()
            current += encoded
        chunks.append(bytes(current))
        return FMT_GBK, _with_udh(chunks, reference)
    return msg_fmt, [raw]


class Concat(NamedTuple):
    """The concatenation information element of one segment."""

    reference: int
    total: int
    number: int


def parse_udh(content: bytes) -> tuple[Concat | None, bytes]:
    """Split a Msg_Content that starts with a UDH into (concatenation info or None, payload).

    Reads IEI 0x00 (8-bit reference, ``05 00 03 RR TT NN``) and IEI 0x08 (16-bit, ``06 08 04 RH RL TT NN``)
    among any other elements. A header longer than the content, or a concatenation element with impossible
    numbers, yields ``(None, content)`` so the caller can still deliver the raw text.
    """
    if not content:
        return None, content
    header_end = 1 + content[0]
    if header_end > len(content):
        return None, content
    concat: Concat | None = None
    i = 1
    while i + 2 <= header_end:
        iei, iel = content[i], content[i + 1]
        data = content[i + 2 : i + 2 + iel]
        if i + 2 + iel > header_end:
            return None, content
        if iei == 0x00 and iel == 3:
            concat = Concat(data[0], data[1], data[2])
        elif iei == 0x08 and iel == 4:
            concat = Concat(data[0] << 8 | data[1], data[2], data[3])
        i += 2 + iel
    if concat is not None and not 1 <= concat.number <= concat.total:
        concat = None
    return concat, content[header_end:]


_Token = TypeVar("_Token")


@dataclass(frozen=True, slots=True)
class Assembled(Generic[_Token]):
    """A reassembled (or timed-out, partial) long message: payload bytes of the parts present, in order."""

    key: Hashable
    payload: bytes
    total: int
    missing: tuple[int, ...]
    tokens: tuple[_Token, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(slots=True)
class _Pending(Generic[_Token]):
    total: int
    first_seen: float
    parts: dict[int, bytes] = field(default_factory=dict)
    tokens: list[_Token] = field(default_factory=list)


class Reassembler(Generic[_Token]):
    """Collects the parts of long uplink messages; pure (the caller passes ``now``).

    ``key`` identifies one long message (e.g. sender, service number, reference and total). Parts may come in
    any order and more than once (a redelivered part replaces the earlier copy). Each part carries a token
    (e.g. what is needed to acknowledge it); a finished message returns the tokens of all its parts.
    A message still incomplete ``timeout`` seconds after its first part comes back from :meth:`expire`
    with the parts that did arrive and the numbers that are missing. At most ``max_pending`` messages are
    held; beyond that the oldest is expired early.
    """

    def __init__(self, timeout: float, max_pending: int = 10_000) -> None:
        self.timeout = timeout
        self.max_pending = max_pending
        self._pending: dict[Hashable, _Pending[_Token]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(
        self, key: Hashable, total: int, number: int, payload: bytes, now: float, token: _Token
    ) -> Assembled[_Token] | None:
        entry = self._pending.get(key)
        if entry is None:
            entry = self._pending[key] = _Pending(total, now)
        entry.parts[number] = payload
        entry.tokens.append(token)
        if len(entry.parts) >= entry.total:
            del self._pending[key]
            return self._finish(key, entry)
        return None

    def expire(self, now: float) -> list[Assembled[_Token]]:
        """Remove and return the messages whose time is up (oldest first)."""
        done: list[Assembled[_Token]] = []
        deadline = now - self.timeout
        for key in list(self._pending):
            entry = self._pending[key]
            if entry.first_seen > deadline and len(self._pending) <= self.max_pending:
                break  # entries are in arrival order, so every later one is younger
            del self._pending[key]
            done.append(self._finish(key, entry))
        return done

    @staticmethod
    def _finish(key: Hashable, entry: _Pending[_Token]) -> Assembled[_Token]:
        numbers = range(1, entry.total + 1)
        payload = b"".join(entry.parts[n] for n in numbers if n in entry.parts)
        missing = tuple(n for n in numbers if n not in entry.parts)
        return Assembled(key, payload, entry.total, missing, tuple(entry.tokens))
