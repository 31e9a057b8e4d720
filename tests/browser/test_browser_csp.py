"""The Content-Security-Policy breaks nothing: the admin's scripts run (date shortcuts), Swagger UI renders the
schema from this server, the carrier portal loads its upload script; the browser reports no CSP violation."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _watch_violations(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None)
    return seen


def test_admin_and_swagger_ui_work_under_the_csp(login, page, screenshot, police_user, settings):
    violations = _watch_violations(page)
    login(police_user)
    page.goto("/admin/gateway/optout/add/")
    page.wait_for_selector(".datetimeshortcuts a")  # DateTimeShortcuts.js ran and added "今天" / "现在"
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "12123 SMS contract API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector("text=/api/v1/messages/")
    screenshot("swagger")
    assert violations == []


def test_carrier_portal_loads_its_script_under_the_csp(login, page, carrier_user, contract):
    violations = _watch_violations(page)
    login(carrier_user)
    response = page.goto("/portal/")
    assert response.ok
    policy = dict(d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";") if d.strip())
    assert policy["script-src"] == "'self'"  # the directives come in no fixed order
    page.wait_for_load_state("networkidle")
    assert violations == []
