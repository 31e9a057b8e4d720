"""Golden byte vectors V1-V8 (docs/cmpp-protocol.md section 12) (and the two public SMSGate DELIVER samples)."""

from typing import Any

import pytest

from gateway.cmpp.auth import (
    authenticator_ismg,
    authenticator_source,
    timestamp_text,
    verify_authenticator_ismg,
)
from gateway.cmpp.msgid import pack_msg_id, unpack_msg_id
from gateway.cmpp.pdu import (
    V20,
    V21,
    V30,
    ActiveTest,
    ActiveTestResp,
    Connect,
    ConnectResp,
    Deliver,
    DeliverResp,
    StatusReport,
    Submit,
    SubmitResp,
    decode_body,
    decode_frame,
    encode_frame,
)
from gateway.cmpp.segmentation import parse_udh, split_message


def h(text: str) -> bytes:
    """Hex as written in the protocol notes: spaces ignored, `00×n` expanded."""
    parts = []
    for token in text.split():
        if "×" in token:
            byte, count = token.split("×")
            parts.append(byte * int(count))
        else:
            parts.append(token)
    return bytes.fromhex("".join(parts))


SP, SECRET, TS, SEQ = "900001", "888888", 1021080510, 0x17
AUTH = bytes.fromhex("90d00c1d517abd0b4f65f6bcf8535d16")
MID = 0xB2B9DA8000010000
MID2 = 0xBE3DEB4003E90001


def test_v1_authenticator_source() -> None:
    assert authenticator_source(SP, SECRET, TS) == AUTH


@pytest.mark.parametrize("version", [V21, V20, V30])
def test_v1_connect(version: int) -> None:
    expected = h(f"00000027 00000001 00000017 393030303031 90d00c1d517abd0b4f65f6bcf8535d16 {version:02x} 3cdc73be")
    pdu = Connect(SP, authenticator_source(SP, SECRET, TS), version, TS)
    assert encode_frame(pdu, SEQ, version) == expected
    assert decode_frame(expected, version) == (SEQ, pdu)


def test_january_timestamp_keeps_ten_digits_in_the_md5() -> None:
    assert timestamp_text(102150405) == "0102150405"
    assert authenticator_source(SP, SECRET, 102150405).hex() == "731af4c87a53c75e975fe4a12f065d4e"


def test_v2a_connect_resp_20() -> None:
    expected = h("0000001e 80000001 00000017 00 6c0b846e25bab6daa4ed1c466e0f4bd8 21")
    ismg = authenticator_ismg(0, AUTH, SECRET, status_width=1)
    assert encode_frame(ConnectResp(0, ismg, V21), SEQ, V20) == expected
    assert decode_frame(expected, V20) == (SEQ, ConnectResp(0, ismg, V21))
    assert verify_authenticator_ismg(ismg, 0, AUTH, SECRET)


def test_v2b_connect_resp_30() -> None:
    expected = h("00000021 80000001 00000017 00000000 7942977274098cf210ab0c16c367bc8d 30")
    ismg = authenticator_ismg(0, AUTH, SECRET, status_width=4)
    assert encode_frame(ConnectResp(0, ismg, V30), SEQ, V30) == expected
    assert verify_authenticator_ismg(ismg, 0, AUTH, SECRET)


def test_v2c_connect_resp_auth_failure() -> None:
    expected = h("0000001e 80000001 00000017 03 00000000000000000000000000000000 20")
    assert encode_frame(ConnectResp(3, bytes(16), V20), SEQ, V20) == expected


def test_lenient_20_connect_resp_with_4_byte_status() -> None:
    """Some 2.0 gateways send the 3.0 layout; the length decides."""
    body = h("00000003 00000000000000000000000000000000 20")
    assert decode_body(0x80000001, body, V20) == ConnectResp(3, bytes(16), V20)


V3_FIELDS: dict[str, Any] = dict(
    pk_total=1, pk_number=1, registered_delivery=1, msg_level=1, service_id="test", fee_user_type=2,
    fee_terminal_id="13500002696", msg_fmt=8, msg_src="900001", fee_type="02", fee_code="10",
    valid_time="151105131555101+", src_id="900001", dest_terminal_ids=("13500002696",),
    msg_content="测试gocmpp submit".encode("utf-16-be"))
V3A = h("""000000bd 00000004 00000017 0000000000000000 01 01 01 01 74657374000000000000 02
313335303030303236393600000000000000000000 00 00 08 393030303031 3032 313000000000
3135313130353133313535353130312b00 0000000000000000000000000000000000
393030303031000000000000000000000000000000 01 313335303030303236393600000000000000000000
1e 6d4b8bd50067006f0063006d007000700020007300750062006d00690074 0000000000000000""")
V3B = bytes.fromhex(
    "000000e10000000400000017000000000000000001010101746573740000000000000231333530303030323639360000000000000000"
    "000000000000000000000000000000000839303030303130323130000000003135313130353133313535353130312b00000000000000"
    "0000000000000000000000393030303031000000000000000000000000000000013133353030303032363936000000000000000000"
    "000000000000000000000000001e6d4b8bd50067006f0063006d007000700020007300750062006d00690074000000000000000000"
    "0000000000000000000000")


@pytest.mark.parametrize(("version", "expected"), [(V20, V3A), (V30, V3B)])
def test_v3_submit(version: int, expected: bytes) -> None:
    pdu = Submit(**V3_FIELDS)
    frame = encode_frame(pdu, SEQ, version)
    assert len(frame) == (189 if version == V20 else 225)
    assert frame == expected
    assert decode_frame(expected, version) == (SEQ, pdu)


def test_v4_submit_resp_and_msg_id() -> None:
    assert encode_frame(SubmitResp(MID, 0), SEQ, V20) == h("00000015 80000004 00000017 b2b9da8000010000 00")
    assert encode_frame(SubmitResp(MID, 0), SEQ, V30) == h("00000018 80000004 00000017 b2b9da8000010000 00000000")
    assert encode_frame(SubmitResp(MID2, 8), 2, V20) == h("00000015 80000004 00000002 be3deb4003e90001 08")
    parts = unpack_msg_id(MID)
    assert (parts.month, parts.day, parts.hour, parts.minute, parts.second, parts.gateway, parts.sequence) == (
        11, 5, 14, 29, 42, 1, 0)
    assert pack_msg_id(11, 28, 15, 30, 45, 1001, 1) == MID2


def test_v5_active_test() -> None:
    assert encode_frame(ActiveTest(), SEQ, V20) == h("0000000c 00000008 00000017")
    assert encode_frame(ActiveTestResp(), SEQ, V30) == h("0000000d 80000008 00000017 00")
    assert decode_body(0x80000008, b"", V20) == ActiveTestResp(0)  # lenient: the older empty form


V6A = h("""00000091 00000005 00000100 be3df08003e90007 3130363930303031 00×13 00×10 00 00 00
3133383030313338303030 00×10 01 3c
  be3deb4003e90001 44454c49565244 32353131323831353330 32353131323831353331
  3133383030313338303030 00×10 00000001
0000000000000000""")


def _v6_deliver(version: int) -> Deliver:
    report = StatusReport(MID2, "DELIVRD", "2511281530", "2511281531", "13800138000", 1)
    return Deliver(pack_msg_id(11, 28, 15, 31, 2, 1001, 7), "10690001", "", 0, 0, 0, "13800138000", 0, 1,
                   report.encode(version), "")


def test_v6_status_report_20() -> None:
    assert encode_frame(_v6_deliver(V20), 0x100, V20) == V6A
    seq, deliver = decode_frame(V6A, V20)
    assert isinstance(deliver, Deliver) and deliver.is_report and seq == 0x100
    report = StatusReport.decode(deliver.msg_content)
    assert report == StatusReport(MID2, "DELIVRD", "2511281530", "2511281531", "13800138000", 1)


def test_v6_status_report_30_is_180_bytes_with_71_byte_report() -> None:
    frame = encode_frame(_v6_deliver(V30), 0x100, V30)
    assert len(frame) == 180 and frame[12 + 76] == 71
    _, deliver = decode_frame(frame, V30)
    assert isinstance(deliver, Deliver)
    assert StatusReport.decode(deliver.msg_content).dest_terminal_id == "13800138000"


def test_v7_mo_and_deliver_resp() -> None:
    frame = h("00000057 00000005 00000101 be40000003e90008 3130363930303031 00×13 00×10 00 00 00 "
              "3133383030313338303030 00×10 00 02 5444 0000000000000000")
    mo_id = pack_msg_id(11, 28, 16, 0, 0, 1001, 8)
    pdu = Deliver(mo_id, "10690001", "", 0, 0, 0, "13800138000", 0, 0, b"TD", "")
    assert encode_frame(pdu, 0x101, V20) == frame
    assert decode_frame(frame, V20) == (0x101, pdu)
    assert encode_frame(DeliverResp(mo_id, 0), 0x101, V20) == h("00000015 80000005 00000101 be40000003e90008 00")


SMSGATE_60 = bytes.fromhex(
    "c2cf84f10ce0003f3130303836393838313030383639383831303038360000000000000000000000000f313837303338313536353531"
    "383730333831353635353138373033383135363500013cc2cf8400a37359d844454c4956524432323132303531393536323231323035"
    "31393536313030383639383800000000000000000000000000000000ff3030303030303030303030303031323334353600")
SMSGATE_71 = bytes.fromhex(
    "522a4980002aa6ce313030383531303100000000000000000000000000636d63637a785f736d7300000031333539323236313739310000"
    "00000000000000000000000000000000000000000147522a4980002aa6cd41463a34000000303030313031303030303030303130313030"
    "30303133353932323631373931000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000")


def test_smsgate_30_deliver_with_60_byte_report() -> None:
    deliver = decode_body(0x00000005, SMSGATE_60, V30)
    assert isinstance(deliver, Deliver) and deliver.is_report and len(deliver.msg_content) == 60
    assert deliver.link_id == "0000000000000123456"
    report = StatusReport.decode(deliver.msg_content)
    assert (report.stat, report.dest_terminal_id, report.smsc_sequence) == ("DELIVRD", "10086988", 255)


def test_smsgate_30_deliver_with_71_byte_report_and_nul_padded_stat() -> None:
    deliver = decode_body(0x00000005, SMSGATE_71, V30)
    assert isinstance(deliver, Deliver) and deliver.service_id == "cmcczx_sms"
    report = StatusReport.decode(deliver.msg_content)
    assert (report.stat, report.dest_terminal_id, report.smsc_sequence) == ("AF:4", "13592261791", 0)


def test_v8_long_ucs2_notice() -> None:
    text = "【交管12123】" + "您的机动车于2025年11月28日在某路段发生交通违法行为，请及时通过交管12123处理。" * 2
    assert len(text) == 99
    segments = split_message(text, reference=0x2A)
    assert [s[:6].hex(" ") for s in segments] == ["05 00 03 2a 02 01", "05 00 03 2a 02 02"]
    assert [len(s) for s in segments] == [140, 70]
    concat, payload = parse_udh(h("06 08 04 12 34 02 01") + "x".encode("utf-16-be"))
    assert concat is not None and (concat.reference, concat.total, concat.number) == (0x1234, 2, 1)
    assert payload == b"\x00x"
