"""Monthly statements: close a month (idempotent for drafts), approve, issue, adjust."""

import hashlib
from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from assessment import selectors as assessment_selectors
from assessment import services as assessment_services
from billing import documents, rules
from billing.models import Statement
from billing.selectors import bill_due_date_for, billed_before, daily_units, month_bounds
from billing.services.payments import credit_offsets_apply, payment_credits_apply
from contracts.models import Contract
from contracts.selectors import contract_terms
from sms_contract.exceptions import ApplicationError

FROZEN_STATES = (
    Statement.State.APPROVED,
    Statement.State.ISSUED,
    Statement.State.PARTLY_PAID,
    Statement.State.PAID,
)


def _figures(*, contract: Contract, year: int, month: int) -> dict:
    """The month's figures as Statement field values (ratio unknown: payable etc. computed at 0 and
    `payment_ratio` None, so the statement stays a draft)."""

    terms = contract_terms(contract)
    start, end = month_bounds(year, month)
    days = daily_units(contract_id=contract.pk, start=start, end=end)
    outcome = assessment_selectors.assessment_outcome(contract_id=contract.pk, year=year, month=month)
    cumulative_before, applied_before = billed_before(contract=contract, year=year, month=month)
    ratio = outcome.payment_ratio if outcome is not None else None
    fee = rules.monthly_fee(
        units=sum(days.values()),
        unit_price=terms.unit_price,
        ratio=ratio if ratio is not None else Decimal(0),
        prepayment_balance_fen=max(0, terms.prepayment_fen - applied_before),
        cumulative_payable_fen=cumulative_before,
        total_amount_fen=terms.total_amount_fen,
    )
    return {
        "units": sum(days.values()),
        "unit_price": terms.unit_price,
        "daily_units": {d.isoformat(): u for d, u in days.items()},
        "assessment_id": outcome.assessment_id if outcome else None,
        "assessment_total": outcome.total if outcome else None,
        "assessment_scores": dict(outcome.scores) if outcome else {},
        "payment_ratio": ratio,
        "due_on": bill_due_date_for(contract=contract, year=year, month=month),
        "computed_at": timezone.now(),
        **asdict(fee),
    }


@transaction.atomic
def statement_close_month(*, contract: Contract, year: int, month: int) -> Statement:
    """Create or recompute the month's statement. A draft is recomputed from the current counts and
    assessment (idempotent); an approved or issued statement is returned unchanged. Later drafts of the
    contract are recomputed too, since they carry the prepayment and cumulative figures forward.

    Closes of one contract take turns (a lock on the contract row): two at once — beat's run and a manual
    `close_month`, or a redelivered task — give one statement, the second recomputing the first's draft."""
    if not 1 <= month <= 12:
        raise ApplicationError("bad_period", "月份应在 1-12 之间。 (Month must be 1-12.)")
    Contract.objects.select_for_update().only("pk").get(pk=contract.pk)
    statement = (
        Statement.objects.select_for_update()
        .filter(contract=contract, year=year, month=month, kind=Statement.Kind.MONTHLY)
        .first()
    )
    if statement is not None and statement.state in FROZEN_STATES:
        return statement
    figures = _figures(contract=contract, year=year, month=month)
    if statement is None:
        statement = Statement(
            contract=contract,
            year=year,
            month=month,
            sequence=1,
            kind=Statement.Kind.MONTHLY,
            number=rules.statement_number(contract_number=contract.number, year=year, month=month, sequence=1),
        )
    for field, value in figures.items():
        setattr(statement, field, value)
    statement.save()
    later = Statement.objects.filter(contract=contract, state=Statement.State.DRAFT, kind=Statement.Kind.MONTHLY)
    for other in (later.filter(year=year, month__gt=month) | later.filter(year__gt=year)).order_by("year", "month"):
        for field, value in _figures(contract=contract, year=other.year, month=other.month).items():
            setattr(other, field, value)
        other.save()
    return statement


def statements_close_due(*, today: date) -> list[Statement]:
    """Close every finished month not yet closed, of every contract, oldest first: from the month service starts
    (activation, else signing) to the month before `today` (or the month of termination). Beat runs this daily,
    so a close missed on the 1st is made on a later day. Months already closed are left alone (recompute a
    draft with `close_month YYYY-MM`)."""
    last_finished = today.replace(day=1) - timedelta(days=1)
    closed = []
    for contract in Contract.objects.order_by("pk"):
        last = min(last_finished, contract.terminated_on) if contract.terminated_on else last_finished
        first = contract.activated_on or contract.signed_on
        done = Statement.objects.filter(contract=contract, kind=Statement.Kind.MONTHLY).values_list("year", "month")
        for year, month in rules.months_to_close(first=first, last=last, closed=done):
            closed.append(statement_close_month(contract=contract, year=year, month=month))
    return closed


@transaction.atomic
def statement_approve(*, statement: Statement, user, now: datetime | None = None) -> Statement:
    """Police staff approve a draft once the month's assessment is signed and the figures use it."""

    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    if statement.state != Statement.State.DRAFT:
        raise ApplicationError("bad_state", f"只有草稿可以审核（当前：{statement.get_state_display()}）。")
    outcome = assessment_selectors.assessment_outcome(
        contract_id=statement.contract_id, year=statement.year, month=statement.month
    )
    if outcome is None or not outcome.signed:
        raise ApplicationError("assessment_not_signed", "当月考核尚未签署，结算单保持草稿。")
    if statement.assessment_id != outcome.assessment_id or statement.payment_ratio != outcome.payment_ratio:
        raise ApplicationError("statement_stale", "考核结果已变化，请先重新生成结算单。")
    statement.state = Statement.State.APPROVED
    statement.approved_by, statement.approved_at = user, now or timezone.now()
    statement.save(update_fields=["state", "approved_by", "approved_at"])
    return statement


@transaction.atomic
def statement_issue(*, statement: Statement, user, now: datetime | None = None) -> Statement:
    """Finance issues an approved statement; it never changes afterwards. The assessment it uses is locked.
    Issued credits (adjustments with a negative amount due) and then unallocated payment credit settle the
    amounts due, oldest first; a credit issued now is set against what is already outstanding."""

    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    if statement.state != Statement.State.APPROVED:
        raise ApplicationError("bad_state", f"只有已审核的结算单可以开具（当前：{statement.get_state_display()}）。")
    statement.state = Statement.State.PAID if statement.net_due_fen <= 0 else Statement.State.ISSUED
    statement.issued_by, statement.issued_at = user, now or timezone.now()
    statement.save(update_fields=["state", "issued_by", "issued_at"])
    statement_pdf_store(statement=statement)
    if statement.assessment_id is not None:
        assessment_services.assessment_lock(assessment_id=statement.assessment_id)
    credit_offsets_apply(contract=statement.contract)  # a credit (negative adjustment) settles what is due first
    payment_credits_apply(contract=statement.contract)
    statement.refresh_from_db()
    return statement


ISSUED_STATES = FROZEN_STATES[1:]


class StoredPdfCorrupt(ApplicationError):
    """The stored PDF of an issued statement no longer matches the SHA-256 recorded when it was issued."""

    def __init__(self, statement: Statement):
        super().__init__(
            "pdf_checksum_mismatch",
            f"结算单 {statement.number} 的存档 PDF 与开具时记录的 SHA-256 不符，请联系管理员从备份恢复。",
            status_code=500,
        )


@transaction.atomic
def statement_pdf_store(*, statement: Statement) -> Statement:
    """Render the issued statement's PDF once and keep it in media storage with its SHA-256: the document both
    parties sign, served ever after (`statement_pdf_for_download`). Does nothing if stored."""

    statement = Statement.objects.select_for_update().select_related("contract").get(pk=statement.pk)
    if statement.pdf_file:
        return statement
    if statement.state not in ISSUED_STATES:
        raise ApplicationError("bad_state", "只有已开具的结算单存档 PDF；草稿每次按当前数据生成。")
    pdf = documents.statement_pdf(statement)
    statement.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    statement.pdf_file.save(f"{statement.number}.pdf", ContentFile(pdf), save=False)
    statement.save(update_fields=["pdf_file", "pdf_sha256"])
    return statement


DELTA_FIELDS = (
    "units",
    "gross_fen",
    "payable_fen",
    "held_fen",
    "billable_fen",
    "prepayment_applied_fen",
    "net_due_fen",
)


@transaction.atomic
def statement_adjustment_create(*, statement: Statement, reason: str) -> Statement:
    """A correction of an issued month: a new draft statement (next sequence, own number) holding the
    differences between the month recomputed now and what its statements so far settled."""
    if statement.state not in FROZEN_STATES[1:]:
        raise ApplicationError("bad_state", "只有已开具的结算单可以调整；草稿请直接重新生成。")
    if not reason.strip():
        raise ApplicationError("reason_required", "请填写调整原因。")
    month_statements = list(
        Statement.objects.select_for_update()
        .filter(contract=statement.contract, year=statement.year, month=statement.month)
        .order_by("sequence")
    )
    if any(s.state == Statement.State.DRAFT for s in month_statements):
        raise ApplicationError("adjustment_pending", "该月已有未开具的调整结算单。")
    figures = _figures(contract=statement.contract, year=statement.year, month=statement.month)
    deltas = {f: figures[f] - sum(getattr(s, f) for s in month_statements) for f in DELTA_FIELDS}
    if not any(deltas.values()):
        raise ApplicationError("nothing_to_adjust", "重新计算后金额与条数均无变化，无需调整。")
    sequence = month_statements[-1].sequence + 1
    return Statement.objects.create(
        contract=statement.contract,
        year=statement.year,
        month=statement.month,
        sequence=sequence,
        kind=Statement.Kind.ADJUSTMENT,
        adjusts=statement,
        reason=reason.strip()[:300],
        number=rules.statement_number(
            contract_number=statement.contract.number, year=statement.year, month=statement.month, sequence=sequence
        ),
        **{**figures, **deltas},
    )


def statement_pdf_for_download(statement: Statement) -> tuple[bytes, str]:
    """The PDF to hand out and its SHA-256 (hex). An issued statement's is the file stored when it was issued,
    checked against the SHA-256 recorded then (stored now, once, for one issued before PDFs were kept); a draft
    or approved statement is rendered from the current figures."""

    if statement.state not in ISSUED_STATES:
        pdf = documents.statement_pdf(statement)
        return pdf, hashlib.sha256(pdf).hexdigest()
    if not statement.pdf_file:
        statement = statement_pdf_store(statement=statement)
    with statement.pdf_file.open("rb") as stored:
        pdf = stored.read()
    digest = hashlib.sha256(pdf).hexdigest()
    if digest != statement.pdf_sha256:
        raise StoredPdfCorrupt(statement)
    return pdf, digest
