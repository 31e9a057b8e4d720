"""Masking of personal data (clause 8.1): phone numbers show as 139****5678.

`display_mobile` is what pages, exports and API answers for people use: the full
number only for a user with the `contracts.view_full_mobile` permission.
"""

import re
import unicodedata
from urllib.parse import unquote

from sms_contract.textnorm import fold_digits

_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86|0086)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")

FULL_MOBILE_PERMISSION = "contracts.view_full_mobile"


def mask_mobile(mobile: str) -> str:
    """Keep the first three and last four digits: ``13912345678`` -> ``139****5678``."""
    digits = mobile.strip()
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def _mask(text: str) -> str:
    return _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def mask_mobiles_in_text(text: str) -> str:
    """Every mainland mobile in a text masked, also one typed in full-width or other Unicode digits or
    percent-encoded in a URL (`/optouts/1%EF%BC%93%EF%BC%98…/`): such a text is shown decoded and folded
    (NFKC, ASCII digits) when that reveals a number to mask."""
    masked = _mask(text)
    if text.isascii() and "%" not in text:
        return masked

    decoded = fold_digits(unquote(text, errors="replace") if "%" in text else text)
    decoded = "".join(ch for ch in decoded if unicodedata.category(ch) != "Cf")
    masked_decoded = _mask(decoded)
    return masked_decoded if masked_decoded != decoded else masked


def can_see_full_mobile(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(FULL_MOBILE_PERMISSION))


def display_mobile(mobile: str, user) -> str:
    return mobile if can_see_full_mobile(user) else mask_mobile(mobile)
