"""Long messages: 67-character UCS2 segments, UDH reading, uplink reassembly; Msg_Fmt text codecs."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.cmpp.errors import TextDecodeError, TextEncodeError
from gateway.cmpp.segmentation import Reassembler, parse_udh, split_message, split_text
from gateway.cmpp.text import FMT_ASCII, FMT_BINARY, FMT_GBK, FMT_UCS2, decode_text, encode_text


def payloads(segments: list[bytes]) -> bytes:
    if len(segments) == 1:
        return segments[0]
    return b"".join(parse_udh(s)[1] for s in segments)


@pytest.mark.parametrize(("length", "count"), [(0, 1), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3)])
def test_segment_counts(length: int, count: int) -> None:
    segments = split_message("字" * length)
    assert len(segments) == count
    assert all(len(s) <= 140 for s in segments)
    if count > 1:
        assert all(len(s) == 140 for s in segments[:-1])  # 6 + 67 * 2


def test_single_segment_has_no_udh_and_long_ones_share_a_reference() -> None:
    assert split_message("hello") == ["hello".encode("utf-16-be")]
    segments = split_message("x" * 150)
    refs = {parse_udh(s)[0].reference for s in segments}  # type: ignore[union-attr]
    assert len(refs) == 1
    ref = refs.pop()
    assert [parse_udh(s)[0] for s in segments] == [(ref, 3, n) for n in (1, 2, 3)]


def test_a_surrogate_pair_is_never_cut() -> None:
    text = "a" * 66 + "😀" + "b" * 10  # the emoji would straddle units 67/68
    segments = split_message(text)
    first = parse_udh(segments[0])[1]
    assert first.decode("utf-16-be") == "a" * 66  # the pair moved whole into segment 2
    assert payloads(segments).decode("utf-16-be") == text


@given(st.text(max_size=400))
def test_split_then_join_gives_the_text_back(text: str) -> None:
    segments = split_message(text)
    assert all(len(s) <= 140 for s in segments)
    for segment in segments if len(segments) > 1 else []:
        parse_udh(segment)[1].decode("utf-16-be")  # every segment decodes on its own: no cut pair
    assert payloads(segments).decode("utf-16-be") == text


def test_too_many_segments_is_an_error() -> None:
    with pytest.raises(TextEncodeError):
        split_message("x" * 67 * 256)


def test_gbk_is_cut_at_character_boundaries() -> None:
    text = "交管" * 80 + "a"  # 321 bytes in GBK
    fmt, segments = split_text(text, FMT_GBK)
    assert fmt == FMT_GBK and len(segments) == 3
    assert all(len(s) <= 140 for s in segments)
    assert payloads(segments).decode("gbk") == text


def test_long_ascii_switches_to_ucs2() -> None:
    assert split_text("TD", FMT_ASCII) == (FMT_ASCII, [b"TD"])
    fmt, segments = split_text("a" * 200, FMT_ASCII)
    assert fmt == FMT_UCS2 and len(segments) == 3


def test_udh_16_bit_and_other_elements() -> None:
    concat, payload = parse_udh(bytes.fromhex("0608041234020161"))
    assert concat == (0x1234, 2, 1) and payload == b"a"
    # an unrelated element (IEI 0x24) before the concatenation element
    concat, payload = parse_udh(bytes.fromhex("0824010100030a0302") + b"zz")
    assert concat == (0x0A, 3, 2) and payload == b"zz"


@pytest.mark.parametrize("content", [b"", bytes.fromhex("0a0003"), bytes.fromhex("050003010300"),
                                     bytes.fromhex("05000301020361")])
def test_broken_udh_yields_no_concat(content: bytes) -> None:
    concat, _ = parse_udh(content)
    assert concat is None


def test_reassembly_out_of_order_and_duplicates() -> None:
    r: Reassembler[str] = Reassembler(timeout=10)
    assert r.add("k", 3, 3, b"C", now=0, token="t3") is None
    assert r.add("k", 3, 1, b"A", now=1, token="t1") is None
    assert r.add("k", 3, 1, b"A", now=2, token="t1again") is None  # redelivered part
    done = r.add("k", 3, 2, b"B", now=3, token="t2")
    assert done is not None and done.complete and done.payload == b"ABC"
    assert done.tokens == ("t3", "t1", "t1again", "t2")
    assert len(r) == 0


def test_reassembly_times_out_a_missing_part() -> None:
    r: Reassembler[int] = Reassembler(timeout=5)
    r.add("old", 3, 1, b"A", now=0, token=1)
    r.add("old", 3, 3, b"C", now=1, token=3)
    r.add("new", 2, 1, b"X", now=4, token=9)
    assert r.expire(now=4.9) == []
    expired = r.expire(now=5)
    assert [(e.key, e.payload, e.missing, e.tokens) for e in expired] == [("old", b"AC", (2,), (1, 3))]
    assert not expired[0].complete and len(r) == 1


def test_reassembly_bounds_pending_messages() -> None:
    r: Reassembler[int] = Reassembler(timeout=100, max_pending=2)
    for i in range(4):
        r.add(i, 2, 1, b"x", now=i, token=i)
    assert [e.key for e in r.expire(now=4)] == [0, 1]


@pytest.mark.parametrize(("fmt", "text"), [(FMT_ASCII, "TD"), (FMT_UCS2, "退订😀"), (FMT_GBK, "交管12123")])
def test_text_round_trip(fmt: int, text: str) -> None:
    assert decode_text(encode_text(text, fmt), fmt) == text


@pytest.mark.parametrize(("content", "fmt"), [(b"\x00", FMT_UCS2), (b"\xff", FMT_ASCII), (b"\x81", FMT_GBK),
                                              (b"\x01", FMT_BINARY)])
def test_bad_encodings_raise_typed_errors_unless_lenient(content: bytes, fmt: int) -> None:
    with pytest.raises(TextDecodeError):
        decode_text(content, fmt)
    assert isinstance(decode_text(content, fmt, "replace"), str)


@pytest.mark.parametrize(("text", "fmt"), [("交管", FMT_ASCII), ("😀", FMT_GBK), ("x", FMT_BINARY)])
def test_unencodable_text_raises(text: str, fmt: int) -> None:
    with pytest.raises(TextEncodeError):
        encode_text(text, fmt)
