"""Finance pages: statements with their PDF links, arrears ageing, payments with the allocation shown first."""

from datetime import date

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["finance_user", "police_user", "auditor_user"])
def test_finance_page_for_purchaser_roles(request, role, client_as, issued_statement):
    issued_statement(2025, 10, 123_456, date(2025, 11, 14))
    page = client_as(request.getfixturevalue(role)).get("/finance/").content.decode()
    assert "JS-202510-01" in page
    assert "/api/v1/statements/JSZC-320300-HWZX-D2025-0524/2025-10/pdf/" in page
    assert "1,234.56" in page


@pytest.mark.django_db
def test_carrier_staff_get_403_on_finance(client_as, carrier_user):
    response = client_as(carrier_user).get("/finance/")
    assert response.status_code == 403 and "无权访问" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["police_user", "auditor_user", "carrier_user"])
def test_only_finance_enters_payments(request, role, client_as, contract):
    assert client_as(request.getfixturevalue(role)).get(f"/finance/payments/{contract.pk}/").status_code == 403


@pytest.mark.django_db
def test_arrears_ageing_shows_buckets(client_as, finance_user, issued_statement):
    import time_machine

    issued_statement(2025, 10, 100_00, date(2025, 11, 14))
    with time_machine.travel(date(2026, 1, 20)):
        page = client_as(finance_user).get("/finance/").content.decode()
    assert 'id="arrears-total">¥100.00<' in page
    assert "逾期 61-90 天" in page


ASSESSMENT_PDF = "/api/v1/assessments/JSZC-320300-HWZX-D2025-0524/2025-10/pdf/"


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "page_url"), [("finance_user", "/finance/"), ("carrier_user", "/portal/")])
def test_the_assessment_sheet_is_linked_only_once_it_is_signed(
    request, role, page_url, client_as, issued_statement, contract
):
    from factories.assessment import AssessmentFactory

    statement = issued_statement(2025, 10, 123_456, date(2025, 11, 14))
    client = client_as(request.getfixturevalue(role))
    page = client.get(page_url).content.decode()
    assert ASSESSMENT_PDF not in page and "考核表未签署" in page  # no assessment for the month
    draft = AssessmentFactory(contract=contract)
    statement.assessment_id = draft.pk
    statement.save()
    assert ASSESSMENT_PDF not in client.get(page_url).content.decode()  # a draft has no sheet yet
    from assessment.services import assessment_sign

    assessment_sign(assessment=draft, by=request.getfixturevalue("police_user"))
    assert ASSESSMENT_PDF in client.get(page_url).content.decode()


@pytest.mark.django_db
def test_a_missing_document_opened_in_a_browser_is_a_styled_page_not_json(client_as, finance_user, contract):
    client = client_as(finance_user)
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for url in (ASSESSMENT_PDF, "/api/v1/statements/JSZC-320300-HWZX-D2025-0524/2025-10/pdf/"):
        response = client.get(url, HTTP_ACCEPT=browser)
        assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
        page = response.content.decode()
        assert "<html" in page and "文件不存在" in page and "返回仪表板" in page
    # an API client asking for JSON keeps the JSON error
    api = client.get(ASSESSMENT_PDF, HTTP_ACCEPT="application/json")
    assert api.status_code == 404 and api.json()["code"] == "assessment_not_found"
