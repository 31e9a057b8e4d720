"""CMPP 2.0 / 3.0 PDUs: frozen dataclasses, and encoding/decoding of their bodies for either version.

Layouts follow docs/cmpp-protocol.md sections 3-9. Text fields are ``Octet String`` on the wire: NUL-padded
on the right, cut at the first NUL on read, and mapped to ``str`` through Latin-1 (lossless, so any byte a real
gateway sends survives a decode/encode round trip; the values are ASCII in practice).

* :func:`encode_frame` turns a PDU plus a Sequence_Id into a complete packet (header included).
* :func:`decode_body` turns a Command_Id and a body into a PDU; :func:`decode_frame` does a whole packet.

Decoding is lenient where docs/cmpp-protocol.md section 11 lists real-world deviations (CONNECT_RESP,
SUBMIT_RESP, DELIVER_RESP and CANCEL_RESP bodies are recognised by their length in either version, ACTIVE_TEST_RESP may
be empty, a status report may have the 60- or the 71-byte layout) and strict everywhere else. Anything that
does not fit raises :class:`~gateway.cmpp.errors.PduDecodeError` or
:class:`~gateway.cmpp.errors.UnknownCommand`, both ``ValueError`` subclasses.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, ClassVar, TypeVar

from gateway.cmpp.errors import PduDecodeError, PduEncodeError, PduLengthError, UnknownCommand

V20 = 0x20
V21 = 0x21
V30 = 0x30

HEADER = struct.Struct(">III")
HEADER_SIZE = HEADER.size


class Command(IntEnum):
    CONNECT = 0x00000001
    CONNECT_RESP = 0x80000001
    TERMINATE = 0x00000002
    TERMINATE_RESP = 0x80000002
    SUBMIT = 0x00000004
    SUBMIT_RESP = 0x80000004
    DELIVER = 0x00000005
    DELIVER_RESP = 0x80000005
    QUERY = 0x00000006
    QUERY_RESP = 0x80000006
    CANCEL = 0x00000007
    CANCEL_RESP = 0x80000007
    ACTIVE_TEST = 0x00000008
    ACTIVE_TEST_RESP = 0x80000008


RESPONSE_BIT = 0x80000000
MAX_SEQUENCE_ID = 0xFFFFFFFF  # Sequence_Id is a u32 that wraps (docs/cmpp-protocol.md section 1)


class Result(IntEnum):
    """SUBMIT_RESP / DELIVER_RESP Result codes both versions share (docs/cmpp-protocol.md section 7); other
    codes (9 and up, vendor-defined 100-199) are refusals too."""

    OK = 0
    BAD_STRUCTURE = 1
    BAD_COMMAND = 2
    DUPLICATE_SEQUENCE = 3
    BAD_LENGTH = 4
    BAD_FEE_CODE = 5
    TOO_LONG = 6
    BAD_SERVICE_ID = 7
    FLOW_CONTROL = 8  # over the rate or window: not accepted, send again later
    OTHER_V2 = 9  # 2.0: any other error
    BAD_DEST_V3 = 13  # 3.0: bad Dest_terminal_Id


REGISTERED_DELIVERY_REPORT = 1  # SUBMIT: a status report is wanted; DELIVER: this is a report (0: uplink)
UDHI_MASK = 0x41  # TP_udhi: 1 per CMPP, 0x40 (the SMPP bit) from some gateways; either means a UDH is present
TERMINAL_ID_SIZE_V2 = 21  # Fee/Dest/Src terminal ids, bytes
TERMINAL_ID_SIZE_V3 = 32


def is_v3(version: int) -> bool:
    """True when ``version`` selects the 3.0 layouts (high nibble 3 or more)."""
    return version >> 4 >= 3


def octet(value: str, size: int, name: str = "field") -> bytes:
    """Encode ``value`` as Latin-1 for an ``Octet String(size)`` field; too long raises PduEncodeError."""
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise PduEncodeError(f"{name} {value!r} is not a byte string (Latin-1/ASCII)") from exc
    if len(raw) > size:
        raise PduEncodeError(f"{name} {value!r} is longer than {size} bytes")
    return raw


def cstr(raw: bytes) -> str:
    """Read an ``Octet String``: cut at the first NUL, decode Latin-1."""
    return raw.partition(b"\x00")[0].decode("latin-1")


_T = TypeVar("_T")


def frozen_builder(cls: type[_T]) -> Callable[..., _T]:
    """A fast positional constructor for a frozen, slotted dataclass, used by the decoders.

    A frozen dataclass's ``__init__`` sets every field through ``object.__setattr__``: for a SUBMIT that costs
    more than the wire decode itself. The decoders instead build a plain twin class with the same slots
    (same base, same slot names in the same order, so CPython allows ``__class__`` assignment between them)
    and then turn the instance into ``cls``. The result is an ordinary frozen ``cls`` instance: equality,
    hashing, repr and immutability are those of the dataclass. The twin is generated the way ``dataclasses``
    generates ``__init__``.
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    source = (
        f"class Twin(base):\n"
        f"    __slots__ = {tuple(names)!r}\n"
        f"    def __init__(self, {', '.join(names)}):\n" + "".join(f"        self.{name} = {name}\n" for name in names)
    )
    namespace: dict[str, Any] = {"base": cls.__bases__[0]}
    exec(source, namespace)  # noqa: S102 - fixed source built from the dataclass's own field names
    twin = namespace["Twin"]

    def build(*values: Any) -> _T:
        obj = twin(*values)
        obj.__class__ = cls
        return obj  # type: ignore[no-any-return]

    return build


class Pdu:
    """Base of every PDU dataclass (all frozen and slotted)."""

    __slots__ = ()
    COMMAND_ID: ClassVar[int]

    def encode_body(self, version: int) -> bytes:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> Pdu:  # pragma: no cover - overridden
        raise NotImplementedError


def _expect_len(body: bytes, sizes: tuple[int, ...], what: str) -> None:
    if len(body) not in sizes:
        raise PduLengthError(f"{what} body has {len(body)} bytes, expected {' or '.join(map(str, sizes))}")


# ====================================================================================== CONNECT
_CONNECT = struct.Struct(">6s16sBI")


@dataclass(frozen=True, slots=True)
class Connect(Pdu):
    source_addr: str
    authenticator_source: bytes
    version: int
    timestamp: int

    COMMAND_ID: ClassVar[int] = Command.CONNECT

    def encode_body(self, version: int) -> bytes:
        if len(self.authenticator_source) != 16:
            raise PduEncodeError("AuthenticatorSource must be 16 bytes")
        return _CONNECT.pack(
            octet(self.source_addr, 6, "Source_Addr"), self.authenticator_source, self.version, self.timestamp
        )

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> Connect:
        _expect_len(body, (27,), "CONNECT")
        src, auth, ver, ts = _CONNECT.unpack(body)
        return _new_connect(cstr(src), auth, ver, ts)


_CONNECT_RESP2 = struct.Struct(">B16sB")
_CONNECT_RESP3 = struct.Struct(">I16sB")


@dataclass(frozen=True, slots=True)
class ConnectResp(Pdu):
    status: int
    authenticator_ismg: bytes
    version: int

    COMMAND_ID: ClassVar[int] = Command.CONNECT_RESP

    def encode_body(self, version: int) -> bytes:
        if len(self.authenticator_ismg) != 16:
            raise PduEncodeError("AuthenticatorISMG must be 16 bytes")
        layout = _CONNECT_RESP3 if is_v3(version) else _CONNECT_RESP2
        return layout.pack(self.status, self.authenticator_ismg, self.version)

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> ConnectResp:
        # Lenient: some 2.0 gateways send the 4-byte Status, so the layout follows the length.
        _expect_len(body, (18, 21), "CONNECT_RESP")
        layout = _CONNECT_RESP3 if len(body) == 21 else _CONNECT_RESP2
        return _new_connect_resp(*layout.unpack(body))


# ====================================================================================== no-body PDUs
@dataclass(frozen=True, slots=True)
class _Empty(Pdu):
    def encode_body(self, version: int) -> bytes:
        return b""

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> _Empty:
        if body:
            raise PduLengthError(f"{cls.__name__} must have an empty body, got {len(body)} bytes")
        return cls()


@dataclass(frozen=True, slots=True)
class Terminate(_Empty):
    COMMAND_ID: ClassVar[int] = Command.TERMINATE


@dataclass(frozen=True, slots=True)
class TerminateResp(_Empty):
    COMMAND_ID: ClassVar[int] = Command.TERMINATE_RESP


@dataclass(frozen=True, slots=True)
class ActiveTest(_Empty):
    COMMAND_ID: ClassVar[int] = Command.ACTIVE_TEST


@dataclass(frozen=True, slots=True)
class ActiveTestResp(Pdu):
    reserved: int = 0

    COMMAND_ID: ClassVar[int] = Command.ACTIVE_TEST_RESP

    def encode_body(self, version: int) -> bytes:
        return bytes((self.reserved,))

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> ActiveTestResp:
        # Lenient: empty bodies (old 2.0 text) and pycmpp's 4 bytes both occur.
        if len(body) > 4:
            raise PduLengthError(f"ACTIVE_TEST_RESP body has {len(body)} bytes")
        return cls(body[0] if body else 0)


# ====================================================================================== SUBMIT
_SUBMIT_HEAD2 = struct.Struct(">QBBBB10sB21sBBB6s2s6s17s17s21sB")
_SUBMIT_HEAD3 = struct.Struct(">QBBBB10sB32sBBBB6s2s6s17s17s21sB")
MAX_DESTS = 99


def pack_submit_body(
    v3: bool,
    msg_id: int,
    pk_total: int,
    pk_number: int,
    registered_delivery: int,
    msg_level: int,
    service_id: bytes,
    fee_user_type: int,
    fee_terminal_id: bytes,
    fee_terminal_type: int,
    tp_pid: int,
    tp_udhi: int,
    msg_fmt: int,
    msg_src: bytes,
    fee_type: bytes,
    fee_code: bytes,
    valid_time: bytes,
    at_time: bytes,
    src_id: bytes,
    dests: Sequence[bytes],
    dest_terminal_type: int,
    content: bytes,
    link_id: bytes,
) -> bytes:
    """Pack a SUBMIT body from already-encoded fields (the client's hot path and :class:`Submit` share it).

    Byte fields must already fit their size; terminal numbers are padded here. Raises ``struct.error`` for
    integers out of range.
    """
    n = len(dests)
    if not 0 < n <= MAX_DESTS:
        raise PduEncodeError(f"DestUsr_tl must be 1..{MAX_DESTS}, got {n}")
    if len(content) > 255:
        raise PduEncodeError(f"Msg_Content of {len(content)} bytes does not fit Msg_Length")
    if v3:
        head = _SUBMIT_HEAD3.pack(
            msg_id,
            pk_total,
            pk_number,
            registered_delivery,
            msg_level,
            service_id,
            fee_user_type,
            fee_terminal_id,
            fee_terminal_type,
            tp_pid,
            tp_udhi,
            msg_fmt,
            msg_src,
            fee_type,
            fee_code,
            valid_time,
            at_time,
            src_id,
            n,
        )
        tail = bytes((dest_terminal_type, len(content)))
        pad, reserve = 32, 20
    else:
        head = _SUBMIT_HEAD2.pack(
            msg_id,
            pk_total,
            pk_number,
            registered_delivery,
            msg_level,
            service_id,
            fee_user_type,
            fee_terminal_id,
            tp_pid,
            tp_udhi,
            msg_fmt,
            msg_src,
            fee_type,
            fee_code,
            valid_time,
            at_time,
            src_id,
            n,
        )
        tail = bytes((len(content),))
        pad, reserve = 21, 8
    if n == 1:
        d = dests[0]
        terminals = d + b"\x00" * (pad - len(d))
    else:
        terminals = b"".join(d.ljust(pad, b"\x00") for d in dests)
    return b"".join((head, terminals, tail, content, link_id, b"\x00" * (reserve - len(link_id))))


_SUBMIT_TEXT_FIELDS = (
    ("Service_Id", 10, 10),
    ("Fee_terminal_Id", 21, 32),
    ("Msg_src", 6, 6),
    ("FeeType", 2, 2),
    ("FeeCode", 6, 6),
    ("ValId_Time", 17, 17),
    ("At_Time", 17, 17),
    ("Src_Id", 21, 21),
    ("LinkID", 8, 20),
)
_text_field_cache: dict[tuple[object, ...], tuple[bytes, ...]] = {}


def submit_text_fields(v3: bool, *values: str) -> tuple[bytes, ...]:
    """Encode (and check) a SUBMIT's nine text fields: Service_Id, Fee_terminal_Id, Msg_src, FeeType, FeeCode,
    ValId_Time, At_Time, Src_Id, LinkID (2.0 Reserve).

    A sender repeats the same service, number and fee on every message, so the result is cached (bounded).
    """
    key = (v3, *values)
    encoded = _text_field_cache.get(key)
    if encoded is None:
        encoded = tuple(
            octet(value, size3 if v3 else size2, name)
            for value, (name, size2, size3) in zip(values, _SUBMIT_TEXT_FIELDS, strict=True)
        )
        if len(_text_field_cache) >= 4096:
            _text_field_cache.clear()
        _text_field_cache[key] = encoded
    return encoded


@dataclass(frozen=True, slots=True)
class Submit(Pdu):
    """SUBMIT. ``link_id`` is the 3.0 LinkID (20 bytes) or the 2.0 Reserve (8 bytes).

    ``fee_terminal_type`` and ``dest_terminal_type`` exist in 3.0 only; 2.0 ignores them (decodes as 0).
    """

    msg_id: int = 0
    pk_total: int = 1
    pk_number: int = 1
    registered_delivery: int = 1
    msg_level: int = 0
    service_id: str = ""
    fee_user_type: int = 2
    fee_terminal_id: str = ""
    fee_terminal_type: int = 0
    tp_pid: int = 0
    tp_udhi: int = 0
    msg_fmt: int = 8
    msg_src: str = ""
    fee_type: str = "01"
    fee_code: str = "000000"
    valid_time: str = ""
    at_time: str = ""
    src_id: str = ""
    dest_terminal_ids: tuple[str, ...] = ()
    dest_terminal_type: int = 0
    msg_content: bytes = b""
    link_id: str = ""

    COMMAND_ID: ClassVar[int] = Command.SUBMIT

    def encode_body(self, version: int) -> bytes:
        v3 = version >= V30  # is_v3(), inlined on this hot path
        term = 32 if v3 else 21
        service_id, fee_terminal_id, msg_src, fee_type, fee_code, valid_time, at_time, src_id, link_id = (
            submit_text_fields(
                v3,
                self.service_id,
                self.fee_terminal_id,
                self.msg_src,
                self.fee_type,
                self.fee_code,
                self.valid_time,
                self.at_time,
                self.src_id,
                self.link_id,
            )
        )
        return pack_submit_body(
            v3,
            self.msg_id,
            self.pk_total,
            self.pk_number,
            self.registered_delivery,
            self.msg_level,
            service_id,
            self.fee_user_type,
            fee_terminal_id,
            self.fee_terminal_type,
            self.tp_pid,
            self.tp_udhi,
            self.msg_fmt,
            msg_src,
            fee_type,
            fee_code,
            valid_time,
            at_time,
            src_id,
            [octet(d, term, "Dest_terminal_Id") for d in self.dest_terminal_ids],
            self.dest_terminal_type,
            self.msg_content,
            link_id,
        )

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> Submit:
        v3 = version >= V30  # is_v3(), inlined on this hot path
        ints, spans, term = _SUBMIT_DECODE3 if v3 else _SUBMIT_DECODE2
        size = len(body)
        base = ints.size
        if size < base + 1:
            raise PduLengthError(f"SUBMIT body of {size} bytes is too short")
        values = ints.unpack_from(body)
        n = values[-1]
        off = base + n * term
        if size < off + (2 if v3 else 1):
            raise PduLengthError(f"SUBMIT body of {size} bytes is too short for {n} destinations")
        if v3:
            (msg_id, pk_total, pk_number, reg, level, fee_user_type, fee_terminal_type, tp_pid, tp_udhi, msg_fmt, _) = (
                values
            )
            dest_type = body[off]
            length = body[off + 1]
            content_at = off + 2
            expected = 151 + 32 * n + length
        else:
            msg_id, pk_total, pk_number, reg, level, fee_user_type, tp_pid, tp_udhi, msg_fmt, _ = values
            fee_terminal_type = dest_type = 0
            length = body[off]
            content_at = off + 1
            expected = 126 + 21 * n + length
        if size != expected:
            raise PduLengthError(f"SUBMIT body has {size} bytes, its fields say {expected}")
        # One Latin-1 decode of the whole body, then slices: cheaper than decoding ten fields one by one.
        t = body.decode("latin-1")
        z = "\x00"
        sv0, sv1, ft0, ft1, ms0, ms1, ty0, ty1, fc0, fc1, va0, va1, at0, at1, si0, si1 = spans
        if n == 1:
            dests: tuple[str, ...] = (t[base:off].partition(z)[0],)
        else:
            dests = tuple(t[i : i + term].partition(z)[0] for i in range(base, off, term))
        end = content_at + length
        return _new_submit(
            msg_id,
            pk_total,
            pk_number,
            reg,
            level,
            t[sv0:sv1].partition(z)[0],
            fee_user_type,
            t[ft0:ft1].partition(z)[0],
            fee_terminal_type,
            tp_pid,
            tp_udhi,
            msg_fmt,
            t[ms0:ms1].partition(z)[0],
            t[ty0:ty1].partition(z)[0],
            t[fc0:fc1].partition(z)[0],
            t[va0:va1].partition(z)[0],
            t[at0:at1].partition(z)[0],
            t[si0:si1].partition(z)[0],
            dests,
            dest_type,
            body[content_at:end],
            t[end:].partition(z)[0],
        )


# Decoding layouts: the integer fields (text fields skipped as pad bytes) and the (start, end) of each text
# field: Service_Id, Fee_terminal_Id, Msg_src, FeeType, FeeCode, ValId_Time, At_Time, Src_Id.
_SUBMIT_DECODE2 = (
    struct.Struct(">QBBBB10xB21xBBB6x2x6x17x17x21xB"),
    (12, 22, 23, 44, 47, 53, 53, 55, 55, 61, 61, 78, 78, 95, 95, 116),
    21,
)
_SUBMIT_DECODE3 = (
    struct.Struct(">QBBBB10xB32xBBBB6x2x6x17x17x21xB"),
    (12, 22, 23, 55, 59, 65, 65, 67, 67, 73, 73, 90, 90, 107, 107, 128),
    32,
)


_RESP2 = struct.Struct(">QB")
_RESP3 = struct.Struct(">QI")


@dataclass(frozen=True, slots=True)
class _MsgIdResult(Pdu):
    msg_id: int
    result: int

    def encode_body(self, version: int) -> bytes:
        return (_RESP3 if is_v3(version) else _RESP2).pack(self.msg_id, self.result)

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> _MsgIdResult:
        # Lenient: the Result width follows the body length (9 or 12), not the negotiated version.
        _expect_len(body, (9, 12), cls.__name__)
        return cls(*(_RESP3 if len(body) == 12 else _RESP2).unpack(body))


@dataclass(frozen=True, slots=True)
class SubmitResp(_MsgIdResult):
    COMMAND_ID: ClassVar[int] = Command.SUBMIT_RESP


def decode_msg_id_result(body: bytes) -> tuple[int, int]:
    """(Msg_Id, Result) of a SUBMIT_RESP/DELIVER_RESP body, either width, without building a PDU."""
    size = len(body)
    if size == 9:
        return _RESP2.unpack(body)
    if size == 12:
        return _RESP3.unpack(body)
    raise PduLengthError(f"response body has {size} bytes, expected 9 or 12")


# ====================================================================================== DELIVER
_DELIVER_HEAD2 = struct.Struct(">Q21s10sBBB21sBB")
_DELIVER_HEAD3 = struct.Struct(">Q21s10sBBB32sBBB")


@dataclass(frozen=True, slots=True)
class Deliver(Pdu):
    """DELIVER: an uplink message (``registered_delivery`` 0) or a status report (1, see :class:`StatusReport`).

    ``link_id`` is the 3.0 LinkID (20 bytes) or the 2.0 Reserved (8 bytes); ``src_terminal_type`` is 3.0 only.
    """

    msg_id: int = 0
    dest_id: str = ""
    service_id: str = ""
    tp_pid: int = 0
    tp_udhi: int = 0
    msg_fmt: int = 0
    src_terminal_id: str = ""
    src_terminal_type: int = 0
    registered_delivery: int = 0
    msg_content: bytes = b""
    link_id: str = ""

    COMMAND_ID: ClassVar[int] = Command.DELIVER

    @property
    def is_report(self) -> bool:
        return self.registered_delivery == REGISTERED_DELIVERY_REPORT

    def encode_body(self, version: int) -> bytes:
        if len(self.msg_content) > 255:
            raise PduEncodeError(f"Msg_Content of {len(self.msg_content)} bytes does not fit Msg_Length")
        dest_id = octet(self.dest_id, 21, "Dest_Id")
        service_id = octet(self.service_id, 10, "Service_Id")
        if is_v3(version):
            head = _DELIVER_HEAD3.pack(
                self.msg_id,
                dest_id,
                service_id,
                self.tp_pid,
                self.tp_udhi,
                self.msg_fmt,
                octet(self.src_terminal_id, 32, "Src_terminal_Id"),
                self.src_terminal_type,
                self.registered_delivery,
                len(self.msg_content),
            )
            link = octet(self.link_id, 20, "LinkID").ljust(20, b"\x00")
        else:
            head = _DELIVER_HEAD2.pack(
                self.msg_id,
                dest_id,
                service_id,
                self.tp_pid,
                self.tp_udhi,
                self.msg_fmt,
                octet(self.src_terminal_id, 21, "Src_terminal_Id"),
                self.registered_delivery,
                len(self.msg_content),
            )
            link = octet(self.link_id, 8, "Reserved").ljust(8, b"\x00")
        return b"".join((head, self.msg_content, link))

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> Deliver:
        v3 = version >= V30  # is_v3(), inlined on this hot path
        size = len(body)
        if v3:
            if size < 77:
                raise PduLengthError(f"DELIVER body of {size} bytes is too short")
            msg_id, tp_pid, tp_udhi, fmt, src_type, reg, length = _DELIVER_INTS3.unpack_from(body)
            src_end, start = 74, 77
        else:
            if size < 65:
                raise PduLengthError(f"DELIVER body of {size} bytes is too short")
            msg_id, tp_pid, tp_udhi, fmt, reg, length = _DELIVER_INTS2.unpack_from(body)
            src_type, src_end, start = 0, 63, 65
        end = start + length
        if size != end + (20 if v3 else 8):
            raise PduLengthError(f"DELIVER body has {size} bytes, its fields say {end + (20 if v3 else 8)}")
        t = body.decode("latin-1")  # one decode, then slices (as in Submit.decode_body)
        z = "\x00"
        return _new_deliver(
            msg_id,
            t[8:29].partition(z)[0],
            t[29:39].partition(z)[0],
            tp_pid,
            tp_udhi,
            fmt,
            t[42:src_end].partition(z)[0],
            src_type,
            reg,
            body[start:end],
            t[end:].partition(z)[0],
        )


_DELIVER_INTS2 = struct.Struct(">Q21x10xBBB21xBB")
_DELIVER_INTS3 = struct.Struct(">Q21x10xBBB32xBBB")


@dataclass(frozen=True, slots=True)
class DeliverResp(_MsgIdResult):
    COMMAND_ID: ClassVar[int] = Command.DELIVER_RESP


_REPORT2 = struct.Struct(">Q7s10s10s21sI")
_REPORT3 = struct.Struct(">Q7s10s10s32sI")


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The Msg_Content of a status-report DELIVER (60 bytes in 2.0, 71 in 3.0)."""

    msg_id: int
    stat: str
    submit_time: str
    done_time: str
    dest_terminal_id: str
    smsc_sequence: int

    def encode(self, version: int) -> bytes:
        v3 = is_v3(version)
        return (_REPORT3 if v3 else _REPORT2).pack(
            self.msg_id,
            octet(self.stat, 7, "Stat"),
            octet(self.submit_time, 10, "Submit_time"),
            octet(self.done_time, 10, "Done_time"),
            octet(self.dest_terminal_id, 32 if v3 else 21, "Dest"),
            self.smsc_sequence,
        )

    @classmethod
    def decode(cls, content: bytes) -> StatusReport:
        """Lenient: the layout follows the length (60 or 71), whatever the session's version."""
        size = len(content)
        if size == 60:
            msg_id, smsc_seq = _REPORT_INTS2.unpack(content)
        elif size == 71:
            msg_id, smsc_seq = _REPORT_INTS3.unpack(content)
        else:
            raise PduLengthError(f"status report of {size} bytes, expected 60 or 71")
        t = content.decode("latin-1")
        z = "\x00"
        return _new_report(
            msg_id,
            t[8:15].partition(z)[0],
            t[15:25].partition(z)[0],
            t[25:35].partition(z)[0],
            t[35 : size - 4].partition(z)[0],
            smsc_seq,
        )


_REPORT_INTS2 = struct.Struct(">Q7x10x10x21xI")
_REPORT_INTS3 = struct.Struct(">Q7x10x10x32xI")


# ====================================================================================== QUERY / CANCEL
_QUERY = struct.Struct(">8sB10s8s")
_QUERY_RESP = struct.Struct(">8sB10s8I")


@dataclass(frozen=True, slots=True)
class Query(Pdu):
    time: str
    query_type: int = 0
    query_code: str = ""
    reserve: str = ""

    COMMAND_ID: ClassVar[int] = Command.QUERY

    def encode_body(self, version: int) -> bytes:
        return _QUERY.pack(
            octet(self.time, 8, "Time"),
            self.query_type,
            octet(self.query_code, 10, "Query_Code"),
            octet(self.reserve, 8, "Reserve"),
        )

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> Query:
        _expect_len(body, (27,), "QUERY")
        time, qtype, code, reserve = _QUERY.unpack(body)
        return cls(cstr(time), qtype, cstr(code), cstr(reserve))


@dataclass(frozen=True, slots=True)
class QueryResp(Pdu):
    time: str
    query_type: int = 0
    query_code: str = ""
    mt_tl_msg: int = 0
    mt_tl_usr: int = 0
    mt_scs: int = 0
    mt_wt: int = 0
    mt_fl: int = 0
    mo_scs: int = 0
    mo_wt: int = 0
    mo_fl: int = 0

    COMMAND_ID: ClassVar[int] = Command.QUERY_RESP

    def encode_body(self, version: int) -> bytes:
        return _QUERY_RESP.pack(
            octet(self.time, 8, "Time"),
            self.query_type,
            octet(self.query_code, 10, "Query_Code"),
            self.mt_tl_msg,
            self.mt_tl_usr,
            self.mt_scs,
            self.mt_wt,
            self.mt_fl,
            self.mo_scs,
            self.mo_wt,
            self.mo_fl,
        )

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> QueryResp:
        _expect_len(body, (51,), "QUERY_RESP")
        time, qtype, code, *counters = _QUERY_RESP.unpack(body)
        return cls(cstr(time), qtype, cstr(code), *counters)


_CANCEL = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class Cancel(Pdu):
    msg_id: int

    COMMAND_ID: ClassVar[int] = Command.CANCEL

    def encode_body(self, version: int) -> bytes:
        return _CANCEL.pack(self.msg_id)

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> Cancel:
        _expect_len(body, (8,), "CANCEL")
        return cls(*_CANCEL.unpack(body))


@dataclass(frozen=True, slots=True)
class CancelResp(Pdu):
    """CANCEL_RESP. Success_Id is 1 byte in 2.0 and 4 in 3.0 (docs/cmpp-protocol.md section 13: read either)."""

    success_id: int

    COMMAND_ID: ClassVar[int] = Command.CANCEL_RESP

    def encode_body(self, version: int) -> bytes:
        return struct.pack(">I" if is_v3(version) else ">B", self.success_id)

    @classmethod
    def decode_body(cls, body: bytes, version: int) -> CancelResp:
        _expect_len(body, (1, 4), "CANCEL_RESP")
        return cls(int.from_bytes(body, "big"))


# ====================================================================================== registry, frames
_new_connect = frozen_builder(Connect)
_new_connect_resp = frozen_builder(ConnectResp)
_new_submit = frozen_builder(Submit)
_new_deliver = frozen_builder(Deliver)
_new_report = frozen_builder(StatusReport)

PDU_CLASSES: dict[int, type[Pdu]] = {
    cls.COMMAND_ID: cls
    for cls in (
        Connect,
        ConnectResp,
        Terminate,
        TerminateResp,
        Submit,
        SubmitResp,
        Deliver,
        DeliverResp,
        Query,
        QueryResp,
        Cancel,
        CancelResp,
        ActiveTest,
        ActiveTestResp,
    )
}


def encode_frame(pdu: Pdu, sequence_id: int, version: int) -> bytes:
    """A complete packet (12-byte header + body) for ``pdu`` in the layout of ``version``."""
    try:
        body = pdu.encode_body(version)
        return HEADER.pack(HEADER_SIZE + len(body), pdu.COMMAND_ID, sequence_id) + body
    except (struct.error, OverflowError, TypeError) as exc:
        raise PduEncodeError(f"cannot encode {type(pdu).__name__}: {exc}") from exc


def decode_body(command_id: int, body: bytes, version: int) -> Pdu:
    """Decode a body of the given Command_Id; raises UnknownCommand or PduDecodeError."""
    cls = PDU_CLASSES.get(command_id)
    if cls is None:
        raise UnknownCommand(command_id)
    try:
        return cls.decode_body(body if type(body) is bytes else bytes(body), version)
    except (struct.error, IndexError) as exc:
        raise PduDecodeError(f"malformed {cls.__name__}: {exc}") from exc


def decode_frame(frame: bytes, version: int) -> tuple[int, Pdu]:
    """(Sequence_Id, PDU) of one complete packet; the Total_Length must equal ``len(frame)``."""
    if len(frame) < HEADER_SIZE:
        raise PduDecodeError(f"packet of {len(frame)} bytes is shorter than the header")
    length, command_id, seq = HEADER.unpack_from(frame)
    if length != len(frame):
        raise PduDecodeError(f"Total_Length {length} but the packet has {len(frame)} bytes")
    return seq, decode_body(command_id, frame[HEADER_SIZE:], version)
