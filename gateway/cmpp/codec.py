"""Splitting a TCP byte stream into CMPP frames.

The reader never waits for more than one header's worth of promised bytes that cannot be legal: a
Total_Length below 12 or above ``max_length`` raises :class:`~gateway.cmpp.errors.FrameError` at once, so a
garbage stream can neither make the reader buffer without bound nor hang it waiting for a huge body.
After a FrameError the stream is out of step and the connection must be closed.
"""

from __future__ import annotations

from collections.abc import Iterator

from gateway.cmpp.errors import FrameError
from gateway.cmpp.pdu import HEADER, HEADER_SIZE

# The largest legal packet is a 3.0 SUBMIT to 99 numbers with 140 bytes of content: 12 + 151 + 32*99 + 140.
MAX_FRAME_LENGTH = 4096

Frame = tuple[int, int, bytes]
"""(Command_Id, Sequence_Id, body)."""


class FrameReader:
    """Incremental frame splitter: ``feed(chunk)`` yields the frames completed by that chunk."""

    __slots__ = ("_buffer", "max_length")

    def __init__(self, max_length: int = MAX_FRAME_LENGTH) -> None:
        if max_length < HEADER_SIZE:
            raise ValueError("max_length must be at least the header size")
        self.max_length = max_length
        self._buffer = b""

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> Iterator[Frame]:
        """Yield the frames that ``data`` completes, in order.

        Frames before a bad header are yielded first; the FrameError is raised when iteration reaches the
        bad header. Consume the iterator fully (or drop the connection): frames left unconsumed are lost.
        """
        buf = self._buffer + data if self._buffer else bytes(data)
        self._buffer = b""
        size = len(buf)
        off = 0
        unpack_from = HEADER.unpack_from
        max_length = self.max_length
        while size - off >= HEADER_SIZE:
            length, command_id, seq = unpack_from(buf, off)
            if length < HEADER_SIZE or length > max_length:
                raise FrameError(f"Total_Length {length} outside {HEADER_SIZE}..{max_length}")
            end = off + length
            if end > size:
                break
            yield command_id, seq, buf[off + HEADER_SIZE : end]
            off = end
        self._buffer = buf[off:] if off else buf
