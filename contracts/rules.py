"""Lifecycle arithmetic of the contract (12.1, 12.2, 4.5, 7.2) and formal notices (13.8).

Pure functions over dates and datetimes: no ORM, no settings, no clock (`today` is passed in).

Conventions (docs/adr/0050-contract-lifecycle-dates.md):

- A term counts the activation day as its first day ("自业务开通之日起计算"), so a 12-month term
  that starts on 2025-09-15 ends on 2026-09-14 inclusive: end = start + 12 months − 1 day.
- Term n starts at activation + n × service months, always computed from the activation date, so
  a month-end activation does not drift: 2024-02-29 → terms start 2025-02-28, 2026-02-28,
  2027-02-28, 2028-02-29. A day that does not exist in the target month becomes that month's last day.
- "届满前九十日" (12.2): a non-renewal notice is in time when it is delivered on or before
  term end − 90 days (the renewal decision deadline).
- 4.5: stopping the service needs 90 days' written notice: the earliest stop date is the delivery
  date + 90 days. The clause binds 甲方 only ("除乙方根据本合同约定终止本合同以外"): a termination
  notice from 乙方 gives no 4.5 date (contracts.selectors.contract_lifecycle passes 甲方's notices only).
- 7.2: confidentiality lasts through the service and ends 2 years after the service's last day
  (same calendar day two years later, clamped to the month's end).
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sms_contract.money import round_fen


def share_of_total_fen(total_amount_fen: int, rate: Decimal) -> int:
    """A share of the contract total in fen, rounded half up once: the prepayment (5.3, 10%) and the
    performance bond (5.2, 10%) of 1,440,000.00 are each 144,000.00."""
    return round_fen(total_amount_fen * rate)


def billing_units(text: str, unit_chars: int = 70) -> int:
    """Billing units of one message (5.3 note 1; the gateway counts them at intake, billing re-exports it):
    `unit_chars` characters, signature included, make one
    unit; each started further block is one more. Every character counts as one, full-width or not.

    This is the contract's counting rule, independent of the 67-character CMPP wire segments.
    """
    if unit_chars <= 0:
        raise ValueError("unit_chars must be positive.")
    return -(-len(text) // unit_chars)


class NoticeKind(StrEnum):
    """13.8.1: kinds (1)–(4) must be written letters; "other" may use any method."""

    FEES = "fees"
    BREACH = "breach"
    TERMINATION = "termination"
    RENEWAL = "renewal"
    OTHER = "other"


class NoticeMethod(StrEnum):
    REGISTERED_LETTER = "registered_letter"
    COURIER = "courier"
    FAX = "fax"
    EMAIL = "email"


LETTER_ONLY_KINDS = frozenset({NoticeKind.FEES, NoticeKind.BREACH, NoticeKind.TERMINATION, NoticeKind.RENEWAL})
LETTER_METHODS = frozenset({NoticeMethod.REGISTERED_LETTER, NoticeMethod.COURIER})


# --- Dates -------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months``; a day missing in the target month becomes its last day."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(month_index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


@dataclass(frozen=True)
class Term:
    """One service term: ``index`` 0 is the first year, 1 the first renewal, and so on."""

    index: int
    start: date
    end: date  # inclusive: the last day of service in this term


def term(activated_on: date, service_months: int, index: int) -> Term:
    """Term ``index`` (0-based) of a contract activated on ``activated_on``."""
    if index < 0:
        raise ValueError("term index must be >= 0")
    if service_months <= 0:
        raise ValueError("service_months must be positive")
    start = add_months(activated_on, index * service_months)
    end = add_months(activated_on, (index + 1) * service_months) - timedelta(days=1)
    return Term(index=index, start=start, end=end)


def term_on(activated_on: date, service_months: int, today: date) -> Term:
    """The term that contains ``today`` (the first term when ``today`` is before activation)."""
    if today < activated_on:
        return term(activated_on, service_months, 0)
    months = (today.year - activated_on.year) * 12 + today.month - activated_on.month
    index = max(months // service_months - 1, 0)
    current = term(activated_on, service_months, index)
    while current.end < today:
        current = term(activated_on, service_months, current.index + 1)
    return current


def renewal_decision_deadline(term_end: date, notice_days: int) -> date:
    """12.2: the last day on which a non-renewal notice may be delivered for this term to end."""
    return term_end - timedelta(days=notice_days)


def term_ended_by_non_renewal(activated_on: date, service_months: int, notice_days: int, delivered_on: date) -> Term:
    """12.2: the term at whose end a non-renewal notice delivered on ``delivered_on`` stops the service.

    A notice delivered after a term's deadline is late for that term and takes effect at the end of
    the next one.
    """
    current = term_on(activated_on, service_months, delivered_on)
    if delivered_on > renewal_decision_deadline(current.end, notice_days):
        current = term(activated_on, service_months, current.index + 1)
    return current


def earliest_stop_date(delivered_on: date, notice_days: int) -> date:
    """4.5: the purchaser may stop the service no earlier than ``notice_days`` after the notice is delivered."""
    return delivered_on + timedelta(days=notice_days)


def confidentiality_end(service_end: date, years: int) -> date:
    """7.2: the last day of the confidentiality duty, ``years`` after the service's last day."""
    return add_months(service_end, years * 12)


@dataclass(frozen=True)
class Lifecycle:
    """Where a contract stands on ``today``; None where a date is not known yet."""

    activated_on: date | None
    current_term: Term | None
    renewal_deadline: date | None  # of the current term
    renews: bool  # will the current term be followed by another?
    service_end: date | None  # the known last day of service; None while it keeps renewing
    earliest_stop: date | None  # 4.5, after a termination notice
    confidentiality_end: date | None
    days_to_renewal_deadline: int | None
    days_to_term_end: int | None


def lifecycle(
    *,
    activated_on: date | None,
    service_months: int,
    auto_renew: bool,
    renewal_notice_days: int,
    termination_notice_days: int,
    confidentiality_years: int,
    today: date,
    non_renewal_delivered_on: date | None = None,
    termination_delivered_on: date | None = None,
    terminated_on: date | None = None,
) -> Lifecycle:
    """Compute every lifecycle date of a contract from its figures and the delivered notices."""
    earliest_stop = (
        earliest_stop_date(termination_delivered_on, termination_notice_days) if termination_delivered_on else None
    )
    if activated_on is None:
        return Lifecycle(None, None, None, auto_renew, terminated_on, earliest_stop, None, None, None)

    current = term_on(activated_on, service_months, today)
    candidates = []
    if terminated_on is not None:
        candidates.append(terminated_on)
    if not auto_renew:
        candidates.append(term(activated_on, service_months, 0).end)
    if non_renewal_delivered_on is not None:
        candidates.append(
            term_ended_by_non_renewal(activated_on, service_months, renewal_notice_days, non_renewal_delivered_on).end
        )
    service_end = min(candidates) if candidates else None
    if service_end is not None and service_end < current.start:
        current = term_on(activated_on, service_months, service_end)
    deadline = renewal_decision_deadline(current.end, renewal_notice_days)
    renews = service_end is None or service_end > current.end
    return Lifecycle(
        activated_on=activated_on,
        current_term=current,
        renewal_deadline=deadline,
        renews=renews,
        service_end=service_end,
        earliest_stop=earliest_stop,
        confidentiality_end=confidentiality_end(service_end, confidentiality_years) if service_end else None,
        days_to_renewal_deadline=(deadline - today).days,
        days_to_term_end=(current.end - today).days,
    )


# --- Formal notices (13.8) ----------------------------------------------------------------------


def notice_method_allowed(kind: str, method: str) -> bool:
    """13.8.1: notices about fees/payment, breach, termination/change and renewal must be letters."""
    return NoticeKind(kind) not in LETTER_ONLY_KINDS or NoticeMethod(method) in LETTER_METHODS


def notice_delivered_at(
    *,
    method: str,
    sent_at: datetime | None,
    received_at: datetime | None,
    failed_by_recipient: bool = False,
) -> datetime | None:
    """13.8.2: when a notice counts as delivered; None while it is not delivered yet.

    - registered letter / courier: the recipient's signature time per the post or courier record;
    - fax: arrival at the recipient's fax system; e-mail: arrival in the recipient's mailbox
      (all three are ``received_at``);
    - refused, or failed through the recipient's fault (fax off, mailbox full…): the sending time.
    """
    NoticeMethod(method)  # refuse unknown methods
    if failed_by_recipient:
        return sent_at
    return received_at


# --- Reminders before deadlines -----------------------------------------------------------------


def reminder_offset_due(deadline: date, today: date, offsets: tuple[int, ...]) -> int | None:
    """The reminder to send today for ``deadline``: the smallest offset (days before) already reached.

    With offsets (30, 7, 1): 30 days before → 30; 20 days before → 30 still (it is recorded once, so
    it is not sent again); 7 days before → 7; on the day itself → 1; after the deadline → None.
    A run missed for a while sends only the most urgent reminder, not every one it skipped.
    """
    days_left = (deadline - today).days
    if days_left < 0:
        return None
    reached = [d for d in offsets if days_left <= d]
    return min(reached) if reached else None
