"""Writes in the assessment app. Billing calls `assessment_lock`; the sender `fault_ticket_open_automatic`;
the carrier portal `fault_ticket_respond/arrive/recover` and `complaint_reply/pass/resolve`."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from assessment import rules, selectors
from assessment.models import Assessment, AssessmentVersion, Complaint, FaultTicket, SlaBreach
from assessment.rules import ClockState
from contracts.models import Contract
from contracts.selectors import contract_terms
from ops.services import task_enqueue
from sms_contract.exceptions import ApplicationError

logger = logging.getLogger(__name__)

SIGN_PERMISSION = "assessment.sign_assessment"
# The worker task that mails one breach notice (assessment.tasks), queued by name.
NOTIFY_TASK = "assessment.tasks.sla_breach_notify_task"
RETRY_FOR = timedelta(days=1)  # how long the sweep keeps retrying a breach notice that could not be mailed
Step = TypeVar("Step", FaultTicket, Complaint)  # a ticket or a complaint, kept by the shared step functions


# --- monthly assessment --------------------------------------------------------------------------


def _field_error(field: str, message: str) -> ApplicationError:
    """A 400 naming the field, shaped like the API's validation errors."""
    return ApplicationError("invalid", message, extra={"errors": {field: [message]}})


def _locked_error(assessment: Assessment) -> ApplicationError:
    return ApplicationError(
        "assessment_locked", f"{assessment.period} 的考核已用于已开具的结算单，不能再修改。", status_code=409
    )


@dataclass(frozen=True)
class PreparedSheet:
    """Scores checked against the contract's scheme, with what follows from them (nothing written yet)."""

    sheet: rules.ScoreSheet
    reasons: dict[str, str]
    suggestions: dict[str, rules.Suggestion]


def assessment_prepare(
    *,
    contract: Contract,
    year: int,
    month: int,
    scores: Mapping[str, object],
    reasons: Mapping[str, str] | None = None,
    change_reason: str = "",
    now: datetime | None = None,
) -> PreparedSheet:
    """Check a sheet before it is recorded (the admin form uses this to show errors beside the fields).

    Raises ApplicationError with `errors` keyed by field: part codes, `reasons.<code>`, `change_reason`.
    """
    now = now or timezone.now()
    if not 1 <= month <= 12:
        raise _field_error("period", "月份应为 1-12。")
    terms = contract_terms(contract)
    existing = Assessment.objects.filter(contract=contract, year=year, month=month).first()
    if existing is not None and existing.state == Assessment.State.LOCKED:
        raise _locked_error(existing)
    try:
        sheet = rules.score_sheet(terms.parts, terms.ratio_bands, scores)
    except rules.ScoreErrors as exc:
        raise ApplicationError("invalid", "考核得分有误。", extra={"errors": exc.errors}) from exc

    part_max = {p.code: p.max for p in terms.parts}
    suggestions = selectors.assessment_suggestions(
        contract_id=contract.pk, year=year, month=month, now=now, part_max=part_max
    )
    given = {code: str(text or "").strip() for code, text in (reasons or {}).items() if code in sheet.scores}
    for code, suggestion in suggestions.items():
        if not given.get(code) and sheet.scores[code] == suggestion.score < part_max[code]:
            given[code] = suggestion.basis  # confirming the suggestion: its basis is the reason
    given = {code: text for code, text in given.items() if text}
    errors = rules.reason_errors(terms.parts, sheet.scores, given)
    for code, s in suggestions.items():
        if sheet.scores[code] != s.score and not given.get(code):
            errors.setdefault(f"reasons.{code}", [f"与系统建议分（{s.score}）不同，须填写理由。"])
    if errors:
        raise ApplicationError("invalid", "得分低于满分或未采纳建议分的部分须填写理由。", extra={"errors": errors})
    if existing is not None and existing.state == Assessment.State.SIGNED and not change_reason.strip():
        raise ApplicationError(
            "change_reason_required",
            "已签署的考核只能以新版本修订，须填写修订理由。",
            extra={"errors": {"change_reason": ["修订已签署的考核须填写理由。"]}},
        )
    return PreparedSheet(sheet=sheet, reasons=given, suggestions=suggestions)


@transaction.atomic
def assessment_record(
    *,
    contract: Contract,
    year: int,
    month: int,
    scores: Mapping[str, object],
    reasons: Mapping[str, str] | None = None,
    remarks: str = "",
    change_reason: str = "",
    by=None,
    now: datetime | None = None,
) -> Assessment:
    """Create or change the month's assessment.

    Scores are checked against the contract's Annex 3 scheme; a part below full needs a reason (a
    confirmed suggestion brings its basis as the reason; overriding a suggestion needs one too). A
    signed assessment changes only as a new version with `change_reason` and must be signed again;
    a locked one never changes.
    """
    now = now or timezone.now()
    assessment = Assessment.objects.select_for_update().filter(contract=contract, year=year, month=month).first()
    prepared = assessment_prepare(
        contract=contract, year=year, month=month, scores=scores, reasons=reasons, change_reason=change_reason, now=now
    )
    sheet, given, suggestions = prepared.sheet, prepared.reasons, prepared.suggestions
    revising = assessment is not None and assessment.state == Assessment.State.SIGNED
    if assessment is None:
        assessment = Assessment(contract=contract, year=year, month=month)
    elif revising:
        AssessmentVersion.objects.filter(assessment=assessment, version=assessment.version).update(superseded_at=now)
        assessment.version += 1
        assessment.state = Assessment.State.DRAFT
        assessment.signed_by = None
        assessment.signed_at = None
        assessment.change_reason = change_reason.strip()
    assessment.scores = sheet.scores
    assessment.reasons = given
    assessment.remarks = remarks
    assessment.total = sheet.total
    assessment.payment_ratio = sheet.payment_ratio
    assessment.suggestions = {code: {"score": s.score, "basis": s.basis} for code, s in suggestions.items()}
    assessment.overridden = [code for code, s in suggestions.items() if sheet.scores[code] != s.score]
    assessment.recorded_by = by
    if revising:
        assessment._change_reason = change_reason.strip()  # type: ignore[attr-defined]  # simple_history reads it
    assessment.save()
    return assessment


@transaction.atomic
def assessment_sign(*, assessment: Assessment, by, now: datetime | None = None) -> Assessment:
    """Police staff sign the current version: who and when are recorded and the version is frozen."""
    if not by.has_perm(SIGN_PERMISSION):
        raise ApplicationError("permission_denied", "只有甲方考核人员可以签署考核。", status_code=403)
    assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if assessment.state == Assessment.State.LOCKED:
        raise _locked_error(assessment)
    if assessment.state == Assessment.State.SIGNED:
        raise ApplicationError(
            "already_signed", f"{assessment.period} 的考核第 {assessment.version} 版已签署。", status_code=409
        )
    assessment.state = Assessment.State.SIGNED
    assessment.signed_by = by
    assessment.signed_at = now or timezone.now()
    assessment.save()
    AssessmentVersion.objects.create(
        assessment=assessment,
        version=assessment.version,
        scores=assessment.scores,
        reasons=assessment.reasons,
        remarks=assessment.remarks,
        total=assessment.total,
        payment_ratio=assessment.payment_ratio,
        change_reason=assessment.change_reason,
        signed_by=by,
        signed_at=assessment.signed_at,
    )
    return assessment


@transaction.atomic
def assessment_lock(*, assessment_id: int) -> None:
    """Lock an assessment once an issued statement uses it (billing calls this). Idempotent; a draft
    cannot be locked."""
    assessment = Assessment.objects.select_for_update().get(pk=assessment_id)
    if assessment.state == Assessment.State.LOCKED:
        return
    if assessment.state != Assessment.State.SIGNED:
        raise ApplicationError(
            "assessment_not_signed", f"{assessment.period} 的考核尚未签署，不能用于结算单。", status_code=409
        )
    assessment.state = Assessment.State.LOCKED
    assessment.locked_at = timezone.now()
    assessment.save(update_fields=["state", "locked_at", "updated_at"])


TICKET_STEPS = {"responded_at": "响应时间", "on_site_at": "到达现场时间", "recovered_at": "恢复时间"}
COMPLAINT_STEPS = {"passed_at": "联系/转交对方时间", "first_reply_at": "初步回复时间", "resolved_at": "解决时间"}
TICKET_EDITABLE = frozenset(
    {"contract", "reported_at", "reported_by", "severity", "description", "cause", "solution", *TICKET_STEPS}
)
COMPLAINT_EDITABLE = frozenset(
    {"contract", "received_at", "received_by", "channel", "complainant_mobile", "subject", "responsible_side"}
    | {"assessment_part", "outcome", *COMPLAINT_STEPS}
)


def _check_moment(at: datetime, *, after: datetime, field: str, label: str, now: datetime) -> None:
    if at < after:
        raise _field_error(field, f"{label}不能早于报修/受理时间。")
    if at > now + timedelta(minutes=5):
        raise _field_error(field, f"{label}不能晚于当前时间。")


def _check_steps(labels: Mapping[str, str], times: Mapping[str, datetime | None], *, after: datetime, now: datetime):
    """Each step time given (response, on site, …) lies between the opening and now."""
    for field, label in labels.items():
        at = times.get(field)
        if at is not None:
            _check_moment(at, after=after, field=field, label=label, now=now)


def _full_clean(obj: FaultTicket | Complaint) -> None:
    try:
        obj.full_clean(exclude=["contract"])
    except ValidationError as exc:
        raise ApplicationError(
            "invalid", f"{obj._meta.verbose_name}信息有误。", extra={"errors": exc.message_dict}
        ) from exc


def _record_step(obj: Step, field: str, label: str, at: datetime | None, *, opened: str, **extra: str) -> Step:
    """Record one step of a ticket or complaint once (response, arrival, recovery; pass, reply, resolution):
    locked, not before the opening nor after now, extra non-empty fields set with it, then its clocks checked."""
    now = timezone.now()
    obj = type(obj).objects.select_for_update().get(pk=obj.pk)
    if getattr(obj, field) is not None:
        raise ApplicationError("already_recorded", f"{obj}的{label}已记录。", status_code=409)
    at = at or now
    _check_moment(at, after=getattr(obj, opened), field=field, label=label, now=now)
    setattr(obj, field, at)
    for name, value in extra.items():
        if value:
            setattr(obj, name, value)
    _full_clean(obj)
    obj.save()
    _sla_check(obj, now=now)
    return obj


def _sla_check(obj: FaultTicket | Complaint, *, now: datetime) -> list[SlaBreach]:
    if isinstance(obj, FaultTicket):
        return sla_check_ticket(ticket=obj, now=now)
    return sla_check_complaint(complaint=obj, now=now)


def _edit(
    obj: Step, fields: Mapping[str, object], editable: frozenset[str], check: Callable[[Step, datetime], None]
) -> Step:
    """An admin's correction of a ticket or complaint: the same checks as opening it, then its clocks."""
    unknown = set(fields) - editable
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    now = timezone.now()
    obj = type(obj).objects.select_for_update().get(pk=obj.pk)
    for name, value in fields.items():
        setattr(obj, name, value.strip() if isinstance(value, str) else value)
    check(obj, now)
    _full_clean(obj)
    obj.save()
    _sla_check(obj, now=now)
    return obj


# --- fault tickets -------------------------------------------------------------------------------


def fault_ticket_check(
    *, severity: str, description: str, reported_at: datetime, now: datetime | None = None, **times: datetime | None
) -> None:
    """Would a ticket with these values be accepted? (Opening and admin edits alike; raises ApplicationError.)"""
    if severity not in FaultTicket.Severity.values:
        raise ApplicationError(
            "invalid", "故障级别应为 minor 或 severe。", extra={"errors": {"severity": ["无效的故障级别。"]}}
        )
    if not description.strip():
        raise _field_error("description", "请填写故障描述。")
    _check_steps(TICKET_STEPS, times, after=reported_at, now=now or timezone.now())


@transaction.atomic
def fault_ticket_open(
    *,
    contract: Contract,
    reported_at: datetime,
    reported_by: str,
    severity: str,
    description: str,
    source: str = FaultTicket.Source.MANUAL,
    responded_at: datetime | None = None,
    on_site_at: datetime | None = None,
    recovered_at: datetime | None = None,
    cause: str = "",
    solution: str = "",
) -> FaultTicket:
    """Open a ticket. A ticket registered after the fact may bring the times already known (response, on site,
    recovery), so its clocks are judged on them and not breached merely because it was written down late."""
    now = timezone.now()
    times = {"responded_at": responded_at, "on_site_at": on_site_at, "recovered_at": recovered_at}
    fault_ticket_check(severity=severity, description=description, reported_at=reported_at, now=now, **times)
    ticket = FaultTicket.objects.create(
        contract=contract,
        reported_at=reported_at,
        reported_by=reported_by,
        severity=severity,
        description=description.strip(),
        source=source,
        cause=cause.strip(),
        solution=solution.strip(),
        **times,
    )
    sla_check_ticket(ticket=ticket, now=now)
    return ticket


@transaction.atomic
def fault_ticket_update(*, ticket: FaultTicket, **fields: object) -> FaultTicket:
    """Correct a ticket (the admin): any of `TICKET_EDITABLE`, checked as when opening it, then its clocks."""

    def check(t: FaultTicket, now: datetime) -> None:
        times = {f: getattr(t, f) for f in TICKET_STEPS}
        fault_ticket_check(severity=t.severity, description=t.description, reported_at=t.reported_at, now=now, **times)

    return _edit(ticket, fields, TICKET_EDITABLE, check)


def _default_contract() -> Contract:
    contract = Contract.objects.filter(terminated_on__isnull=True).order_by("-signed_on", "pk").first()
    if contract is None:
        raise ApplicationError("no_contract", "没有可关联故障单的有效合同。", status_code=409)
    return contract


@transaction.atomic
def fault_ticket_open_automatic(
    *, contract_id: int | None, severity: str, description: str, reported_at: datetime
) -> FaultTicket:
    """Open a fault ticket on the gateway's behalf (every node down, or one down too long).

    While an automatic ticket with the same description is still open (not recovered) for the contract,
    that one is returned and no second ticket is opened. Without a contract id, the latest contract in
    force is used.
    """
    contract = Contract.objects.get(pk=contract_id) if contract_id is not None else _default_contract()
    existing = (
        FaultTicket.objects.select_for_update()
        .filter(
            contract=contract,
            source=FaultTicket.Source.AUTOMATIC,
            description=description.strip(),
            recovered_at__isnull=True,
        )
        .first()
    )
    if existing is not None:
        return existing
    return fault_ticket_open(
        contract=contract,
        reported_at=reported_at,
        reported_by="网关自动报修",
        severity=severity,
        description=description,
        source=FaultTicket.Source.AUTOMATIC,
    )


@transaction.atomic
def fault_ticket_respond(*, ticket: FaultTicket, at: datetime | None = None) -> FaultTicket:
    """The carrier acknowledges the report (response clock)."""
    return _record_step(ticket, "responded_at", TICKET_STEPS["responded_at"], at, opened="reported_at")


@transaction.atomic
def fault_ticket_arrive(*, ticket: FaultTicket, at: datetime | None = None) -> FaultTicket:
    """The carrier's engineer is on site (2-hour clock)."""
    return _record_step(ticket, "on_site_at", TICKET_STEPS["on_site_at"], at, opened="reported_at")


@transaction.atomic
def fault_ticket_recover(
    *, ticket: FaultTicket, at: datetime | None = None, cause: str = "", solution: str = ""
) -> FaultTicket:
    """Service restored (4 h minor / 24 h severe clock), with the cause and the solution."""
    label = TICKET_STEPS["recovered_at"]
    return _record_step(
        ticket, "recovered_at", label, at, opened="reported_at", cause=cause.strip(), solution=solution.strip()
    )


# --- complaints ----------------------------------------------------------------------------------


def complaint_check(
    *, received_at: datetime, outcome: str = "", now: datetime | None = None, **times: datetime | None
) -> None:
    """Would a complaint with these values be accepted? (Opening and admin edits alike.)"""
    _check_steps(COMPLAINT_STEPS, times, after=received_at, now=now or timezone.now())
    if times.get("resolved_at") is not None and not outcome.strip():
        raise _field_error("outcome", "请填写处理结果。")


@transaction.atomic
def complaint_open(
    *,
    contract: Contract,
    received_at: datetime,
    received_by: str,
    subject: str,
    channel: str = Complaint.Channel.PHONE,
    complainant_mobile: str = "",
    responsible_side: str = Complaint.Responsibility.UNKNOWN,
    assessment_part: str = Complaint.Part.OPS_TIMELINESS,
    passed_at: datetime | None = None,
    first_reply_at: datetime | None = None,
    resolved_at: datetime | None = None,
    outcome: str = "",
) -> Complaint:
    """Register a complaint; one registered after the fact may bring the times already known, so its one-hour
    clocks are judged on them (as with fault tickets)."""
    now = timezone.now()
    times = {"passed_at": passed_at, "first_reply_at": first_reply_at, "resolved_at": resolved_at}
    complaint_check(received_at=received_at, outcome=outcome, now=now, **times)
    complaint = Complaint(
        contract=contract,
        received_at=received_at,
        received_by=received_by,
        subject=subject.strip(),
        channel=channel,
        complainant_mobile=complainant_mobile.strip(),
        responsible_side=responsible_side,
        assessment_part=assessment_part,
        outcome=outcome.strip(),
        **times,
    )
    _full_clean(complaint)
    complaint.save()
    sla_check_complaint(complaint=complaint, now=now)
    return complaint


@transaction.atomic
def complaint_update(*, complaint: Complaint, **fields: object) -> Complaint:
    """Correct a complaint (the admin): any of `COMPLAINT_EDITABLE`, checked as when registering it."""

    def check(c: Complaint, now: datetime) -> None:
        times = {f: getattr(c, f) for f in COMPLAINT_STEPS}
        complaint_check(received_at=c.received_at, outcome=c.outcome, now=now, **times)

    return _edit(complaint, fields, COMPLAINT_EDITABLE, check)


@transaction.atomic
def complaint_reply(*, complaint: Complaint, at: datetime | None = None) -> Complaint:
    """First reply to the complainant or to the side that passed it on (4.4.1)."""
    return _record_step(complaint, "first_reply_at", COMPLAINT_STEPS["first_reply_at"], at, opened="received_at")


@transaction.atomic
def complaint_pass(*, complaint: Complaint, at: datetime | None = None, responsible_side: str = "") -> Complaint:
    """The receiving side contacts the other side / passes the complaint on (4.4.1-4.4.3)."""
    label = COMPLAINT_STEPS["passed_at"]
    return _record_step(complaint, "passed_at", label, at, opened="received_at", responsible_side=responsible_side)


@transaction.atomic
def complaint_resolve(
    *, complaint: Complaint, outcome: str, at: datetime | None = None, responsible_side: str = ""
) -> Complaint:
    """The complaint is settled; the outcome records the answer and, finally, whose problem it was."""
    if not outcome.strip():
        raise _field_error("outcome", "请填写处理结果。")
    return _record_step(
        complaint,
        "resolved_at",
        COMPLAINT_STEPS["resolved_at"],
        at,
        opened="received_at",
        outcome=outcome.strip(),
        responsible_side=responsible_side,
    )


# --- SLA breaches --------------------------------------------------------------------------------


def _record_breaches(clocks, *, now: datetime, known: set[str] | None = None, **owner) -> list[SlaBreach]:
    """Create a breach row for each newly breached clock; `known` = clock codes already recorded (else queried)."""
    created = []
    for clock in clocks:
        if clock.state(now) != ClockState.BREACHED:
            continue
        if clock.code in known if known is not None else SlaBreach.objects.filter(clock=clock.code, **owner).exists():
            continue
        try:
            with transaction.atomic():
                breach = SlaBreach.objects.create(
                    clock=clock.code,
                    clock_label=clock.label,
                    duty=clock.duty,
                    deadline=clock.deadline,
                    detected_at=now,
                    **owner,
                )
        except IntegrityError:  # another worker recorded it first
            continue
        created.append(breach)
        _queue_notify(breach.pk)
    return created


def _queue_notify(breach_id: int) -> None:
    """Mail the breach after the commit; with Redis down the task waits in the outbox (ops) and the action that
    found the breach still succeeds."""
    task_enqueue(NOTIFY_TASK, breach_id)


def sla_check_ticket(*, ticket: FaultTicket, now: datetime | None = None) -> list[SlaBreach]:
    return _record_breaches(selectors.fault_ticket_clocks(ticket), now=now or timezone.now(), ticket=ticket)


def sla_check_complaint(*, complaint: Complaint, now: datetime | None = None) -> list[SlaBreach]:
    return _record_breaches(selectors.complaint_clocks(complaint), now=now or timezone.now(), complaint=complaint)


@transaction.atomic
def sla_check(*, now: datetime | None = None) -> list[SlaBreach]:
    """Record every newly breached clock once (the beat task runs this every few minutes)."""
    now = now or timezone.now()
    since = now - timedelta(days=40)
    tickets = FaultTicket.objects.filter(Q(reported_at__gte=since) | Q(recovered_at__isnull=True))
    complaints = Complaint.objects.filter(received_at__gte=since)
    known: dict[tuple[str, int], set[str]] = defaultdict(set)
    for ticket_id, complaint_id, clock in SlaBreach.objects.filter(
        Q(ticket__in=tickets) | Q(complaint__in=complaints)
    ).values_list("ticket_id", "complaint_id", "clock"):
        known[("ticket", ticket_id) if ticket_id else ("complaint", complaint_id)].add(clock)
    limits = selectors.ticket_limits()
    created: list[SlaBreach] = []
    for ticket in tickets:
        clocks = selectors.fault_ticket_clocks(ticket, limits=limits)
        created += _record_breaches(clocks, now=now, known=known[("ticket", ticket.pk)], ticket=ticket)
    for complaint in complaints:
        clocks = selectors.complaint_clocks(complaint)
        created += _record_breaches(clocks, now=now, known=known[("complaint", complaint.pk)], complaint=complaint)
    if police_staff_emails():  # retry notices of the last day that could not be mailed (nobody to mail, or mail down)
        unsent = SlaBreach.objects.filter(emailed_at__isnull=True, detected_at__range=(now - RETRY_FOR, now))
        unsent = unsent.exclude(detected_at=now)
        for pk in unsent.values_list("pk", flat=True):
            _queue_notify(pk)
    return created


def police_staff_emails() -> list[str]:
    users = get_user_model().objects.filter(groups__name="police_staff", is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


@transaction.atomic
def sla_breach_notify(*, breach_id: int) -> bool:
    """E-mail police staff about one breach, once. Returns whether a mail went out now."""
    breach = SlaBreach.objects.select_for_update(of=("self",)).select_related("ticket", "complaint").get(pk=breach_id)
    if breach.emailed_at is not None:
        return False
    recipients = police_staff_emails()
    if not recipients:
        logger.warning("SLA breach %s: no police staff with an e-mail address to notify", breach.pk)
        return False
    subject_of: FaultTicket | Complaint | None = breach.ticket or breach.complaint
    if subject_of is None:  # pragma: no cover - a breach belongs to a ticket or a complaint (constraint)
        return False
    local_deadline = timezone.localtime(breach.deadline).strftime("%Y-%m-%d %H:%M")
    body = (
        f"{subject_of}的“{breach.clock_label}”时限已超时（截止 {local_deadline}）。\n"
        f"责任方：{breach.get_duty_display()}。\n"
        f"{subject_of.description if isinstance(subject_of, FaultTicket) else subject_of.subject}\n"
        "请在管理后台“考核 › 超时提醒”中查看。"
    )
    send_mail(f"[12123短信] {subject_of} {breach.clock_label}超时", body, settings.DEFAULT_FROM_EMAIL, recipients)
    breach.emailed_at = timezone.now()
    breach.save(update_fields=["emailed_at"])
    return True


@transaction.atomic
def sla_breach_acknowledge(*, breach: SlaBreach, by) -> None:
    if breach.acknowledged_at is None:
        breach.acknowledged_at = timezone.now()
        breach.acknowledged_by = by
        breach.save(update_fields=["acknowledged_at", "acknowledged_by"])
