"""Pure rules of the sender: no ORM, no settings, no clock."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sms_contract import textnorm

SHANGHAI = ZoneInfo("Asia/Shanghai")
DELIVERED_STAT = "DELIVRD"
OPT_OUT_WORDS = frozenset({"TD", "T", "退订"})


def is_opt_out(text: str) -> bool:
    """Uplink TD, T or 退订 (any case, surrounding spaces) opts the subscriber out (4.3)."""
    return text.strip().upper() in OPT_OUT_WORDS


def counting_day(moment: datetime) -> date:
    """The day (Asia/Shanghai) a moment counts for in the daily counts."""
    return moment.astimezone(SHANGHAI).date()


def message_outcome(stats: list[str], expected_segments: int) -> tuple[str, str] | None:
    """The final status of a submitted message from its segments' report codes ("" = no report yet).

    ("failed", code) as soon as one segment reports anything but DELIVRD; ("delivered", "DELIVRD") once every
    one of the `expected_segments` segments reported DELIVRD; None while reports are still missing.
    """
    for stat in stats:
        if stat and stat != DELIVERED_STAT:
            return "failed", stat
    delivered = sum(1 for stat in stats if stat == DELIVERED_STAT)
    if delivered >= expected_segments > 0:
        return "delivered", DELIVERED_STAT
    return None


def normalise_mobile(number: str) -> str:
    """An uplink source number as we store mobiles (sms_contract.textnorm): ASCII digits without +86 / 86 /
    0086; a source that is not a number at all is kept as sent (trimmed)."""
    try:
        return textnorm.mobile_digits(number.strip())
    except textnorm.InvalidMobile:
        return number.strip()


def refusal_stat(result: int) -> str:
    """The stat we record for a message the carrier refused at submit time (SUBMIT_RESP result)."""
    return f"RESP:{result}"
