"""Entering a payment by hand, one flow for the admin and the /finance/ page (billing.services.payments.payment_enter):
the allocation is shown first and saves nothing, a confirmed changed amount only shows it again, the confirmed
amount is recorded oldest due first (5.5), and bad amounts are refused with a message on either page."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Payment, Statement
from billing.services.payments import confirmed_amount, payment_enter

pytestmark = pytest.mark.django_db


def issued(contract, month, net_due_fen, due_on):
    return Statement.objects.create(
        contract=contract,
        year=2025,
        month=month,
        number=f"JS-2025{month:02d}-T",
        state=Statement.State.ISSUED,
        unit_price=Decimal("0.03"),
        net_due_fen=net_due_fen,
        billable_fen=net_due_fen,
        due_on=due_on,
    )


def test_confirmed_amount_is_only_the_previewed_fen_behind_the_confirm_button():
    assert confirmed_amount("confirm", "15000") == 15000
    assert confirmed_amount("preview", "15000") is None
    assert confirmed_amount("confirm", "") is None
    assert confirmed_amount("confirm", "150.00") is None  # never a yuan string: fen as rendered by the preview


def test_payment_enter_previews_until_the_shown_amount_is_confirmed(contract, finance_user):
    oct_ = issued(contract, 10, 10_000, date(2025, 11, 17))
    entry = payment_enter(contract=contract, paid_on=date(2026, 1, 5), amount_fen=15_000, reference="PZ-1")
    assert entry.payment is None and [(s.pk, f) for s, f in entry.preview.lines] == [(oct_.pk, 10_000)]
    assert entry.preview.unallocated_fen == 5_000
    changed = payment_enter(
        contract=contract, paid_on=date(2026, 1, 5), amount_fen=16_000, reference="PZ-1", confirmed_fen=15_000
    )
    assert changed.payment is None and changed.preview.unallocated_fen == 6_000
    assert not Payment.objects.exists()
    done = payment_enter(
        contract=contract,
        paid_on=date(2026, 1, 5),
        amount_fen=15_000,
        reference="PZ-1",
        recorded_by=finance_user,
        confirmed_fen=15_000,
    )
    assert done.preview is None and done.payment.unallocated_fen == 5_000
    assert done.payment.recorded_by == finance_user


def _admin(contract):
    return "/admin/billing/payment/add/", {"contract": contract.pk}


def _finance(contract):
    return f"/finance/payments/{contract.pk}/", {}


@pytest.mark.parametrize("page", [_admin, _finance], ids=["admin", "finance"])
def test_each_page_previews_oldest_first_then_records_the_confirmed_amount(page, contract, client_as, finance_user):
    older = issued(contract, 10, 100_00, date(2025, 11, 14))
    newer = issued(contract, 11, 200_00, date(2025, 12, 15))
    url, extra = page(contract)
    c = client_as(finance_user)
    form = {**extra, "paid_on": "2026-01-05", "amount": "150.00", "reference": "PZ-001"}

    preview = c.post(url, {**form, "action": "preview"}).content.decode()
    assert not Payment.objects.exists()
    assert preview.index(older.number) < preview.index(newer.number)
    assert "100.00" in preview and "50.00" in preview and 'name="previewed" value="15000"' in preview

    c.post(url, {**form, "amount": "160.00", "action": "confirm", "previewed": "15000"})
    assert not Payment.objects.exists()  # a changed amount is shown again, not recorded

    assert c.post(url, {**form, "action": "confirm", "previewed": "15000"}).status_code == 302
    payment = Payment.objects.get()
    assert payment.amount_fen == 15000 and payment.recorded_by == finance_user
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.paid_fen, newer.paid_fen) == (10000, 5000)


@pytest.mark.parametrize("page", [_admin, _finance], ids=["admin", "finance"])
@pytest.mark.parametrize(
    ("amount", "message"), [("abc", "请输入金额"), ("1.005", "两位小数"), ("-3", "大于 0"), ("0", "大于 0")]
)
def test_each_page_refuses_bad_amounts_with_a_message(page, amount, message, contract, client_as, finance_user):
    url, extra = page(contract)
    form = {**extra, "paid_on": "2026-01-05", "amount": amount, "reference": "x", "action": "confirm"}
    response = client_as(finance_user).post(url, {**form, "previewed": "1"})
    assert response.status_code == 200 and message in response.content.decode()
    assert not Payment.objects.exists()
