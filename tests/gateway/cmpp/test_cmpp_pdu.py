"""Every PDU of both versions survives encode -> decode; malformed bodies raise typed errors."""

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.cmpp.errors import CmppProtocolError, PduDecodeError, PduEncodeError, PduLengthError, UnknownCommand
from gateway.cmpp.pdu import (
    PDU_CLASSES,
    V20,
    V21,
    V30,
    ActiveTest,
    ActiveTestResp,
    Cancel,
    CancelResp,
    Command,
    Connect,
    ConnectResp,
    Deliver,
    DeliverResp,
    Pdu,
    Query,
    QueryResp,
    StatusReport,
    Submit,
    SubmitResp,
    Terminate,
    TerminateResp,
    decode_body,
    decode_frame,
    encode_frame,
    is_v3,
)

VERSIONS = [V20, V21, V30]
u8 = st.integers(0, 255)
u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)


def octets(size: int) -> st.SearchStrategy[str]:
    """Octet String values: any byte but NUL (NUL ends the field), at most ``size`` bytes."""
    return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=size)


def submits(version: int) -> st.SearchStrategy[Submit]:
    v3 = is_v3(version)
    term = 32 if v3 else 21
    only3 = u8 if v3 else st.just(0)
    return st.builds(
        Submit, msg_id=u64, pk_total=u8, pk_number=u8, registered_delivery=u8, msg_level=u8,
        service_id=octets(10), fee_user_type=u8, fee_terminal_id=octets(term), fee_terminal_type=only3,
        tp_pid=u8, tp_udhi=u8, msg_fmt=u8, msg_src=octets(6), fee_type=octets(2), fee_code=octets(6),
        valid_time=octets(17), at_time=octets(17), src_id=octets(21),
        dest_terminal_ids=st.lists(octets(term), min_size=1, max_size=99).map(tuple), dest_terminal_type=only3,
        msg_content=st.binary(max_size=255), link_id=octets(20 if v3 else 8))


def delivers(version: int) -> st.SearchStrategy[Deliver]:
    v3 = is_v3(version)
    return st.builds(
        Deliver, msg_id=u64, dest_id=octets(21), service_id=octets(10), tp_pid=u8, tp_udhi=u8, msg_fmt=u8,
        src_terminal_id=octets(32 if v3 else 21), src_terminal_type=u8 if v3 else st.just(0),
        registered_delivery=u8, msg_content=st.binary(max_size=255), link_id=octets(20 if v3 else 8))


def pdus(version: int) -> dict[type[Pdu], st.SearchStrategy[Pdu]]:
    v3 = is_v3(version)
    status = u32 if v3 else u8
    return {
        Connect: st.builds(Connect, source_addr=octets(6), authenticator_source=st.binary(min_size=16, max_size=16),
                           version=u8, timestamp=u32),
        ConnectResp: st.builds(ConnectResp, status=status, authenticator_ismg=st.binary(min_size=16, max_size=16),
                               version=u8),
        Terminate: st.just(Terminate()),
        TerminateResp: st.just(TerminateResp()),
        ActiveTest: st.just(ActiveTest()),
        ActiveTestResp: st.builds(ActiveTestResp, u8),
        Submit: submits(version),
        SubmitResp: st.builds(SubmitResp, u64, status),
        Deliver: delivers(version),
        DeliverResp: st.builds(DeliverResp, u64, status),
        Query: st.builds(Query, octets(8), u8, octets(10), octets(8)),
        QueryResp: st.builds(QueryResp, octets(8), u8, octets(10), *([u32] * 8)),
        Cancel: st.builds(Cancel, u64),
        CancelResp: st.builds(CancelResp, status),
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("cls", list(PDU_CLASSES.values()), ids=lambda c: c.__name__)
@settings(max_examples=30)
@given(data=st.data(), seq=u32)
def test_every_pdu_round_trips(version: int, cls: type[Pdu], data: st.DataObject, seq: int) -> None:
    pdu = data.draw(pdus(version)[cls])
    frame = encode_frame(pdu, seq, version)
    assert struct.unpack(">I", frame[:4])[0] == len(frame)
    assert decode_frame(frame, version) == (seq, pdu)


@pytest.mark.parametrize("version", VERSIONS)
@given(data=st.data())
def test_status_report_round_trips(version: int, data: st.DataObject) -> None:
    report = data.draw(st.builds(StatusReport, u64, octets(7), octets(10), octets(10),
                                 octets(32 if is_v3(version) else 21), u32))
    content = report.encode(version)
    assert len(content) == (71 if is_v3(version) else 60)
    assert StatusReport.decode(content) == report


def test_every_command_has_a_pdu_class() -> None:
    assert set(PDU_CLASSES) == {int(c) for c in Command}


@pytest.mark.parametrize(("version", "size"), [(V20, 126 + 21 + 3), (V30, 151 + 32 + 3)])
def test_submit_body_size_formula(version: int, size: int) -> None:
    body = Submit(dest_terminal_ids=("13912345678",), msg_content=b"abc").encode_body(version)
    assert len(body) == size


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=300)
@given(command=st.sampled_from(sorted(PDU_CLASSES)), body=st.binary(max_size=400))
def test_random_bodies_raise_only_typed_errors(version: int, command: int, body: bytes) -> None:
    with contextlib.suppress(CmppProtocolError):
        decode_body(command, body, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_truncated_and_padded_submit_raise_length_errors(version: int) -> None:
    body = Submit(dest_terminal_ids=("13912345678", "13800138000"), msg_content=b"hello").encode_body(version)
    for cut in (0, 10, len(body) // 2, len(body) - 1):
        with pytest.raises(PduLengthError):
            decode_body(Command.SUBMIT, body[:cut], version)
    with pytest.raises(PduLengthError):
        decode_body(Command.SUBMIT, body + b"\x00", version)


def test_submit_with_wrong_msg_length_is_refused() -> None:
    body = bytearray(Submit(dest_terminal_ids=("1",), msg_content=b"hello").encode_body(V20))
    body[117 + 21] = 200  # Msg_Length says 200, the packet carries 5
    with pytest.raises(PduLengthError, match="its fields say"):
        decode_body(Command.SUBMIT, bytes(body), V20)


def test_deliver_of_other_version_is_refused() -> None:
    body = Deliver(src_terminal_id="13800138000", msg_content=b"TD").encode_body(V30)
    with pytest.raises(PduDecodeError):
        decode_body(Command.DELIVER, body, V20)


def test_unknown_command_and_bad_frames() -> None:
    with pytest.raises(UnknownCommand) as info:
        decode_body(0x00000003, b"", V20)
    assert info.value.command_id == 3
    with pytest.raises(PduDecodeError):
        decode_frame(b"\x00\x00\x00\x0c\x00\x00", V20)
    with pytest.raises(PduDecodeError, match="Total_Length"):
        decode_frame(bytes.fromhex("0000000d 00000008 00000001".replace(" ", "")), V20)
    with pytest.raises(PduLengthError):
        decode_body(Command.TERMINATE, b"\x00", V20)
    with pytest.raises(PduLengthError):
        decode_body(Command.ACTIVE_TEST_RESP, b"12345", V20)


def test_lenient_widths() -> None:
    assert decode_body(Command.SUBMIT_RESP, struct.pack(">QI", 7, 13), V20) == SubmitResp(7, 13)
    assert decode_body(Command.DELIVER_RESP, struct.pack(">QB", 7, 0), V30) == DeliverResp(7, 0)
    assert decode_body(Command.CANCEL_RESP, b"\x00\x00\x00\x01", V20) == CancelResp(1)
    assert decode_body(Command.CANCEL_RESP, b"\x01", V30) == CancelResp(1)
    assert decode_body(Command.ACTIVE_TEST_RESP, b"0x00", V20) == ActiveTestResp(ord("0"))  # pycmpp's bug


@pytest.mark.parametrize(
    ("pdu", "match"),
    [
        (Submit(service_id="x" * 11, dest_terminal_ids=("1",)), "Service_Id"),
        (Submit(src_id="短信", dest_terminal_ids=("1",)), "Src_Id"),
        (Submit(dest_terminal_ids=()), "DestUsr_tl"),
        (Submit(dest_terminal_ids=("1",) * 100), "DestUsr_tl"),
        (Submit(dest_terminal_ids=("1",), msg_content=b"x" * 256), "Msg_Length"),
        (Submit(pk_total=256, dest_terminal_ids=("1",)), "cannot encode"),
        (Connect("900001", b"short", V30, 0), "16 bytes"),
        (ConnectResp(256, bytes(16), V20), "cannot encode"),
        (Deliver(msg_content=b"x" * 300), "Msg_Length"),
        (StatusReport(0, "DELIVRD!", "", "", "", 0), "Stat"),
    ],
)
def test_encode_errors_are_typed(pdu: Pdu | StatusReport, match: str) -> None:
    with pytest.raises(PduEncodeError, match=match):
        if isinstance(pdu, StatusReport):
            pdu.encode(V20)
        else:
            encode_frame(pdu, 1, V20)


def test_a_pdu_is_immutable() -> None:
    pdu = decode_body(Command.SUBMIT, Submit(dest_terminal_ids=("1",)).encode_body(V30), V30)
    with pytest.raises(AttributeError):
        pdu.msg_id = 5  # type: ignore[attr-defined]
