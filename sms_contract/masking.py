"""Masking of personal data (clause 8.1): phone numbers show as 139****5678.

`display_mobile` is what pages, exports and API answers for people use: the full
number only for a user with the `contracts.view_full_mobile` permission.
"""

import re

_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")

FULL_MOBILE_PERMISSION = "contracts.view_full_mobile"


def mask_mobile(mobile: str) -> str:
    """Keep the first three and last four digits: ``13912345678`` -> ``139****5678``."""
    digits = mobile.strip()
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_mobiles_in_text(text: str) -> str:
    return _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def can_see_full_mobile(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(FULL_MOBILE_PERMISSION))


def display_mobile(mobile: str, user) -> str:
    return mobile if can_see_full_mobile(user) else mask_mobile(mobile)
