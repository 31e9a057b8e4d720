"""A finance user opens the finance page and downloads a statement as PDF."""

from datetime import date
from decimal import Decimal

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_finance_user_downloads_a_statement_pdf(login, page, screenshot, contract, finance_user, tmp_path):
    from billing.models import Statement

    Statement.objects.create(
        contract=contract,
        year=2025,
        month=10,
        number="JS-202510-01",
        state=Statement.State.ISSUED,
        unit_price=Decimal("0.03"),
        units=4_115_200,
        gross_fen=12_345_600,
        payable_fen=12_345_600,
        billable_fen=12_345_600,
        prepayment_applied_fen=12_345_600,
        prepayment_balance_fen=2_054_400,
        due_on=date(2025, 11, 14),
    )
    login(finance_user)
    page.goto("/finance/")
    assert "JS-202510-01" in page.locator("#statements").inner_text()
    screenshot("finance")
    with page.expect_download() as info:
        page.click("#statements a.pdf")
    target = tmp_path / "statement.pdf"
    info.value.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")
    assert info.value.suggested_filename.endswith(".pdf")
