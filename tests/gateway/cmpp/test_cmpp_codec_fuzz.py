"""The frame reader: any chunking gives the same frames; garbage raises FrameError and never hangs."""

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.cmpp.codec import MAX_FRAME_LENGTH, FrameReader
from gateway.cmpp.errors import CmppProtocolError, FrameError
from gateway.cmpp.pdu import (
    PDU_CLASSES,
    V20,
    V30,
    ActiveTest,
    Deliver,
    StatusReport,
    Submit,
    SubmitResp,
    decode_body,
    encode_frame,
)

FRAMES = [
    encode_frame(Submit(dest_terminal_ids=("13912345678",), msg_content="通知".encode("utf-16-be")), 1, V30),
    encode_frame(SubmitResp(0xB2B9DA8000010000, 0), 2, V20),
    encode_frame(ActiveTest(), 3, V20),
    encode_frame(Deliver(msg_content=StatusReport(1, "DELIVRD", "", "", "13800138000", 9).encode(V30),
                         registered_delivery=1), 4, V30),
]


def split_points(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for p in [*points, len(data)]:
        pieces.append(data[start:p])
        start = p
    return pieces


@given(order=st.permutations(FRAMES), cuts=st.lists(st.integers(0, 10_000), max_size=30))
def test_any_chunking_yields_the_same_frames(order: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(order)
    reader = FrameReader()
    got: list[tuple[int, int, bytes]] = []
    for piece in split_points(stream, cuts):
        got.extend(reader.feed(piece))
    assert [(c, s, len(b) + 12) for c, s, b in got] == [
        (struct.unpack(">I", f[4:8])[0], struct.unpack(">I", f[8:12])[0], len(f)) for f in order]
    assert reader.buffered == 0


@settings(max_examples=300)
@given(chunks=st.lists(st.binary(max_size=200), max_size=20))
def test_random_bytes_never_crash_or_buffer_without_bound(chunks: list[bytes]) -> None:
    reader = FrameReader()
    for chunk in chunks:
        try:
            for command, _seq, body in reader.feed(chunk):
                with contextlib.suppress(CmppProtocolError):
                    decode_body(command, body, V30)
        except FrameError:
            reader = FrameReader()  # the connection would be closed here
        assert reader.buffered < MAX_FRAME_LENGTH


@pytest.mark.parametrize("length", [0, 11, MAX_FRAME_LENGTH + 1, 0xFFFFFFFF])
def test_impossible_total_length_is_refused_at_once(length: int) -> None:
    with pytest.raises(FrameError):
        list(FrameReader().feed(struct.pack(">III", length, 4, 1)))


def test_frames_before_a_bad_header_are_still_delivered() -> None:
    frames = FrameReader().feed(FRAMES[2] + struct.pack(">III", 5, 4, 1))
    assert next(frames)[1] == 3
    with pytest.raises(FrameError):
        next(frames)


def test_short_input_waits_for_more() -> None:
    reader = FrameReader()
    frame = FRAMES[0]
    assert list(reader.feed(frame[:5])) == []
    assert list(reader.feed(frame[5:-1])) == []
    assert len(list(reader.feed(frame[-1:]))) == 1


@settings(max_examples=200)
@given(data=st.data())
def test_mutated_valid_bodies_raise_only_typed_errors(data: st.DataObject) -> None:
    frame = data.draw(st.sampled_from(FRAMES))
    body = bytearray(frame[12:])
    for _ in range(data.draw(st.integers(1, 5))):
        if body:
            body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(body)))
    command = data.draw(st.sampled_from(sorted(PDU_CLASSES)))
    for version in (V20, V30):
        with contextlib.suppress(CmppProtocolError):
            decode_body(command, bytes(body[:cut]), version)
