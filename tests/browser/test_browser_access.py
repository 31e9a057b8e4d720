"""A carrier user logs in through the real form, cannot open a police-only page and sees masked numbers."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_carrier_gets_403_on_a_police_page_and_sees_only_masked_numbers(
    login, page, screenshot, contract, carrier_user, make_user
):
    from factories.assessment import ComplaintFactory

    ComplaintFactory(contract=contract, complainant_mobile="13912345678")
    login(carrier_user)
    assert page.locator("h1").inner_text().startswith("仪表板")
    body = page.content()
    assert "139****5678" in body and "13912345678" not in body
    screenshot("dashboard")

    response = page.goto("/police/lifecycle/")
    assert response.status == 403
    assert "无权访问" in page.locator("h1").inner_text()
    screenshot("police-page-403")
