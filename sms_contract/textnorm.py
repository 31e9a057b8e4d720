"""One normalisation for what people type (8.1, 3.1.3, 3.1.16, 4.3): mobile numbers and content shadows.

Pure functions, no Django. Every place a mobile number enters the system (the intake API, the opt-out API and
its URL path, carrier bills, admin forms, uplinks) goes through `mobile_normalize` (strict: a mainland mobile)
or `mobile_digits` (lenient: digits as the carrier wrote them); every content check (forbidden words, links,
foreign signatures) looks at a `content_shadow` of the text while the text stored and sent stays what the
client wrote.

- Mobiles: NFKC (full-width `１３８` -> `138`), any other Unicode decimal digit to ASCII, separators (spaces,
  dashes, dots, brackets, zero-width and other format characters) dropped, `+86` / `0086` / `86` removed.
- Shadows: NFKC (`ＶＰＮ` -> `VPN`, `https：//` -> `https://`, `ｗｗｗ．` -> `www.`), format characters
  (category Cf: U+200B, U+00AD, U+FEFF, U+2060 ...) removed, whitespace folded to one space (`folded`) or
  removed altogether (`compact`, for words split by a space or a newline: `请开发 票`).
- Characters that can disguise a text are refused outright, never normalised away: C0/C1 controls (U+0085
  included) and the bidirectional overrides and isolates (U+202A-202E, U+2066-2069).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

# C0 controls except tab, LF and CR; DEL; C1 controls (U+0080-009F, NEL U+0085 among them).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidirectional embeddings, overrides and isolates: they reorder what the reader sees (U+202E "RLO").
BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
DISGUISING_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_WHITESPACE = re.compile(r"\s+")


# Every format character (category Cf: zero-width space and joiners, soft hyphen, BOM, word joiner, bidi marks,
# tag characters ...), as one character class: removing them is a single C-level pass.
def _format_char_class() -> str:
    ranges: list[list[int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) == "Cf":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]"


_FORMAT_CHARS = re.compile(_format_char_class())
# What may separate the digits of a typed number: whitespace, dashes of every kind, dots, brackets.
_MOBILE_SEPARATORS = frozenset(" \t\r\n-‐‑‒–—―−.()（）")


class InvalidMobile(ValueError):
    """Not a mainland mobile number; `detail` says why in Chinese (shown to the caller)."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def _is_format(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf"


def fold_digits(text: str) -> str:
    """NFKC, then every remaining Unicode decimal digit (Arabic-Indic, Devanagari, ...) as its ASCII digit."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch for ch in text)


def mobile_digits(raw: object) -> str:
    """The digits of a typed number with separators, format characters and a `+86` / `0086` / `86` prefix (on
    a 13- or 15-digit number) removed; raises InvalidMobile if anything but digits is left. Lenient on length:
    carrier bills may hold other numbers."""
    if not isinstance(raw, str):
        raise InvalidMobile("手机号码必须是字符串。")
    text = raw
    if not (len(text) == 11 and text.isascii() and text.isdigit()):  # the common case stays fast
        if len(text) > 64:
            raise InvalidMobile("手机号码过长。")
        text = "".join(ch for ch in _FORMAT_CHARS.sub("", fold_digits(text)) if ch not in _MOBILE_SEPARATORS)
        if text.startswith("+"):
            text = text[1:]
        if not (text.isascii() and text.isdigit()):
            raise InvalidMobile(f"手机号码只能包含数字：{str(raw)[:20]!r}。")
        if len(text) == 15 and text.startswith("0086"):
            text = text[4:]
        elif len(text) == 13 and text.startswith("86"):
            text = text[2:]
    return text


@lru_cache(maxsize=65536)
def _cn_mobile_prefix_valid(prefix7: str) -> bool:
    # phonenumbers' CN mobile patterns decide on at most the first five digits (the rest is \d{6,8}), so the
    # answer for a 7-digit prefix holds for all 10,000 numbers under it; caching keeps batches fast.
    number = phonenumbers.parse(prefix7 + "0000", "CN")
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def mobile_normalize(raw: object) -> str:
    """A mainland mobile number as its 11 ASCII digits (validated with `phonenumbers`), or InvalidMobile."""
    digits = mobile_digits(raw)
    if len(digits) != 11 or not digits.startswith("1") or not _cn_mobile_prefix_valid(digits[:7]):
        raise InvalidMobile("不是有效的中国大陆手机号码（11 位）。")
    return digits


@dataclass(frozen=True)
class Shadow:
    """What the content checks read. `folded`: NFKC, format characters gone, whitespace runs as one space,
    casefolded. `compact`: the same without any whitespace."""

    folded: str
    compact: str


@lru_cache(maxsize=4096)
def content_shadow(text: str) -> Shadow:
    normal = text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)
    if normal.isprintable():  # no format characters and no whitespace but " " (a C-level check; the usual case)
        folded = (_WHITESPACE.sub(" ", normal) if "  " in normal else normal).strip(" ").casefold()
    else:
        folded = _WHITESPACE.sub(" ", _FORMAT_CHARS.sub("", normal)).strip().casefold()
    return Shadow(folded=folded, compact=folded.replace(" ", ""))


def shadow_word(word: str) -> str:
    """A forbidden word as the compact shadow holds it (so `ＶＰＮ` in the list matches `vpn` in a text)."""
    return content_shadow(word).compact


def disguising_chars(text: str) -> list[str]:
    """The control and bidi characters in `text`, as `U+XXXX` (for the refusal's detail)."""
    return sorted({f"U+{ord(ch):04X}" for ch in DISGUISING_CHARS.findall(text)})
