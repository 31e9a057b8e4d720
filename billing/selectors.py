"""Reads of the billing app. Other apps and the web portal use these (see docs/architecture.md)."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from billing import rules
from billing.models import (
    BillingUpload,
    CalendarDay,
    CalendarYear,
    CarrierBill,
    ImportedDailyUnits,
    Invoice,
    Payment,
    Statement,
)
from contracts.models import Contract
from contracts.selectors import contract_list_for_user, contract_terms
from gateway import selectors as gateway_selectors
from gateway.cmpp.msgid import msg_id_from_signed
from sms_contract.exceptions import ApplicationError


class CalendarMissingError(ApplicationError):
    def __init__(self, day: date):
        super().__init__(
            "calendar_missing",
            f"工作日历未包含 {day.year} 年，请先在管理后台录入该年的节假日安排。 "
            f"(The working-day calendar does not cover {day.isoformat()}.)",
        )


def working_days(*, start: date, end: date) -> dict[date, bool]:
    """date -> is working day, for the covered years only (a year without a CalendarYear row is absent)."""
    years = set(CalendarYear.objects.filter(year__gte=start.year, year__lte=end.year).values_list("year", flat=True))
    return {
        d: w
        for d, w in CalendarDay.objects.filter(date__gte=start, date__lte=end).values_list("date", "is_working")
        if d.year in years
    }


def bill_due_date_for(*, contract: Contract, year: int, month: int) -> date:
    """When the carrier's bill for the month is due (5.3 note 2); `CalendarMissingError` when the
    calendar does not cover the dates needed."""
    y, m = rules.next_month(year, month)
    first = date(y, m, 1)
    try:
        return rules.bill_due_date(
            year, month, working_days(start=first, end=first + timedelta(days=60)), due_day=contract.bill_due_day
        )
    except rules.CalendarNotCovered as exc:
        raise CalendarMissingError(exc.day) from exc


def bond_refund_due_on(*, contract: Contract) -> date | None:
    """The bond's refund date (5.2): `bond_refund_months` after acceptance; None before acceptance."""
    if contract.accepted_on is None:
        return None
    return rules.add_months(contract.accepted_on, contract.bond_refund_months)


def imported_daily_units(*, contract_id: int, start: date, end: date) -> dict[date, int]:
    return dict(
        ImportedDailyUnits.objects.filter(contract_id=contract_id, day__gte=start, day__lte=end).values_list(
            "day", "units"
        )
    )


def daily_units(*, contract_id: int, start: date, end: date) -> dict[date, int]:
    """Our success units per day: the gateway's daily counts, with imported days replacing them (ADR 0010)."""

    gateway = gateway_selectors.daily_success_units(contract_id=contract_id, start=start, end=end)
    return rules.merge_daily_units(gateway, imported_daily_units(contract_id=contract_id, start=start, end=end))


def month_bounds(year: int, month: int) -> tuple[date, date]:
    days = rules.month_days(year, month)
    return days[0], days[-1]


def statement_list(*, contract: Contract | None = None) -> QuerySet[Statement]:
    qs = Statement.objects.select_related("contract")
    return qs.filter(contract=contract) if contract is not None else qs


def statement_get(*, contract: Contract, year: int, month: int) -> Statement | None:
    """The month's statement (the monthly one, not its adjustments)."""
    return Statement.objects.filter(contract=contract, year=year, month=month, kind=Statement.Kind.MONTHLY).first()


def statements_for_user(*, user) -> QuerySet[Statement]:
    if not (user.is_superuser or user.has_perm("billing.view_statement")):
        return Statement.objects.none()
    return Statement.objects.filter(contract__in=contract_list_for_user(user=user))


@dataclass(frozen=True)
class ReconciliationRow:
    day: date
    ours: int
    theirs: int
    difference: int  # theirs - ours
    percent: Decimal | None  # difference / ours × 100


@dataclass(frozen=True)
class Reconciliation:
    bill: CarrierBill
    rows: tuple[ReconciliationRow, ...]
    ours_total: int
    theirs_total: int
    difference_total: int
    percent_total: Decimal | None
    missing_ours_count: int  # on their bill, not in our records
    missing_theirs_count: int  # in our records, not on their bill
    missing_ours_sample: tuple[int, ...]
    missing_theirs_sample: tuple[int, ...]


def reconciliation_for_bill(bill: CarrierBill) -> Reconciliation:
    """Day by day, our units against the carrier's bill; for detail bills also the Msg_Ids only one side has.
    Our figure prevails for the statement."""
    start, end = month_bounds(bill.year, bill.month)
    ours = daily_units(contract_id=bill.contract_id, start=start, end=end)
    theirs = dict(bill.days.values_list("day", "units"))
    rows = tuple(
        ReconciliationRow(
            day=day,
            ours=ours.get(day, 0),
            theirs=theirs.get(day, 0),
            difference=theirs.get(day, 0) - ours.get(day, 0),
            percent=rules.percent_difference(ours.get(day, 0), theirs.get(day, 0)),
        )
        for day in sorted(set(ours) | set(theirs))
    )
    ours_total, theirs_total = sum(ours.values()), sum(theirs.values())
    return Reconciliation(
        bill=bill,
        rows=rows,
        ours_total=ours_total,
        theirs_total=theirs_total,
        difference_total=theirs_total - ours_total,
        percent_total=rules.percent_difference(ours_total, theirs_total),
        missing_ours_count=bill.missing_ours_count,
        missing_theirs_count=bill.missing_theirs_count,
        missing_ours_sample=tuple(msg_id_from_signed(v) for v in bill.missing_ours_sample),
        missing_theirs_sample=tuple(msg_id_from_signed(v) for v in bill.missing_theirs_sample),
    )


def carrier_bill_latest(*, contract: Contract, year: int, month: int) -> CarrierBill | None:
    return CarrierBill.objects.filter(contract=contract, year=year, month=month).order_by("-uploaded_at").first()


def carrier_bills_for_user(*, user) -> QuerySet[CarrierBill]:
    if not (user.is_superuser or user.has_perm("billing.view_carrierbill")):
        return CarrierBill.objects.none()
    return CarrierBill.objects.filter(contract__in=contract_list_for_user(user=user)).select_related("contract")


def uploads_for_user(*, user) -> QuerySet:
    """Queued bill and success-count files: the uploader's own, and those of contracts the user may see whose
    bills (or imports) the user may view."""

    if not user.is_authenticated:
        return BillingUpload.objects.none()
    kinds = [
        kind
        for kind, perm in (
            (BillingUpload.Kind.CARRIER_BILL, "billing.view_carrierbill"),
            (BillingUpload.Kind.SUCCESS_COUNTS, "billing.view_successcountimport"),
        )
        if user.is_superuser or user.has_perm(perm)
    ]
    visible = Q(uploaded_by=user) | Q(kind__in=kinds, contract__in=contract_list_for_user(user=user))
    return BillingUpload.objects.filter(visible).select_related("contract")


def outstanding_statements(*, contract: Contract) -> QuerySet[Statement]:
    """Issued statements not yet paid in full, oldest due first (5.5)."""
    return Statement.objects.filter(
        contract=contract, state__in=[Statement.State.ISSUED, Statement.State.PARTLY_PAID]
    ).order_by("due_on", "id")


def debts_of(*, contract: Contract) -> list[rules.Debt]:
    return [
        rules.Debt(key=s.pk, due_on=s.due_on, outstanding_fen=s.outstanding_fen)
        for s in outstanding_statements(contract=contract)
        if s.outstanding_fen > 0
    ]


@dataclass(frozen=True)
class ArrearsLine:
    statement: Statement
    outstanding_fen: int
    days_past_due: int
    bucket: str | None
    late_fee_fen: int


@dataclass(frozen=True)
class ArrearsAgeing:
    lines: tuple[ArrearsLine, ...]
    buckets_fen: dict[str, int]  # "0-30", "31-60", "61-90", ">90" -> outstanding fen past due
    not_due_fen: int
    total_fen: int
    late_fee_total_fen: int


def arrears_ageing(*, contract: Contract, today: date) -> ArrearsAgeing:
    """Outstanding issued statements by days past their due date, with late fees at the contract's rate (9.1)."""
    buckets = dict.fromkeys(rules.AGEING_BUCKETS, 0)
    lines, not_due = [], 0
    for statement in outstanding_statements(contract=contract):
        outstanding = statement.outstanding_fen
        if outstanding <= 0:
            continue
        bucket = rules.ageing_bucket(due_on=statement.due_on, today=today)
        fee = rules.late_fee_fen(
            outstanding_fen=outstanding, due_on=statement.due_on, today=today, daily_rate=contract.late_fee_daily_rate
        )
        if bucket is None:
            not_due += outstanding
        else:
            buckets[bucket] += outstanding
        lines.append(ArrearsLine(statement, outstanding, (today - statement.due_on).days, bucket, fee))
    return ArrearsAgeing(
        lines=tuple(lines),
        buckets_fen=buckets,
        not_due_fen=not_due,
        total_fen=not_due + sum(buckets.values()),
        late_fee_total_fen=sum(line.late_fee_fen for line in lines),
    )


def prepayment_balance_history(*, contract: Contract) -> list[tuple[str, int, int]]:
    """(period, applied, balance after) per monthly computation, in order; the first line is the prepayment."""

    history = [("prepayment", 0, contract_terms(contract).prepayment_fen)]
    for s in Statement.objects.filter(contract=contract).order_by("year", "month", "sequence"):
        history.append((s.number, s.prepayment_applied_fen, s.prepayment_balance_fen))
    return history


def billed_before(*, contract: Contract, year: int, month: int) -> tuple[int, int]:
    """(cumulative billable, prepayment applied) of every statement of earlier months."""
    earlier = Statement.objects.filter(contract=contract, year__lt=year) | Statement.objects.filter(
        contract=contract, year=year, month__lt=month
    )
    sums = earlier.aggregate(billable=Sum("billable_fen"), applied=Sum("prepayment_applied_fen"))
    return sums["billable"] or 0, sums["applied"] or 0


CALENDAR_WARNING_DAYS = 60


@dataclass(frozen=True)
class CalendarWarning:
    year: int
    missing: bool  # no calendar at all: due dates in that year cannot be computed
    provisional: bool  # built from the statutory holidays only, until the State Council's notice is loaded
    note: str


def calendar_warnings(*, today: date, days: int = CALENDAR_WARNING_DAYS) -> list[CalendarWarning]:
    """Years from today to `days` ahead whose working-day calendar is missing or only provisional."""
    years = range(today.year, (today + timedelta(days=days)).year + 1)
    loaded = {y.year: y for y in CalendarYear.objects.filter(year__in=list(years))}
    out = []
    for year in years:
        row = loaded.get(year)
        if row is None:
            out.append(CalendarWarning(year, True, False, ""))
        elif row.source == CalendarYear.Source.PROVISIONAL:
            out.append(CalendarWarning(year, False, True, row.note))
    return out


def contract_deadlines(*, contract: Contract, today: date, **_signal) -> list[tuple[str, date, str]]:
    """Billing's coming deadlines of a contract, for the deadline reminders (contracts.signals.contract_deadlines):
    the carrier's monthly bill (last and this month, while not yet uploaded) and the bond refund."""
    out = []
    previous = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    for year, month in ((previous.year, previous.month), (today.year, today.month)):
        try:
            due = bill_due_date_for(contract=contract, year=year, month=month)
        except CalendarMissingError:
            continue
        if carrier_bill_latest(contract=contract, year=year, month=month) is None:
            out.append(("bill_due", due, f"乙方应提供 {year}-{month:02d} 月度账单（5.3 注2）"))
    refund = bond_refund_due_on(contract=contract)
    if refund is not None:
        out.append(("bond_refund", refund, "履约保证金应无息退还（5.2）"))
    return out


# The upload kinds and states the pages name (billing.services.uploads takes and returns them).
UploadKind = BillingUpload.Kind
UploadState = BillingUpload.State


def upload_is_queued(obj: object) -> bool:
    """Whether what `billing_file_accept` returned is a queued upload (a worker reads it) rather than the result."""
    return isinstance(obj, BillingUpload)


def invoices_for_contract(*, contract: Contract) -> QuerySet[Invoice]:
    """The contract's invoices, newest first, with their statements."""
    return Invoice.objects.filter(contract=contract).select_related("statement").order_by("-issued_on")


def payments_for_contract(*, contract: Contract) -> QuerySet[Payment]:
    """The contract's payments with their allocations (newest first, as the model orders them)."""
    return Payment.objects.filter(contract=contract).prefetch_related("allocations__statement")
