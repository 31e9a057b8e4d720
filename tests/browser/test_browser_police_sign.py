"""A police user signs the month's assessment in the Django admin (Chinese), and the sheet becomes signed."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_police_user_signs_an_assessment_in_the_admin(login, page, screenshot, contract, police_user):
    from factories.assessment import FULL_SCORES

    from assessment.models import Assessment

    assessment = Assessment.objects.create(
        contract=contract, year=2025, month=10, scores=dict(FULL_SCORES), total=100, payment_ratio=1
    )
    login(police_user)
    page.goto("/admin/assessment/assessment/")
    assert "考核" in page.locator("#content h1").inner_text()
    page.check(f"input[name=_selected_action][value='{assessment.pk}']")
    page.select_option("select[name=action]", "sign_selected")
    screenshot("before-sign")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert "已签署" in page.locator(".messagelist").inner_text()
    screenshot("signed")
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SIGNED
    assert assessment.signed_by == police_user
