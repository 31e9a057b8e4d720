"""CONNECT / CONNECT_RESP authenticators (docs/cmpp-protocol.md section 3). Pure: the timestamp is passed in."""

from __future__ import annotations

import hashlib
import hmac
import struct
import time

from gateway.cmpp.pdu import octet

__all__ = [
    "authenticator_ismg",
    "authenticator_source",
    "timestamp_from_struct",
    "timestamp_text",
    "verify_authenticator_ismg",
]


def timestamp_from_struct(t: time.struct_time) -> int:
    """The CONNECT Timestamp (MMDDHHMMSS as a decimal integer) of a local time."""
    return (((t.tm_mon * 100 + t.tm_mday) * 100 + t.tm_hour) * 100 + t.tm_min) * 100 + t.tm_sec


def timestamp_text(timestamp: int) -> str:
    """The 10-character, zero-padded form that goes into the MD5 (January has only 9 digits)."""
    if not 0 <= timestamp <= 1231235959:
        raise ValueError(f"timestamp {timestamp} is not an MMDDHHMMSS value")
    return f"{timestamp:010d}"


def authenticator_source(sp_id: str, secret: str, timestamp: int) -> bytes:
    """MD5(Source_Addr(6) + 9 x NUL + secret + timestamp text)."""
    raw = octet(sp_id, 6, "Source_Addr").ljust(6, b"\x00")
    data = raw + b"\x00" * 9 + secret.encode() + timestamp_text(timestamp).encode()
    return hashlib.md5(data).digest()  # noqa: S324 - MD5 is what the protocol prescribes


def authenticator_ismg(status: int, auth_source: bytes, secret: str, status_width: int) -> bytes:
    """MD5(Status in its wire width (1 byte in 2.0, 4 in 3.0) + AuthenticatorSource + secret)."""
    status_raw = struct.pack(">I" if status_width == 4 else ">B", status)
    return hashlib.md5(status_raw + auth_source + secret.encode()).digest()  # noqa: S324 - protocol


def verify_authenticator_ismg(received: bytes, status: int, auth_source: bytes, secret: str) -> bool:
    """True when ``received`` matches the 1-byte-Status or the 4-byte-Status form (gateways differ)."""
    return any(
        hmac.compare_digest(received, authenticator_ismg(status, auth_source, secret, width)) for width in (1, 4)
    )
