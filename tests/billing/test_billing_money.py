"""Money after the statement: payments oldest-first with a preview, credits, ageing, late fees, bond."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from billing.models import PaymentAllocation, PerformanceBond, Statement
from billing.selectors import arrears_ageing, bond_refund_due_on, prepayment_balance_history
from billing.services.payments import (
    bond_record,
    invoice_record,
    payment_allocation_preview,
    payment_record,
    prepayment_record,
)
from billing.tasks import bond_refund_reminder_task
from sms_contract.exceptions import ApplicationError

pytestmark = pytest.mark.django_db


def issued(contract, month, net_due_fen, due_on, year=2025):
    """An issued statement owing `net_due_fen`, as statement_issue leaves it."""
    return Statement.objects.create(
        contract=contract,
        year=year,
        month=month,
        number=f"JS-{year}{month:02d}-T",
        state=Statement.State.ISSUED,
        unit_price=Decimal("0.03"),
        net_due_fen=net_due_fen,
        billable_fen=net_due_fen,
        due_on=due_on,
    )


def test_preview_then_record_settles_oldest_first(contract, finance_user):
    dec = issued(contract, 12, 500_000, date(2026, 1, 15))
    oct_ = issued(contract, 10, 300_000, date(2025, 11, 17))
    nov = issued(contract, 11, 400_000, date(2025, 12, 15))
    preview = payment_allocation_preview(contract=contract, amount_fen=600_000)
    assert [(s.pk, fen) for s, fen in preview.lines] == [(oct_.pk, 300_000), (nov.pk, 300_000)]
    assert not PaymentAllocation.objects.exists()  # the preview saves nothing
    payment = payment_record(
        contract=contract, paid_on=date(2026, 1, 20), amount_fen=600_000, reference="财付 001", recorded_by=finance_user
    )
    assert payment.unallocated_fen == 0
    for s in (oct_, nov, dec):
        s.refresh_from_db()
    assert (oct_.state, nov.state, dec.state) == ("paid", "partly_paid", "issued")
    assert (nov.paid_fen, nov.outstanding_fen) == (300_000, 100_000)


def test_overpayment_is_kept_as_credit_and_used_by_the_next_issued_statement(
    contract, finance_user, police_user, set_outcome, gateway_days, locked
):
    from factories.billing import outcome

    from billing.services.statements import statement_approve, statement_close_month, statement_issue

    oct_ = issued(contract, 10, 100_000, date(2025, 11, 17))
    payment = payment_record(contract=contract, paid_on=date(2025, 12, 1), amount_fen=250_000, reference="R1")
    assert payment.unallocated_fen == 150_000
    oct_.refresh_from_db()
    assert oct_.state == "paid"
    # November: 6,000,000 units at 100% = 180,000.00, of which 144,000.00 from the prepayment -> 36,000.00 due
    gateway_days({date(2025, 11, 3): 6_000_000})
    set_outcome({(2025, 11): outcome(90, assessment_id=7)})
    nov = statement_close_month(contract=contract, year=2025, month=11)
    nov = statement_issue(statement=statement_approve(statement=nov, user=police_user), user=finance_user)
    assert nov.net_due_fen == 3_600_000
    assert nov.state == "partly_paid" and nov.paid_fen == 150_000
    payment.refresh_from_db()
    assert payment.unallocated_fen == 0


def test_payment_validation(contract):
    with pytest.raises(ApplicationError):
        payment_allocation_preview(contract=contract, amount_fen=0)
    with pytest.raises(ApplicationError, match="凭证"):
        payment_record(contract=contract, paid_on=date(2025, 12, 1), amount_fen=1, reference=" ")


def test_arrears_ageing_and_late_fees(contract):
    issued(contract, 10, 100_000, date(2025, 11, 17))
    issued(contract, 11, 200_000, date(2025, 12, 15))
    issued(contract, 12, 400_000, date(2026, 1, 15))
    today = date(2026, 1, 20)
    ageing = arrears_ageing(contract=contract, today=today)
    assert ageing.buckets_fen == {"0-30": 400_000, "31-60": 200_000, "61-90": 100_000, ">90": 0}
    assert ageing.total_fen == 700_000 and ageing.late_fee_total_fen == 0  # the contract's rate defaults to 0
    contract.late_fee_daily_rate = Decimal("0.0005")
    contract.save()
    ageing = arrears_ageing(contract=contract, today=today)
    # 100,000 × 0.05% × 64 days + 200,000 × 0.05% × 36 + 400,000 × 0.05% × 5
    assert ageing.late_fee_total_fen == 3_200 + 3_600 + 1_000
    assert arrears_ageing(contract=contract, today=date(2025, 11, 1)).not_due_fen == 700_000


def test_invoices_prepayment_and_balance_history(contract):
    invoice = invoice_record(contract=contract, number="32000001", amount_fen=14_400_000, issued_on=date(2025, 9, 20))
    with pytest.raises(ApplicationError):
        invoice_record(contract=contract, number="32000001", amount_fen=1, issued_on=date(2025, 9, 20))
    prepayment = prepayment_record(contract=contract, paid_on=date(2025, 9, 28), invoice=invoice)
    assert prepayment.amount_fen == 14_400_000
    assert prepayment_balance_history(contract=contract)[0] == ("prepayment", 0, 14_400_000)


def test_bond_refund_date_and_reminder(contract, make_user):
    bond = bond_record(contract=contract, form="guarantee", received_on=date(2025, 8, 30), issuer="某银行")
    assert bond.amount_fen == 14_400_000
    with pytest.raises(ApplicationError):
        bond_record(contract=contract, form="cash", received_on=None)
    assert bond_refund_due_on(contract=contract) is None
    contract.accepted_on = date(2025, 11, 30)
    contract.save()
    assert bond_refund_due_on(contract=contract) == date(2026, 11, 30)
    finance = make_user("finance", "fin2")
    finance.email = "fin@example.org"
    finance.save()
    assert bond_refund_reminder_task.delay("2026-10-01").get() == 0
    assert bond_refund_reminder_task.delay("2026-11-01").get() == 1
    assert len(mail.outbox) == 1 and "2026-11-30" in mail.outbox[0].subject
    assert mail.outbox[0].to == ["fin@example.org"]
    assert bond_refund_reminder_task.delay("2026-11-02").get() == 0  # once only
    assert PerformanceBond.objects.get().reminder_sent_on == date(2026, 11, 1)


def test_bond_refund_reminder_counts_only_once_delivered(contract, make_user, refusing_smtp, settings):
    """With the mail server refusing or nobody in finance to mail, the bond is not marked reminded: the reason is
    on the bond (admin) and the next run sends it."""
    from sms_contract.celery import TryAgain

    bond_record(contract=contract, form="guarantee", received_on=date(2025, 8, 30), issuer="某银行")
    contract.accepted_on = date(2025, 11, 30)
    contract.save()
    with pytest.raises(TryAgain):
        bond_refund_reminder_task("2026-11-01")  # nobody to mail
    bond = PerformanceBond.objects.get()
    assert bond.reminder_sent_on is None and "没有收件人" in bond.reminder_error

    finance = make_user("finance", "fin3")
    finance.email = "fin@example.org"
    finance.save()
    with pytest.raises(TryAgain):
        bond_refund_reminder_task("2026-11-01")  # the server refuses
    bond.refresh_from_db()
    assert bond.reminder_sent_on is None and "relaying denied" in bond.reminder_error
    assert mail.outbox == []

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert bond_refund_reminder_task("2026-11-02") == 1
    bond.refresh_from_db()
    assert (bond.reminder_sent_on, bond.reminder_error) == (date(2026, 11, 2), "")
    assert mail.outbox[0].to == ["fin@example.org"]
