"""Reads for the portal pages. Figures come from the other apps' selectors (docs/architecture.md)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from assessment.selectors import (
    assessment_sheet_ids,
    clock_views,
    complaint_clocks,
    complaint_list_open,
    fault_ticket_clocks,
    fault_ticket_list_open,
)
from billing.selectors import billed_before, calendar_warnings, prepayment_balance_history
from contracts.selectors import Contract, Lifecycle, contract_lifecycle, contract_list_for_user
from gateway import selectors as gateway_selectors
from portal import charts, rules

CHART_DAYS = 90
PACE_DAYS = 30


@dataclass(frozen=True)
class NodeHealth:
    name: str
    healthy: bool | None  # None: no state recorded yet
    state: str
    since: datetime | None
    reason: str


@dataclass(frozen=True)
class Dashboard:
    contract: Contract
    today: date
    today_units: int
    today_fee_fen: int
    month_units: int
    month_fee_fen: int
    month_delivery_rate: Decimal | None  # percent
    month_no_report: int  # accepted messages of the month that never got a status report (status no_report)
    prepayment_balance_fen: int | None
    billed_fen: int
    forecast: rules.Forecast
    consumption_since: date
    nodes: list[NodeHealth]
    queue: dict[str, int]  # queued now by priority (urgent, normal, bulk) and scheduled (send_at, windows)
    tickets: list  # [(ticket, [ClockView])]
    complaints: list  # [(complaint, [ClockView])]
    volume_svg: str
    rate_svg: str
    lifecycle: Lifecycle
    calendar_warnings: list


def dashboard_contract(*, user, contract_id: int | None = None) -> Contract | None:
    qs = contract_list_for_user(user=user)
    if contract_id is not None:
        return qs.filter(pk=contract_id).first()
    return qs.first()


def _units(contract: Contract, start: date, end: date) -> dict[date, int]:
    if end < start:
        return {}
    return gateway_selectors.daily_success_units(contract_id=contract.pk, start=start, end=end)


def _month_delivery(contract: Contract, today: date) -> tuple[Decimal | None, int]:
    """The month's delivery rate in percent and its count of messages without a status report."""

    evidence = gateway_selectors.month_evidence(contract_id=contract.pk, year=today.year, month=today.month)
    rate = evidence.get("delivery_rate")
    return (None if rate is None else (Decimal(rate) * 100).quantize(Decimal("0.01"))), evidence.get("no_report", 0)


def _daily_delivery_rates(contract: Contract, start: date, end: date) -> dict[date, Decimal | None]:
    """Delivered / accepted messages per day, in percent."""

    rows = gateway_selectors.daily_delivery(contract_id=contract.pk, start=start, end=end)
    return {day: rules.rate_percent(row["delivered"], row["accepted"]) for day, row in rows.items()}


def _node_health(contract: Contract) -> list[NodeHealth]:
    """Each node's last recorded state."""

    return [
        NodeHealth(row["name"], row["healthy"], row["state"], row["since"], row["reason"])
        for row in gateway_selectors.node_health(contract_id=contract.pk)
    ]


def _prepayment_balance(contract: Contract, today: date) -> tuple[int | None, int]:
    history = prepayment_balance_history(contract=contract)
    billed, _ = billed_before(contract=contract, year=today.year + 1, month=1)
    return (history[-1][2] if history else None), billed


def open_tickets_and_complaints(*, contract: Contract, now: datetime) -> tuple[list, list]:
    tickets = [
        (t, clock_views(fault_ticket_clocks(t), now=now))
        for t in fault_ticket_list_open(contract_id=contract.pk).order_by("reported_at")
    ]
    complaints = [(c, clock_views(complaint_clocks(c), now=now)) for c in complaint_list_open(contract_id=contract.pk)]
    return tickets, complaints


def dashboard(*, contract: Contract, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    today = timezone.localdate(now)
    month_start = today.replace(day=1)
    chart_start = today - timedelta(days=CHART_DAYS - 1)
    since = contract.activated_on or contract.signed_on

    all_units = _units(contract, min(since, chart_start), today)
    consumed_units = sum(u for d, u in all_units.items() if d >= since)
    recent_units = sum(u for d, u in all_units.items() if d > today - timedelta(days=PACE_DAYS))
    month_units = sum(u for d, u in all_units.items() if d >= month_start)
    today_units = all_units.get(today, 0)
    price = contract.unit_price

    days = [chart_start + timedelta(days=i) for i in range(CHART_DAYS)]
    volume_svg = charts.bar_chart([(d, all_units.get(d, 0)) for d in days], title="近90天每日发送条数")
    rates = _daily_delivery_rates(contract, chart_start, today)
    rate_svg = charts.line_chart([(d, rates.get(d)) for d in days], title="近90天每日送达率")
    prepayment, billed = _prepayment_balance(contract, today)
    month_rate, month_no_report = _month_delivery(contract, today)
    tickets, complaints = open_tickets_and_complaints(contract=contract, now=now)
    lifecycle = contract_lifecycle(contract, today=today)
    return Dashboard(
        contract=contract,
        today=today,
        today_units=today_units,
        today_fee_fen=rules.fee_fen(today_units, price),
        month_units=month_units,
        month_fee_fen=rules.fee_fen(month_units, price),
        month_delivery_rate=month_rate,
        month_no_report=month_no_report,
        prepayment_balance_fen=prepayment,
        billed_fen=billed,
        forecast=rules.forecast_total_reached(
            consumed_fen=rules.fee_fen(consumed_units, price),
            total_fen=contract.total_amount_fen,
            recent_fen=rules.fee_fen(recent_units, price),
            recent_days=PACE_DAYS,
            today=today,
            term_end=_forecast_cap(lifecycle),
        ),
        consumption_since=since,
        nodes=_node_health(contract),
        queue=gateway_selectors.queue_depth(contract_id=contract.pk),
        tickets=tickets,
        complaints=complaints,
        volume_svg=volume_svg,
        rate_svg=rate_svg,
        lifecycle=lifecycle,
        calendar_warnings=_calendar_warnings(today),
    )


def _calendar_warnings(today: date) -> list:
    return calendar_warnings(today=today)


def _forecast_cap(lifecycle: Lifecycle) -> date | None:
    """The last day of service a forecast may name: the known service end, else the current term's end."""
    ends = [d for d in (lifecycle.service_end, lifecycle.current_term.end if lifecycle.current_term else None) if d]
    return min(ends) if ends else None


def with_sheet_flags(statements: list) -> list:
    """Set `has_sheet` on each statement: whether its month's signed assessment sheet (考核表) exists, so pages
    link only documents that exist."""

    signed = assessment_sheet_ids(ids={s.assessment_id for s in statements})
    for statement in statements:
        statement.has_sheet = statement.assessment_id in signed
    return statements
