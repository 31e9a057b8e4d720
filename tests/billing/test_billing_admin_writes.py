"""The billing admin saves invoices, the prepayment and the bond through the services (billing.services.payments):
their rules come back as form errors and write nothing; the amounts come from the contract's figures."""

from datetime import date

import pytest

from billing.models import Invoice, PerformanceBond, Prepayment
from billing.services.payments import invoice_record

pytestmark = pytest.mark.django_db


def test_an_invoice_received_before_it_was_issued_is_a_form_error(client_as, finance_user, contract):
    data = {"contract": contract.pk, "statement": "", "number": "FP-001", "amount": "144,000.00",
            "issued_on": "2025-10-10", "received_on": "2025-10-01"}  # fmt: skip
    c = client_as(finance_user)
    response = c.post("/admin/billing/invoice/add/", data)
    assert response.status_code == 200 and "收到日期不能早于开票日期" in response.content.decode()
    assert not Invoice.objects.exists()
    assert c.post("/admin/billing/invoice/add/", {**data, "received_on": "2025-10-12"}).status_code == 302
    assert Invoice.objects.get().amount_fen == 14_400_000  # "144,000.00" read exactly, no float


def test_an_invoice_change_goes_through_the_service(client_as, finance_user, contract):
    invoice = invoice_record(contract=contract, number="FP-002", amount_fen=100_00, issued_on=date(2025, 10, 10))
    url = f"/admin/billing/invoice/{invoice.pk}/change/"
    c = client_as(finance_user)
    assert 'value="100.00"' in c.get(url).content.decode()  # shown in yuan from integer fen
    response = c.post(url, {"amount": "120.50", "received_on": "2025-10-09"})
    assert response.status_code == 200 and "收到日期不能早于开票日期" in response.content.decode()
    invoice.refresh_from_db()
    assert (invoice.amount_fen, invoice.received_on) == (100_00, None)
    assert c.post(url, {"amount": "120.50", "received_on": "2025-10-11"}).status_code == 302
    invoice.refresh_from_db()
    assert (invoice.amount_fen, invoice.received_on) == (120_50, date(2025, 10, 11))


def test_the_prepayment_is_10_percent_of_the_contract_total(client_as, finance_user, contract):
    c = client_as(finance_user)
    assert (
        c.post("/admin/billing/prepayment/add/", {"contract": contract.pk, "paid_on": "2025-09-20"}).status_code == 302
    )
    assert Prepayment.objects.get().amount_fen == 14_400_000  # 10% of 1,440,000.00


def test_a_bond_refunded_before_it_was_received_is_a_form_error(client_as, finance_user, contract):
    data = {"contract": contract.pk, "form": "guarantee", "issuer": "某银行", "reference": "BH-1",
            "received_on": "2025-09-01", "refunded_on": "2025-08-01"}  # fmt: skip
    c = client_as(finance_user)
    response = c.post("/admin/billing/performancebond/add/", data)
    assert response.status_code == 200 and "退还日期不能早于收到日期" in response.content.decode()
    assert not PerformanceBond.objects.exists()
    assert c.post("/admin/billing/performancebond/add/", {**data, "refunded_on": ""}).status_code == 302
    assert PerformanceBond.objects.get().amount_fen == 14_400_000
