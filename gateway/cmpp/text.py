"""Message text in the CMPP Msg_Fmt encodings, and the SMPP 3.3 time format of ValId_Time / At_Time."""

from __future__ import annotations

from datetime import datetime

from gateway.cmpp.errors import TextDecodeError, TextEncodeError

__all__ = ["FMT_ASCII", "FMT_BINARY", "FMT_GBK", "FMT_UCS2", "decode_text", "encode_text", "smpp_time"]

FMT_ASCII = 0
FMT_WRITE_CARD = 3
FMT_BINARY = 4
FMT_UCS2 = 8
FMT_GBK = 15

_CODECS = {FMT_ASCII: "ascii", FMT_UCS2: "utf-16-be", FMT_GBK: "gbk"}


def encode_text(text: str, msg_fmt: int) -> bytes:
    """Encode text for Msg_Fmt 0 (ASCII), 8 (UCS2, UTF-16BE: characters outside the BMP become a surrogate
    pair) or 15 (GBK); anything not representable raises TextEncodeError."""
    codec = _CODECS.get(msg_fmt)
    if codec is None:
        raise TextEncodeError(f"Msg_Fmt {msg_fmt} carries no text")
    try:
        return text.encode(codec)
    except UnicodeEncodeError as exc:
        raise TextEncodeError(f"text cannot be encoded in Msg_Fmt {msg_fmt}: {exc.reason}") from exc


def decode_text(content: bytes, msg_fmt: int, errors: str = "strict") -> str:
    """Decode Msg_Content. Strict by default (TextDecodeError on bad bytes); ``errors="replace"`` never fails.

    Msg_Fmt 3 and 4 (and unknown values) are binary: strict decoding refuses them, lenient decoding maps
    bytes 1:1 (Latin-1) so nothing is lost.
    """
    codec = _CODECS.get(msg_fmt)
    if codec is None:
        if errors == "strict":
            raise TextDecodeError(f"Msg_Fmt {msg_fmt} is not a text format")
        return content.decode("latin-1")
    try:
        return content.decode(codec, errors)
    except UnicodeDecodeError as exc:
        raise TextDecodeError(f"Msg_Content is not valid for Msg_Fmt {msg_fmt}: {exc.reason}") from exc


def smpp_time(value: datetime | None) -> str:
    """``YYMMDDhhmmsstnnp`` (absolute SMPP 3.3 time) for ValId_Time / At_Time; "" for None.

    A naive datetime is taken as the process's local time. ``t`` is tenths of a second, ``nn`` the distance
    from UTC in quarter hours and ``p`` its sign.
    """
    if value is None:
        return ""
    aware = value.astimezone() if value.tzinfo is None else value
    offset = aware.utcoffset()
    quarters = int(offset.total_seconds() // 900) if offset is not None else 0
    sign = "+" if quarters >= 0 else "-"
    return f"{aware:%y%m%d%H%M%S}{aware.microsecond // 100000}{abs(quarters):02d}{sign}"
