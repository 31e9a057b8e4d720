"""Annex 3 and clause 4.4 as pure functions: scores, bands, totals, SLA clocks and suggested scores.

No ORM, no settings, no clock: the scheme (`Part`, `RatioBand` from the contract's data), the SLA
limits and `now` are passed in.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from contracts.scheme import Part, RatioBand, band_for_score, ratio_for_total

BAND_LABELS = {"full": "完全满足", "minor": "轻微不足", "serious": "严重不足", "not_met": "基本不满足"}


# --- scores --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreSheet:
    """A checked set of part scores with what follows from them."""

    scores: dict[str, int]
    bands: dict[str, str]
    total: int
    payment_ratio: Decimal


class ScoreErrors(ValueError):
    """Bad scores or reasons; `errors` maps a field name to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def score_errors(parts: Iterable[Part], raw: Mapping[str, object]) -> dict[str, list[str]]:
    """Field → messages for every part score that is missing, not a whole number or out of range."""
    errors: dict[str, list[str]] = {}
    for part in parts:
        if part.code not in raw or raw[part.code] is None:
            errors[part.code] = [f"请填写得分（0-{part.max} 的整数）。"]
            continue
        value = raw[part.code]
        if isinstance(value, bool) or not isinstance(value, int):
            errors[part.code] = [f"得分必须是整数（0-{part.max}）。"]
        elif not 0 <= value <= part.max:
            errors[part.code] = [f"得分必须在 0-{part.max} 之间。"]
    return errors


def reason_errors(parts: Iterable[Part], scores: Mapping[str, int], reasons: Mapping[str, str]) -> dict[str, list[str]]:
    """A score below full needs a written reason (key `reasons.<code>`)."""
    return {
        f"reasons.{part.code}": [f"得分低于满分（{part.max}）时须填写扣分理由。"]
        for part in parts
        if scores.get(part.code, part.max) < part.max and not (reasons.get(part.code) or "").strip()
    }


def total_score(scores: Mapping[str, int]) -> int:
    return sum(scores.values())


def score_sheet(parts: tuple[Part, ...], ratio_bands: tuple[RatioBand, ...], raw: Mapping[str, object]) -> ScoreSheet:
    """Check the part scores against the scheme and derive bands, total and payment ratio.

    Raises `ScoreErrors` naming each bad field; nothing else is derived then.
    """
    errors = score_errors(parts, raw)
    if errors:
        raise ScoreErrors(errors)
    scores = {part.code: int(raw[part.code]) for part in parts}  # type: ignore[call-overload]
    bands = {part.code: band_for_score(part, scores[part.code]) for part in parts}
    total = total_score(scores)
    return ScoreSheet(scores=scores, bands=bands, total=total, payment_ratio=ratio_for_total(total, ratio_bands))


# --- SLA clocks ----------------------------------------------------------------------------------


class ClockState(enum.StrEnum):
    RUNNING = "running"
    MET = "met"
    BREACHED = "breached"


CLOCK_STATE_LABELS = {ClockState.RUNNING: "计时中", ClockState.MET: "达标", ClockState.BREACHED: "超时"}


@dataclass(frozen=True)
class Clock:
    """One SLA clock: started at `start`, must be done within `limit`; `done_at` when it was done."""

    code: str
    label: str
    start: datetime
    limit: timedelta
    done_at: datetime | None
    duty: str = "carrier"  # the side whose duty it is (fault tickets are always the carrier's)

    @property
    def deadline(self) -> datetime:
        return self.start + self.limit

    def state(self, now: datetime) -> ClockState:
        return clock_state(start=self.start, limit=self.limit, done_at=self.done_at, now=now)


def clock_state(*, start: datetime, limit: timedelta, done_at: datetime | None, now: datetime) -> ClockState:
    """Met when done by start+limit (inclusive), breached when done later or still open past it."""
    deadline = start + limit
    if done_at is not None:
        return ClockState.MET if done_at <= deadline else ClockState.BREACHED
    return ClockState.BREACHED if now > deadline else ClockState.RUNNING


@dataclass(frozen=True)
class TicketLimits:
    """Annex 3 part 3: response at once (a setting), on site within 2 h, recovery 4 h minor / 24 h severe."""

    response: timedelta
    on_site: timedelta
    recovery_minor: timedelta
    recovery_severe: timedelta


def _first(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def ticket_clocks(
    *,
    severity: str,
    reported_at: datetime,
    responded_at: datetime | None,
    on_site_at: datetime | None,
    recovered_at: datetime | None,
    limits: TicketLimits,
) -> tuple[Clock, ...]:
    """The three clocks of a fault ticket, all running from the report.

    A later step implies the earlier ones: recovery counts as arrival and response, arrival as response.
    """
    recovery = limits.recovery_severe if severity == "severe" else limits.recovery_minor
    return (
        Clock("response", "响应", reported_at, limits.response, _first(responded_at, on_site_at, recovered_at)),
        Clock("on_site", "到场", reported_at, limits.on_site, _first(on_site_at, recovered_at)),
        Clock("recovery", "恢复", reported_at, recovery, recovered_at),
    )


def complaint_clocks(
    *,
    received_by: str,
    responsible_side: str,
    received_at: datetime,
    passed_at: datetime | None,
    first_reply_at: datetime | None,
    contact_limit: timedelta,
    reply_limit: timedelta,
) -> tuple[Clock, ...]:
    """The one-hour clocks of clause 4.4 that apply to a complaint.

    - contact (4.4.2, 4.4.3): the receiving side thinks the problem is the other side's, or cannot tell,
      so it contacts the other side (`passed_at`) within the limit of receiving it;
    - first reply (4.4.1): a complaint the carrier passed to the purchaser gets a first reply within the
      limit of being passed.
    """
    clocks = []
    if responsible_side != received_by:
        clocks.append(Clock("contact", "联系对方", received_at, contact_limit, passed_at, received_by))
    if received_by == "carrier" and passed_at is not None:
        clocks.append(Clock("first_reply", "初步回复", passed_at, reply_limit, first_reply_at, "police"))
    return tuple(clocks)


# --- suggested scores ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    score: int
    basis: str


def suggest_score(*, max_score: int, deductions: Iterable[tuple[int, str]]) -> Suggestion:
    """Full marks less each deduction, floored at zero; the basis lists what was deducted and why."""
    items = [(points, why) for points, why in deductions if points > 0]
    score = max(0, max_score - sum(points for points, _ in items))
    basis = "；".join(f"{why}（扣{points}分）" for points, why in items) if items else "本月无扣分事项。"
    return Suggestion(score=score, basis=basis)


def emergency_deductions(*, breached: Iterable[tuple[str, str]], per_breach: int) -> list[tuple[int, str]]:
    """Part 3: `per_breach` points for every breached ticket clock; `breached` holds (ticket label, clock label)."""
    return [(per_breach, f"{ticket}{clock}超时") for ticket, clock in breached]


def complaint_deductions(
    *, carrier_faults: Iterable[str], carrier_breaches: Iterable[tuple[str, str]], per_fault: int, per_breach: int
) -> list[tuple[int, str]]:
    """Parts 2.1/2.2: points for every complaint found to be the carrier's fault and every clock the carrier broke."""
    return [(per_fault, f"{c}属乙方责任") for c in carrier_faults] + [
        (per_breach, f"{c}{clock}超时") for c, clock in carrier_breaches
    ]
