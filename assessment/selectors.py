"""Reads in the assessment app. `assessment_outcome` is the one billing uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F, Q, QuerySet

from assessment import rules
from assessment.models import Assessment, Complaint, FaultTicket, SlaBreach
from assessment.rules import Clock, ClockState, Suggestion, TicketLimits
from contracts.selectors import contract_list_for_user
from gateway import selectors as gateway_selectors

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class AssessmentOutcome:
    assessment_id: int
    total: int
    payment_ratio: Decimal
    scores: dict[str, int]
    signed: bool


def assessment_outcome(*, contract_id: int, year: int, month: int) -> AssessmentOutcome | None:
    """The month's assessment for billing (None when there is none yet); `signed` is False for drafts
    (including a signed assessment that was revised and awaits signing again)."""
    assessment = Assessment.objects.filter(contract_id=contract_id, year=year, month=month).first()
    if assessment is None:
        return None
    return AssessmentOutcome(
        assessment_id=assessment.pk,
        total=assessment.total,
        payment_ratio=Decimal(assessment.payment_ratio),
        scores={code: int(score) for code, score in assessment.scores.items()},
        signed=assessment.state in (Assessment.State.SIGNED, Assessment.State.LOCKED),
    )


def assessment_get(*, contract_id: int, year: int, month: int) -> Assessment | None:
    return (
        Assessment.objects.select_related("contract", "contract__purchaser", "contract__supplier", "signed_by")
        .filter(contract_id=contract_id, year=year, month=month)
        .first()
    )


def assessment_sheet_ids(*, ids) -> set[int]:
    """Of these assessment ids, those with a signed sheet to download (signed or locked, not a draft)."""
    ids = [i for i in ids if i is not None]
    if not ids:
        return set()
    return set(Assessment.objects.filter(pk__in=ids).exclude(state=Assessment.State.DRAFT).values_list("pk", flat=True))


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in Asia/Shanghai, as aware datetimes."""
    start = datetime(year, month, 1, tzinfo=SHANGHAI)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def parse_period(period: str) -> tuple[int, int]:
    """``"2025-10"`` → (2025, 10); ValueError otherwise."""
    parsed = date.fromisoformat(f"{period}-01") if len(period) == 7 else None
    if parsed is None:
        raise ValueError("期间格式应为 YYYY-MM。")
    return parsed.year, parsed.month


# --- clocks ----------------------------------------------------------------------------------------


def ticket_limits() -> TicketLimits:
    return TicketLimits(
        response=timedelta(minutes=settings.ASSESSMENT_RESPONSE_MINUTES),
        on_site=timedelta(minutes=settings.ASSESSMENT_ON_SITE_MINUTES),
        recovery_minor=timedelta(minutes=settings.ASSESSMENT_RECOVERY_MINOR_MINUTES),
        recovery_severe=timedelta(minutes=settings.ASSESSMENT_RECOVERY_SEVERE_MINUTES),
    )


def fault_ticket_clocks(ticket: FaultTicket, *, limits: TicketLimits | None = None) -> tuple[Clock, ...]:
    return rules.ticket_clocks(
        severity=ticket.severity,
        reported_at=ticket.reported_at,
        responded_at=ticket.responded_at,
        on_site_at=ticket.on_site_at,
        recovered_at=ticket.recovered_at,
        limits=limits or ticket_limits(),
    )


def complaint_clocks(complaint: Complaint) -> tuple[Clock, ...]:
    return rules.complaint_clocks(
        received_by=complaint.received_by,
        responsible_side=complaint.responsible_side,
        received_at=complaint.received_at,
        passed_at=complaint.passed_at,
        first_reply_at=complaint.first_reply_at,
        contact_limit=timedelta(minutes=settings.ASSESSMENT_COMPLAINT_CONTACT_MINUTES),
        reply_limit=timedelta(minutes=settings.ASSESSMENT_COMPLAINT_REPLY_MINUTES),
    )


@dataclass(frozen=True)
class ClockView:
    """A clock with its state at `now`, for pages, the admin and the PDF."""

    code: str
    label: str
    deadline: datetime
    done_at: datetime | None
    state: ClockState
    duty: str

    @property
    def state_label(self) -> str:
        return rules.CLOCK_STATE_LABELS[self.state]


def clock_views(clocks: tuple[Clock, ...], *, now: datetime) -> list[ClockView]:
    return [ClockView(c.code, c.label, c.deadline, c.done_at, c.state(now), c.duty) for c in clocks]


def fault_ticket_list_for_month(*, contract_id: int, year: int, month: int) -> QuerySet[FaultTicket]:
    start, end = month_bounds(year, month)
    return FaultTicket.objects.filter(contract_id=contract_id, reported_at__gte=start, reported_at__lt=end).order_by(
        "reported_at"
    )


def complaint_list_for_month(*, contract_id: int, year: int, month: int) -> QuerySet[Complaint]:
    start, end = month_bounds(year, month)
    return Complaint.objects.filter(contract_id=contract_id, received_at__gte=start, received_at__lt=end).order_by(
        "received_at"
    )


def complaint_overdue_q(*, now: datetime) -> Q:
    """Complaints with a clock past its deadline and the step still not done."""
    contact = timedelta(minutes=settings.ASSESSMENT_COMPLAINT_CONTACT_MINUTES)
    reply = timedelta(minutes=settings.ASSESSMENT_COMPLAINT_REPLY_MINUTES)
    contact_late = Q(passed_at__isnull=True, received_at__lt=now - contact) & ~Q(responsible_side=F("received_by"))
    reply_late = Q(received_by="carrier", passed_at__lt=now - reply, first_reply_at__isnull=True)
    return contact_late | reply_late


def complaint_list_overdue(*, now: datetime, contract_id: int | None = None) -> QuerySet[Complaint]:
    qs = Complaint.objects.filter(complaint_overdue_q(now=now))
    if contract_id is not None:
        qs = qs.filter(contract_id=contract_id)
    return qs.order_by("received_at")


def complaint_list_open(*, contract_id: int | None = None) -> QuerySet[Complaint]:
    """Complaints not yet resolved, oldest first."""
    qs = Complaint.objects.filter(resolved_at__isnull=True).order_by("received_at")
    return qs if contract_id is None else qs.filter(contract_id=contract_id)


def sla_breach_list_unread() -> QuerySet[SlaBreach]:
    """Breach notices nobody has marked as read yet, newest first (for the admin index or a dashboard)."""
    return SlaBreach.objects.filter(acknowledged_at__isnull=True).select_related("ticket", "complaint")


def fault_ticket_list_open(*, contract_id: int | None = None) -> QuerySet[FaultTicket]:
    qs = FaultTicket.objects.filter(recovered_at__isnull=True)
    return qs if contract_id is None else qs.filter(contract_id=contract_id)


# --- suggestions and evidence -------------------------------------------------------------------


def assessment_suggestions(
    *, contract_id: int, year: int, month: int, now: datetime, part_max: dict[str, int]
) -> dict[str, Suggestion]:
    """Suggested scores for part 3 (from the month's tickets) and parts 2.1/2.2 (from its complaints).

    Only breached clocks count: a running clock may still be met. See docs/adr/0020.
    """
    suggestions: dict[str, Suggestion] = {}
    limits = ticket_limits()
    if "emergency" in part_max:
        breached = [
            (str(t), c.label)
            for t in fault_ticket_list_for_month(contract_id=contract_id, year=year, month=month)
            for c in fault_ticket_clocks(t, limits=limits)
            if c.state(now) == ClockState.BREACHED
        ]
        suggestions["emergency"] = rules.suggest_score(
            max_score=part_max["emergency"],
            deductions=rules.emergency_deductions(
                breached=breached, per_breach=settings.ASSESSMENT_EMERGENCY_BREACH_DEDUCTION
            ),
        )
    complaints = list(complaint_list_for_month(contract_id=contract_id, year=year, month=month))
    for code in (Complaint.Part.OPS_TIMELINESS, Complaint.Part.OPS_COMPLIANCE):
        if code not in part_max:
            continue
        mine = [c for c in complaints if c.assessment_part == code]
        suggestions[code] = rules.suggest_score(
            max_score=part_max[code],
            deductions=rules.complaint_deductions(
                carrier_faults=[str(c) for c in mine if c.responsible_side == Complaint.Responsibility.CARRIER],
                carrier_breaches=[
                    (str(c), clock.label)
                    for c in mine
                    for clock in complaint_clocks(c)
                    if clock.duty == "carrier" and clock.state(now) == ClockState.BREACHED
                ],
                per_fault=settings.ASSESSMENT_COMPLAINT_FAULT_DEDUCTION,
                per_breach=settings.ASSESSMENT_COMPLAINT_BREACH_DEDUCTION,
            ),
        )
    return suggestions


EVIDENCE_LABELS = {
    "messages_sent": "发送条数",
    "delivery_rate": "送达率",
    "refused_share": "运营商拒收占比",
    "seconds_below_two_healthy_nodes": "健康节点少于两个的时长",
}


def _format_evidence(key: str, value) -> str:
    if value is None or value == "":
        return "—"
    if key == "messages_sent":
        return f"{int(value):,}"
    if key in ("delivery_rate", "refused_share"):
        return f"{(Decimal(str(value)) * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"
    if key == "seconds_below_two_healthy_nodes":
        seconds = int(value)
        return f"{seconds // 3600}小时{seconds % 3600 // 60}分{seconds % 60}秒"
    return str(value)


@dataclass(frozen=True)
class Evidence:
    gateway: list[tuple[str, str]]  # (label, formatted value or "—")
    tickets: list[tuple[FaultTicket, list[ClockView]]]
    complaints: list[tuple[Complaint, list[ClockView]]]


def assessment_evidence(*, contract_id: int, year: int, month: int, now: datetime) -> Evidence:
    """The month's evidence beside the form: the gateway's figures, tickets and complaints with their clocks."""

    raw = gateway_selectors.month_evidence(contract_id=contract_id, year=year, month=month) or {}
    limits = ticket_limits()
    return Evidence(
        gateway=[(label, _format_evidence(key, raw.get(key))) for key, label in EVIDENCE_LABELS.items()],
        tickets=[
            (t, clock_views(fault_ticket_clocks(t, limits=limits), now=now))
            for t in fault_ticket_list_for_month(contract_id=contract_id, year=year, month=month)
        ],
        complaints=[
            (c, clock_views(complaint_clocks(c), now=now))
            for c in complaint_list_for_month(contract_id=contract_id, year=year, month=month)
        ],
    )


def fault_tickets_for_user(*, user) -> QuerySet[FaultTicket]:
    """The fault tickets of the contracts `user` may see (the carrier's portal)."""
    return FaultTicket.objects.filter(contract__in=contract_list_for_user(user=user))


def complaints_for_user(*, user) -> QuerySet[Complaint]:
    """The complaints of the contracts `user` may see (the carrier's portal)."""
    return Complaint.objects.filter(contract__in=contract_list_for_user(user=user))
