"""The billing admin: uploads, statement actions by role, the payment preview step, pages render."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from factories.billing import csv_bytes, daily_rows, outcome

from billing.models import CarrierBill, ImportedDailyUnits, Statement
from billing.services.statements import statement_close_month

pytestmark = pytest.mark.django_db


def test_success_count_upload_page_imports_and_reports_rows(contract, client_as, finance_user):
    c = client_as(finance_user)
    url = "/admin/billing/successcountimport/upload/"
    assert c.get(url).status_code == 200
    bad = SimpleUploadedFile("bad.csv", b"date,units\n2025-10-01,x\n")
    page = c.post(url, {"contract": contract.pk, "file": bad}, follow=True)
    assert "第 2 行，列 units" in page.content.decode()
    assert not ImportedDailyUnits.objects.exists()
    good = SimpleUploadedFile("ok.csv", csv_bytes(daily_rows(2025, 10, 5)).getvalue())
    assert c.post(url, {"contract": contract.pk, "file": good}).status_code == 302
    assert ImportedDailyUnits.objects.count() == 3


def test_carrier_bill_upload_page_and_reconciliation(contract, client_as, finance_user):
    c = client_as(finance_user)
    file = SimpleUploadedFile("bill.csv", csv_bytes(daily_rows(2025, 10, 5)).getvalue())
    response = c.post(
        "/admin/billing/carrierbill/upload/", {"contract": contract.pk, "period": "2025-10", "file": file}
    )
    assert response.status_code == 302
    bill = CarrierBill.objects.get()
    page = c.get(f"/admin/billing/carrierbill/{bill.pk}/change/").content.decode()
    assert "差异率" in page and "2025-10-01" in page


def test_statement_actions_follow_roles(
    contract, client_as, police_user, finance_user, set_outcome, gateway_days, locked
):
    gateway_days({date(2025, 10, 1): 6_000_000})
    set_outcome({(2025, 10): outcome(85)})
    s = statement_close_month(contract=contract, year=2025, month=10)
    url = "/admin/billing/statement/"
    # finance cannot approve; police can
    client_as(finance_user).post(url, {"action": "approve", "_selected_action": [s.pk]})
    assert Statement.objects.get().state == "draft"
    client_as(police_user).post(url, {"action": "approve", "_selected_action": [s.pk]})
    assert Statement.objects.get().state == "approved"
    client_as(police_user).post(url, {"action": "issue", "_selected_action": [s.pk]})
    assert Statement.objects.get().state == "approved"
    client_as(finance_user).post(url, {"action": "issue", "_selected_action": [s.pk]})
    assert Statement.objects.get().state == "issued"
    page = client_as(finance_user).get(url).content.decode()
    assert "JS-202510-0524-01" in page and "/pdf/" in page


@pytest.mark.parametrize(
    "page",
    ["calendarday", "calendaryear", "importeddailyunits", "invoice", "prepayment", "performancebond", "payment"],
)
def test_admin_lists_render_for_auditor(page, contract, client_as, auditor_user):
    assert client_as(auditor_user).get(f"/admin/billing/{page}/").status_code == 200
