"""Demo data: a realistic stretch of the contract, built only through the apps' own services.

`manage.py seed_demo` calls `demo_year_seed` after the users exist. The stretch is the last
`DEMO_MONTHS` finished months plus the current month up to today, so the demo always looks recent:

- daily success counts at the contract's pace (1,440,000.00 / 0.03 a year ≈ 131,500 units a day, less at
  weekends), through the sender's own counter (gateway.sender.store.daily_counts_add);
- the prepayment (10%) and the bond; the prepayment is consumed by the first statements;
- a signed assessment for each finished month, in different bands (payment ratio 1.00, 0.90, 0.80);
- statements: the older months approved, issued (PDF stored), invoiced and paid; the second-newest issued
  and invoiced but not paid yet; the newest approved only;
- carrier bills: one that matches our counts, one with differences, one uploaded late;
- a recovered fault ticket and an open one, a settled complaint and an open one, with their clocks;
- a formal notice (13.8) sent by registered letter and signed for.

Every step looks for what it would create first, so running it again adds nothing (the next day it adds
that day's counts; a month later, that month's documents).
"""

import io
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from assessment.models import Assessment, Complaint, FaultTicket
from assessment.services import (
    assessment_record,
    assessment_sign,
    complaint_open,
    complaint_pass,
    fault_ticket_open,
)
from billing.models import CarrierBill, Invoice, Payment, PerformanceBond, Prepayment, Statement
from billing.selectors import bill_due_date_for, daily_units, month_bounds
from billing.services.bills import carrier_bill_upload
from billing.services.payments import bond_record, invoice_record, payment_record, prepayment_record
from billing.services.statements import statement_approve, statement_close_month, statement_issue
from contracts.models import Contract, FormalNotice
from contracts.selectors import contract_terms
from contracts.services import formal_notice_create
from gateway.models import DailyCount
from gateway.sender.store import daily_counts_add

DEMO_MONTHS = 5
DAILY_UNITS = 136_000  # 1,440,000.00 / 0.03 / 365 ≈ 131,500: a pace that uses the total within the year
ASSESSMENT_PLANS = [
    # scores by part for the oldest finished month first: totals 100, 88, 76, 92, 67 (ratios 1.00, 1.00, 0.90,
    # 1.00, 0.80), parts in the full, minor and serious bands
    {"sending": 30, "ops_timeliness": 20, "ops_compliance": 20, "emergency": 30},
    {"sending": 26, "ops_timeliness": 18, "ops_compliance": 20, "emergency": 24},
    {"sending": 22, "ops_timeliness": 16, "ops_compliance": 18, "emergency": 20},
    {"sending": 28, "ops_timeliness": 19, "ops_compliance": 20, "emergency": 25},
    {"sending": 20, "ops_timeliness": 14, "ops_compliance": 15, "emergency": 18},
]
REASONS = {
    "sending": "送达率低于约定，个别时段提交延迟。",
    "ops_timeliness": "部分通知发送不及时，投诉处理超时一次。",
    "ops_compliance": "个别模板报备材料迟交。",
    "emergency": "故障单恢复时限内完成但响应偏慢。",
}
TZ = timezone.get_default_timezone


@dataclass(frozen=True)
class DemoSummary:
    days_counted: int
    assessments: int
    statements: int
    bills: int


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ())


def _months_back(today: date, count: int) -> list[tuple[int, int]]:
    """The `count` finished months before today's month, oldest first."""
    months, y, m = [], today.year, today.month
    for _ in range(count):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        months.append((y, m))
    return months[::-1]


def _units_on(day: date) -> int:
    rng = random.Random(day.toordinal())  # noqa: S311 - demo figures, the same every run
    base = DAILY_UNITS * (0.78 if day.weekday() >= 5 else 1.08)
    return int(base * rng.uniform(0.93, 1.07))


def _seed_counts(contract: Contract, first: date, today: date, now: datetime) -> int:
    have = set(
        DailyCount.objects.filter(contract=contract, day__gte=first, day__lte=today).values_list("day", flat=True)
    )
    counts: dict[tuple[int, date, int | None, int | None], dict[str, int]] = {}
    day = first
    while day <= today:
        if day not in have:
            units = _units_on(day)
            if day == today:  # today so far
                units = units * max(now.hour, 1) // 24
            delivered = units * 985 // 1000
            counts[(contract.pk, day, None, None)] = {
                "accepted_messages": units * 9 // 10,
                "accepted_units": units,
                "delivered_messages": delivered * 9 // 10,
                "delivered_units": delivered,
                "failed_messages": (units - delivered) * 9 // 10,
            }
        day += timedelta(days=1)
    with transaction.atomic():
        daily_counts_add(counts)
    return len(counts)


def _seed_money_basics(contract: Contract, activated: date) -> None:
    if not PerformanceBond.objects.filter(contract=contract).exists():
        bond_record(
            contract=contract,
            form=PerformanceBond.Form.GUARANTEE,
            received_on=activated - timedelta(days=7),
            issuer="中国工商银行徐州分行",
            reference="BH-2025-0524-01",
        )
    if not Prepayment.objects.filter(contract=contract).exists():
        number = f"{contract.number}-YFK"
        invoice = Invoice.objects.filter(number=number).first() or invoice_record(
            contract=contract,
            number=number,
            amount_fen=contract_terms(contract).prepayment_fen,
            issued_on=activated + timedelta(days=10),
        )
        prepayment_record(contract=contract, paid_on=activated + timedelta(days=20), invoice=invoice)


def _seed_assessment(contract: Contract, year: int, month: int, scores: dict, police, now: datetime) -> bool:
    existing = Assessment.objects.filter(contract=contract, year=year, month=month).first()
    if existing is not None and existing.state != Assessment.State.DRAFT:
        return False
    signed_at = _at(date(year + month // 12, month % 12 + 1, 3), 10, 30)
    assessment = assessment_record(
        contract=contract,
        year=year,
        month=month,
        scores=scores,
        reasons=REASONS,
        remarks="演示数据：按月考核，双方确认。",
        by=police,
        now=min(signed_at, now),
    )
    assessment_sign(assessment=assessment, by=police, now=min(signed_at, now))
    return True


def _seed_statement(contract: Contract, year: int, month: int, stage: str, police, finance, now: datetime) -> bool:
    """stage: "paid", "issued" (invoiced, unpaid) or "approved"."""

    statement = statement_close_month(contract=contract, year=year, month=month)
    changed = False
    next_month = date(year + month // 12, month % 12 + 1, 1)
    if statement.state == Statement.State.DRAFT:
        statement = statement_approve(statement=statement, user=police, now=min(_at(next_month, 11), now))
        changed = True
    if stage in ("issued", "paid") and statement.state == Statement.State.APPROVED:
        statement = statement_issue(statement=statement, user=finance, now=min(_at(next_month + timedelta(2), 9), now))
        changed = True
    if stage in ("issued", "paid") and statement.net_due_fen > 0:
        number = f"3200{year}{month:02d}5240"
        if not Invoice.objects.filter(number=number).exists():
            invoice_record(
                contract=contract,
                number=number,
                amount_fen=statement.net_due_fen,
                issued_on=next_month + timedelta(days=4),
                statement=statement,
            )
            changed = True
    reference = f"ZF-{year}{month:02d}-0524"
    if stage == "paid" and statement.net_due_fen > 0 and not Payment.objects.filter(reference=reference).exists():
        payment_record(
            contract=contract,
            paid_on=min(next_month + timedelta(days=20), now.date()),
            amount_fen=statement.net_due_fen - statement.paid_fen,
            reference=reference,
        )
        changed = True
    return changed


def _bill_csv(contract: Contract, year: int, month: int, differences: dict[int, int]) -> io.BytesIO:
    start, end = month_bounds(year, month)
    lines = ["date,units"]
    for day, units in sorted(daily_units(contract_id=contract.pk, start=start, end=end).items()):
        lines.append(f"{day.isoformat()},{units + differences.get(day.day, 0)}")
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def _seed_bill(contract: Contract, year: int, month: int, kind: str, carrier, now: datetime) -> bool:
    """kind: "match", "differ" (three days off) or "late" (uploaded after its due date)."""

    if CarrierBill.objects.filter(contract=contract, year=year, month=month).exists():
        return False
    due = bill_due_date_for(contract=contract, year=year, month=month)
    differences = {3: 1_250, 17: -800, 24: 3_000} if kind == "differ" else {}
    uploaded = _at(due + timedelta(days=4), 16) if kind == "late" else _at(due - timedelta(days=3), 15)
    carrier_bill_upload(
        contract=contract,
        period=(year, month),
        uploaded_by=carrier,
        file=_bill_csv(contract, year, month, differences),
        filename=f"移动账单-{year}{month:02d}.csv",
        now=min(uploaded, now),
    )
    return True


def _seed_tickets_and_complaints(contract: Contract, months: list[tuple[int, int]], now: datetime) -> None:
    done_text = "徐州节点A 链路中断，短信提交失败（演示）"
    if not FaultTicket.objects.filter(contract=contract, description=done_text).exists():
        y, m = months[-2]
        reported = _at(date(y, m, 12), 9, 5)
        fault_ticket_open(  # registered with its times: every clock met
            contract=contract,
            reported_at=reported,
            reported_by="交警支队 值班员",
            severity="minor",
            description=done_text,
            responded_at=reported + timedelta(minutes=9),
            on_site_at=reported + timedelta(minutes=95),
            recovered_at=reported + timedelta(minutes=200),
            cause="机房光缆被施工挖断",
            solution="切换备用路由，熔接光缆",
        )
    open_text = "部分违法通知短信送达延迟超过10分钟（演示）"
    if not FaultTicket.objects.filter(contract=contract, description=open_text).exists():
        reported = now - timedelta(minutes=100)
        fault_ticket_open(  # responded; the engineer is on the way (2-hour clock running)
            contract=contract,
            reported_at=reported,
            reported_by="交警支队 值班员",
            severity="minor",
            description=open_text,
            responded_at=reported + timedelta(minutes=6),
        )
    settled = "车主反映未收到违法提醒短信（演示）"
    if not Complaint.objects.filter(contract=contract, subject=settled).exists():
        y, m = months[-3]
        received = _at(date(y, m, 8), 14, 20)
        complaint_open(  # registered with its times: both one-hour clocks met
            contract=contract,
            received_at=received,
            received_by="police",  # 12123 客服 received it first
            subject=settled,
            channel=Complaint.Channel.APP,
            complainant_mobile="13952161234",
            passed_at=received + timedelta(minutes=25),
            first_reply_at=received + timedelta(minutes=50),
            resolved_at=received + timedelta(hours=20),
            outcome="号码曾退订（TD），已向车主说明并恢复接收。",
            responsible_side=Complaint.Responsibility.POLICE,
        )
    running = "车主投诉收到重复短信（演示）"
    if not Complaint.objects.filter(contract=contract, subject=running).exists():
        received = now - timedelta(minutes=35)
        complaint = complaint_open(
            contract=contract,
            received_at=received,
            received_by="carrier",  # 10086 客服 received it first
            subject=running,
            channel=Complaint.Channel.HOTLINE_10086,
            complainant_mobile="13805161234",
        )
        complaint_pass(complaint=complaint, at=received + timedelta(minutes=15))


def _seed_notice(contract: Contract, months: list[tuple[int, int]], police, now: datetime) -> None:
    y, m = months[2]
    subject = f"关于 {y} 年 {m} 月考核结果及费用核减的通知"
    if FormalNotice.objects.filter(contract=contract, subject=subject).exists():
        return
    sent = _at(date(y + m // 12, m % 12 + 1, 5), 10)
    formal_notice_create(
        contract=contract,
        created_by=police,
        sender=contract.purchaser,
        kind=FormalNotice.Kind.FEES,
        method=FormalNotice.Method.REGISTERED_LETTER,
        subject=subject,
        summary="考核总分 76 分，按附件3 付款比例 90%，请据此开具发票。",
        tracking_number="XA123456789CN",
        sent_at=sent,
        received_at=min(sent + timedelta(days=2, hours=5), now),
    )


def demo_year_seed(*, contract: Contract, police, finance, carrier, now: datetime | None = None) -> DemoSummary:
    """Fill the demo with a realistic stretch of the contract up to `now` (idempotent)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    months = _months_back(today, DEMO_MONTHS)
    first = date(*months[0], 1)
    if contract.activated_on is None or contract.activated_on > first:
        contract.activated_on = first  # service began with the demo stretch
        contract.save(update_fields=["activated_on"])
    _seed_money_basics(contract, contract.activated_on)
    days = _seed_counts(contract, first, today, now)
    assessments = statements = 0
    stages = ["paid"] * (DEMO_MONTHS - 2) + ["issued", "approved"]
    for (year, month), scores, stage in zip(months, ASSESSMENT_PLANS, stages, strict=True):
        assessments += _seed_assessment(contract, year, month, scores, police, now)
        statements += _seed_statement(contract, year, month, stage, police, finance, now)
    bills = 0
    for (year, month), kind in zip(months[-3:], ["match", "late", "differ"], strict=True):
        bills += _seed_bill(contract, year, month, kind, carrier, now)
    _seed_tickets_and_complaints(contract, months, now)
    _seed_notice(contract, months, police, now)
    return DemoSummary(days_counted=days, assessments=assessments, statements=statements, bills=bills)
