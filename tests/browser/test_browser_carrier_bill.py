"""A carrier user uploads the month's bill in the browser (progress bar, XHR) and sees the reconciliation."""

from datetime import date

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_carrier_uploads_a_bill_and_sees_the_reconciliation(login, page, screenshot, contract, carrier_user, tmp_path):
    from django.utils import timezone

    from gateway.models import DailyCount

    today = timezone.localdate()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    period = f"{year:04d}-{month:02d}"
    DailyCount.objects.create(contract=contract, day=date(year, month, 1), accepted_units=1200, accepted_messages=1200)
    DailyCount.objects.create(contract=contract, day=date(year, month, 2), accepted_units=800, accepted_messages=800)
    bill = tmp_path / f"bill-{period}.csv"
    bill.write_text(f"日期,条数\n{period}-01,1200\n{period}-02,815\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"日期,条数\n{period}-01,1200\n{period}-02,八百\n", encoding="utf-8")

    login(carrier_user)
    page.goto("/portal/")
    page.select_option("select[name=period]", period)

    # a bad file: the row-numbered errors appear in the table, nothing is saved
    page.set_input_files("input[name=file]", str(bad))
    page.click("#bill-upload button[type=submit]")
    page.wait_for_selector("#upload-errors:not([hidden])")
    assert page.locator("#upload-errors tbody tr td.num").first.inner_text() == "3"
    screenshot("bad-file-errors")

    page.set_input_files("input[name=file]", str(bill))
    page.click("#bill-upload button[type=submit]")
    page.wait_for_url("**/portal/bills/*/")
    table = page.locator("#reconciliation").inner_text()
    assert "2,015" in table and "2,000" in table  # their total against ours
    assert "15" in table
    screenshot("reconciliation")
