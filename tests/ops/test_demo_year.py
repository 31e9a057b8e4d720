"""seed_demo fills a realistic, recent stretch of the contract through the services, and adds nothing twice."""

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 11, 0, tzinfo=TZ)


def _snapshot():
    from assessment.models import Assessment, Complaint, FaultTicket, SlaBreach
    from billing.models import CarrierBill, Invoice, Payment, Statement
    from contracts.models import FormalNotice
    from gateway.models import DailyCount

    models = (Assessment, Complaint, FaultTicket, SlaBreach, CarrierBill, Invoice, Payment, Statement, FormalNotice)
    counts = {m.__name__: m.objects.count() for m in models}
    counts["units"] = sum(DailyCount.objects.values_list("accepted_units", flat=True))
    return counts


@pytest.fixture
def demo_year(db):
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", "--admin", stdout=io.StringIO())
    return _snapshot()


@pytest.mark.django_db(transaction=False)
def test_demo_year_has_counts_at_the_contracts_pace_and_money_through_every_state(demo_year):
    from billing.models import CarrierBill, Invoice, Prepayment, Statement
    from contracts.models import Contract
    from gateway.models import DailyCount

    contract = Contract.objects.get()
    assert contract.activated_on == date(2026, 6, 1)  # five finished months before November
    days = DailyCount.objects.filter(contract=contract).values_list("day", "accepted_units")
    assert len(days) == 183  # 1 June to 30 November
    full_days = [u for d, u in days if d < NOW.date()]
    # the contract's pace: 1,440,000.00 / 0.03 a year is about 131,500 units a day
    assert 120_000 < sum(full_days) / len(full_days) < 145_000

    by_month = {s.month: s for s in Statement.objects.filter(contract=contract)}
    assert sorted(by_month) == [6, 7, 8, 9, 10]
    assert [by_month[m].state for m in (6, 7, 8, 9, 10)] == ["paid", "paid", "paid", "issued", "approved"]
    # the 10% prepayment (144,000.00) is consumed by the first statements, oldest first
    prepayment = Prepayment.objects.get(contract=contract)
    assert prepayment.amount_fen == 14_400_000
    assert sum(s.prepayment_applied_fen for s in by_month.values()) == prepayment.amount_fen
    assert by_month[6].net_due_fen == 0 and by_month[7].prepayment_applied_fen > 0
    # assessments in different bands set the ratio: 100 -> 1.00, 76 -> 0.90, 67 -> 0.80
    assert {str(s.payment_ratio) for s in by_month.values()} >= {"1.0000", "0.9000", "0.8000"}
    assert by_month[8].payable_fen < by_month[8].gross_fen
    # invoices for issued statements with money due; issued statements keep their PDF
    assert Invoice.objects.filter(statement__month__in=[7, 8, 9]).count() == 3
    assert all(by_month[m].pdf_sha256 for m in (6, 7, 8, 9))
    assert by_month[9].paid_fen == 0 and by_month[8].paid_fen == by_month[8].net_due_fen

    bills = {b.month: b for b in CarrierBill.objects.filter(contract=contract)}
    assert [bills[m].is_late for m in (8, 9, 10)] == [False, True, False]
    ours = {m: by_month[m].units for m in (8, 9, 10)}
    assert bills[8].total_units == ours[8]  # matches
    assert bills[10].total_units != ours[10]  # differs


@pytest.mark.django_db
def test_demo_year_has_assessments_tickets_complaints_and_a_notice(demo_year):
    from assessment.models import Assessment, Complaint, FaultTicket, SlaBreach
    from contracts.models import FormalNotice

    assessments = Assessment.objects.order_by("month")
    assert [a.total for a in assessments] == [100, 88, 76, 92, 67]
    assert all(a.signed_by is not None and a.state in ("signed", "locked") for a in assessments)
    assert FaultTicket.objects.filter(recovered_at__isnull=False).count() == 1
    assert FaultTicket.objects.filter(recovered_at__isnull=True).count() == 1  # its clocks run on the dashboard
    assert Complaint.objects.filter(resolved_at__isnull=False).count() == 1
    assert Complaint.objects.filter(resolved_at__isnull=True).count() == 1
    assert not SlaBreach.objects.exists()  # registered with their times: no clock breached by the seeding itself
    notice = FormalNotice.objects.get()
    assert notice.kind == "fees" and notice.delivered_at is not None


@pytest.mark.django_db
def test_seed_demo_twice_adds_nothing(demo_year):
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", "--admin", stdout=io.StringIO())
    assert _snapshot() == demo_year
