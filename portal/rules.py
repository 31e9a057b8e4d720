"""Pure figures for the dashboard: fees at the unit price and the forecast of the contract total."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sms_contract.money import round_fen


def fee_fen(units: int, unit_price: Decimal) -> int:
    """Units × unit price (yuan) in fen, rounded half up once: 3 units at 0.03 → 9 fen."""
    return round_fen(Decimal(units) * unit_price * 100)


@dataclass(frozen=True)
class Forecast:
    consumed_fen: int
    total_fen: int
    remaining_fen: int
    percent: Decimal  # consumed / total × 100, two decimals
    daily_pace_fen: Decimal  # average over the recent window
    reached_on: date | None  # None: no traffic in the window (cannot forecast), or not within the term …
    already_reached: bool  # … or the total is already used up
    beyond_term: bool = False  # at this pace the total is not reached before ``term_end``
    term_end: date | None = None  # the last day of service the forecast is capped at


def forecast_total_reached(
    *,
    consumed_fen: int,
    total_fen: int,
    recent_fen: int,
    recent_days: int,
    today: date,
    term_end: date | None = None,
) -> Forecast:
    """When the contract total is used up if the recent pace (``recent_fen`` over ``recent_days``) goes on.

    The forecast is the first day on which cumulative consumption reaches the total: with ``r`` fen left
    and a pace ``p`` fen a day, after ``ceil(r / p)`` more days counted from tomorrow.

    The forecast is capped at ``term_end`` (the last day of the service term): a day after it is no
    forecast at all, so the result says ``beyond_term`` instead of giving a date. Without a term end the
    cap is the last representable date, so a tiny pace never overflows the calendar.
    """
    if total_fen <= 0:
        raise ValueError("total_fen must be positive")
    remaining = max(total_fen - consumed_fen, 0)
    percent = (Decimal(consumed_fen) * 100 / Decimal(total_fen)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    pace = (Decimal(recent_fen) / recent_days).quantize(Decimal("0.01")) if recent_days > 0 else Decimal(0)
    if remaining == 0:
        return Forecast(consumed_fen, total_fen, 0, percent, pace, today, True)
    if recent_fen <= 0 or recent_days <= 0:
        return Forecast(consumed_fen, total_fen, remaining, percent, pace, None, False)
    days = -(-remaining * recent_days // recent_fen)  # ceil without floats
    cap = term_end if term_end is not None else date.max
    if days > (cap - today).days:
        return Forecast(consumed_fen, total_fen, remaining, percent, pace, None, False, True, term_end)
    return Forecast(
        consumed_fen, total_fen, remaining, percent, pace, today + timedelta(days=days), False, False, term_end
    )


def rate_percent(part: int, whole: int) -> Decimal | None:
    """part / whole as a percentage with two decimals; None without a whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
