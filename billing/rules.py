"""Billing rules of the contract as pure functions: no ORM, no settings, no clock.

Money is integer fen; yuan prices and ratios are `Decimal`. Every monthly computation is exact
and rounded once, half up, at its end (5.3, `docs/adr/0002-money-in-fen.md`).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from contracts.rules import billing_units as billing_units  # the contract's counting rule (5.3 note 1), re-exported
from sms_contract.money import FEN_PER_YUAN, round_fen


@dataclass(frozen=True)
class MonthlyFee:
    """One month's settlement figures, all in fen.

    `payable_fen` is gross × ratio. Of it, `billable_fen` fits within the contract total and is settled;
    `held_fen` (beyond the total) is held and flagged, never billed. `billable_fen` is first offset
    against the prepayment (`prepayment_applied_fen`); the rest is `net_due_fen`.
    """

    gross_fen: int
    payable_fen: int
    billable_fen: int
    held_fen: int
    prepayment_applied_fen: int
    prepayment_balance_fen: int
    net_due_fen: int
    cumulative_payable_fen: int
    contract_remaining_fen: int


def monthly_fee(
    *,
    units: int,
    unit_price: Decimal,
    ratio: Decimal,
    prepayment_balance_fen: int,
    cumulative_payable_fen: int,
    total_amount_fen: int,
) -> MonthlyFee:
    """The month's fee (5.3, Annex 3).

    `prepayment_balance_fen` and `cumulative_payable_fen` are the figures before this month.
    gross = units × unit price; payable = gross × ratio, rounded half up once at the end; what would take
    the cumulative payable beyond the contract total is held; the prepayment is used first, never below 0.
    """
    if units < 0:
        raise ValueError("units cannot be negative.")
    if not Decimal(0) <= ratio <= Decimal(1):
        raise ValueError("The payment ratio must lie between 0 and 1.")
    if prepayment_balance_fen < 0 or cumulative_payable_fen < 0 or total_amount_fen <= 0:
        raise ValueError("Balances cannot be negative and the contract total must be positive.")
    gross_exact = Decimal(units) * unit_price * FEN_PER_YUAN
    gross_fen = round_fen(gross_exact)
    payable_fen = round_fen(gross_exact * ratio)
    room_fen = max(0, total_amount_fen - cumulative_payable_fen)
    billable_fen = min(payable_fen, room_fen)
    applied_fen = min(billable_fen, prepayment_balance_fen)
    cumulative_fen = cumulative_payable_fen + billable_fen
    return MonthlyFee(
        gross_fen=gross_fen,
        payable_fen=payable_fen,
        billable_fen=billable_fen,
        held_fen=payable_fen - billable_fen,
        prepayment_applied_fen=applied_fen,
        prepayment_balance_fen=prepayment_balance_fen - applied_fen,
        net_due_fen=billable_fen - applied_fen,
        cumulative_payable_fen=cumulative_fen,
        contract_remaining_fen=max(0, total_amount_fen - cumulative_fen),
    )


class CalendarNotCovered(LookupError):
    """The working-day calendar has no entry for a date: never guess whether a day is a working day."""

    def __init__(self, day: date):
        super().__init__(f"The working-day calendar does not cover {day.isoformat()} (year {day.year}).")
        self.day = day


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def months_to_close(*, first: date, last: date, closed: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The months from `first`'s month to `last`'s month, oldest first, that have no statement yet (`closed`).
    The daily close runs this with `last` = the last finished month, so a month it missed (worker down on the
    1st, retries used up) is closed on a later day instead of never."""
    done = set(closed)
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        if (year, month) not in done:
            out.append((year, month))
        year, month = next_month(year, month)
    return out


def bill_due_date(year: int, month: int, working_days: Mapping[date, bool], due_day: int = 15) -> date:
    """When the carrier's bill for (year, month) is due (5.3 note 2): the `due_day` of the next month,
    or the next working day when that day is not one. `working_days` maps each date to whether it is a
    working day by the official calendar (weekends and holidays off, make-up days on); a date it lacks
    raises `CalendarNotCovered`.
    """
    y, m = next_month(year, month)
    day = date(y, m, due_day)
    for _ in range(366):
        if day not in working_days:
            raise CalendarNotCovered(day)
        if working_days[day]:
            return day
        day += timedelta(days=1)
    raise CalendarNotCovered(day)  # pragma: no cover - a year without working days


@dataclass(frozen=True)
class Debt:
    """An outstanding amount: `key` identifies it (e.g. a statement id)."""

    key: int
    due_on: date
    outstanding_fen: int


@dataclass(frozen=True)
class Allocation:
    """How a payment settles debts. `lines` are (key, fen) oldest first; what is left over when every debt is
    settled stays with the payment as `unallocated_fen` (a credit for the next amount that falls due)."""

    lines: tuple[tuple[int, int], ...]
    unallocated_fen: int


def allocate_payment(amount_fen: int, debts: Iterable[Debt]) -> Allocation:
    """Settle the oldest due debt first until the payment is used up (5.5); ties by key."""
    if amount_fen < 0:
        raise ValueError("A payment cannot be negative.")
    left = amount_fen
    lines: list[tuple[int, int]] = []
    for debt in sorted(debts, key=lambda d: (d.due_on, d.key)):
        if left == 0:
            break
        if debt.outstanding_fen <= 0:
            continue
        part = min(left, debt.outstanding_fen)
        lines.append((debt.key, part))
        left -= part
    return Allocation(lines=tuple(lines), unallocated_fen=left)


def late_fee_fen(*, outstanding_fen: int, due_on: date, today: date, daily_rate: Decimal) -> int:
    """Late fee (9.1): outstanding × daily rate × whole days past due, rounded half up once.
    The contract sets no rate, so the contract's rate defaults to 0 and the fee is 0."""
    days = (today - due_on).days
    if days <= 0 or outstanding_fen <= 0 or daily_rate <= 0:
        return 0
    return round_fen(Decimal(outstanding_fen) * daily_rate * days)


AGEING_BUCKETS = ("0-30", "31-60", "61-90", ">90")


def ageing_bucket(*, due_on: date, today: date) -> str | None:
    """The arrears bucket by days past due; None when not yet due."""
    days = (today - due_on).days
    if days < 0:
        return None
    if days <= 30:
        return "0-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return ">90"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (2025-01-31 + 1 -> 2025-02-28)."""
    index = day.year * 12 + day.month - 1 + months
    y, m = divmod(index, 12)
    m += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(y, m, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def statement_number(*, contract_number: str, year: int, month: int, sequence: int) -> str:
    """Readable unique statement number: JS-<YYYYMM>-<last segment of the contract number>-<NN>.
    `sequence` 1 is the month's statement; 2, 3… its adjustment statements."""
    tail = contract_number.rsplit("-", 1)[-1]
    return f"JS-{year:04d}{month:02d}-{tail}-{sequence:02d}"


def percent_difference(ours: int, theirs: int) -> Decimal | None:
    """(theirs − ours) / ours in percent with two decimals; None when we have nothing to compare against."""
    if ours == 0:
        return None
    return (Decimal(theirs - ours) * 100 / Decimal(ours)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def merge_daily_units(gateway: Mapping[date, int], imported: Mapping[date, int]) -> dict[date, int]:
    """Our daily figures: an imported day replaces the gateway's figure for that day (ADR 0010)."""
    merged = dict(gateway)
    merged.update(imported)
    return dict(sorted(merged.items()))


def month_days(year: int, month: int) -> Sequence[date]:
    y, m = next_month(year, month)
    last = date(y, m, 1) - timedelta(days=1)
    return [date(year, month, d) for d in range(1, last.day + 1)]
