"""Security headers and closed doors in production (8.1): a Content-Security-Policy that the admin, the portal
and Swagger UI live with (no inline script anywhere), HSTS, `/metrics` and the schema pages closed to anonymous
visitors unless a setting opens them, and `check --deploy` clean with production settings."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


@pytest.fixture
def staff(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw-for-tests-1")
    client.force_login(user)
    return client


def test_pages_carry_a_csp_that_allows_scripts_only_from_this_server(staff):
    for url in ("/admin/", "/admin/gateway/optout/add/", "/api/docs/", "/accounts/login/"):
        response = staff.get(url)
        assert response.status_code == 200, url
        policy = csp(response)
        assert policy["script-src"] == "script-src 'self'", url
        assert policy["object-src"] == "object-src 'none'" and policy["frame-ancestors"] == "frame-ancestors 'none'"


@pytest.mark.parametrize(
    "url", ["/admin/", "/admin/gateway/optout/add/", "/admin/gateway/message/", "/api/docs/", "/accounts/login/"]
)
def test_no_page_needs_an_inline_script(staff, url):
    html = staff.get(url).content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)


def test_swagger_ui_is_served_from_this_server_with_its_script_as_a_file(staff):
    html = staff.get("/api/docs/").content.decode()
    sources = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert sources and all(src.startswith("/") for src in sources), sources
    assert any("script" in src for src in sources)
    script = staff.get(next(src for src in sources if "?script" in src or "&script" in src))
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert "cdn" not in html.lower()


def test_schema_and_docs_are_closed_to_anonymous_users_by_default(client, db, settings):
    assert settings.PUBLIC_API_DOCS is False
    for url in ("/api/schema/", "/api/docs/"):
        response = client.get(url)
        assert response.status_code in (401, 403), url
        assert b"/api/v1/" not in response.content and b"swagger" not in response.content.lower()


def test_schema_is_served_to_staff(staff):
    response = staff.get("/api/schema/")
    assert response.status_code == 200 and b"/api/v1/messages/" in response.content


def test_metrics_need_the_bearer_token_or_staff(client, db, settings):
    settings.METRICS_TOKEN = "s3cret-scrape"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape").status_code == 200
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    settings.PUBLIC_METRICS = True
    assert client.get("/metrics").status_code == 200


def test_metrics_open_to_signed_in_staff(staff):
    assert staff.get("/metrics").status_code == 200


def _production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PUBLIC_", "SECURE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="sms_contract.settings.base",
        DJANGO_READ_DOT_ENV_FILE="false",  # never a developer's `make run` .env (refused with DEBUG off)
        DEBUG="false",
        SECRET_KEY="q8Zt1vP0mkR7wX2nL9cB4yH6jD3sF5gA0eU8iO1pQ2rS3tV4wX5yZ6aB7cD8eF9-prod-like",
        SECRETS_ENCRYPTION_KEYS="kG6Y6wVqf8nq7Y1M4f2hJ0pX3cQ9rT5uW8zA1bC4dE0=",
        EMAIL_URL="smtp://127.0.0.1:25",
        ALLOWED_HOSTS="sms.example.org",
        REDIS_URL="redis://:pw@127.0.0.1:6379/0",
        CELERY_BROKER_URL="redis://:pw@127.0.0.1:6379/1",
    )
    env.update(extra)
    return env


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_defaults_close_docs_and_metrics_and_send_hsts():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.PUBLIC_API_DOCS, s.PUBLIC_METRICS, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_production_env(), capture_output=True, text=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[false, false, 31536000, true]", result.stderr
