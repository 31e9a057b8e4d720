"""Production behind the reverse proxy: health checks by IP, forwarded headers only from the proxy, static files
served with DEBUG off (WhiteNoise, hashed and compressed)."""

import re

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory

from sms_contract.middleware import TrustedProxyMiddleware

PROXY = "172.30.18.10"


@pytest.fixture
def production(settings):
    """DEBUG off, the real host name, HTTPS redirect, one trusted proxy (what compose sets)."""
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["sms.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXIES = [PROXY]
    return settings


@pytest.mark.django_db
def test_health_check_by_ip_passes_with_the_real_host_name_and_https_redirect(production):
    """The container health check curls http://127.0.0.1:8000/healthz/: neither 400 DisallowedHost nor 301."""
    response = Client().get("/healthz/", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_other_pages_still_refuse_an_unknown_host_and_redirect_plain_http(production):
    client = Client()
    assert client.get("/accounts/login/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    response = client.get("/accounts/login/", HTTP_HOST="sms.example.org")
    assert response.status_code == 301
    assert response["Location"] == "https://sms.example.org/accounts/login/"


@pytest.mark.django_db
def test_https_said_by_the_proxy_is_believed(production):
    response = Client(REMOTE_ADDR=PROXY).get(
        "/accounts/login/", HTTP_HOST="sms.example.org", HTTP_X_FORWARDED_PROTO="https"
    )
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
def test_https_claimed_by_anyone_else_is_not(production):
    """A client reaching gunicorn directly cannot pretend the request came over HTTPS."""
    response = Client(REMOTE_ADDR="10.9.8.7").get(
        "/accounts/login/", HTTP_HOST="sms.example.org", HTTP_X_FORWARDED_PROTO="https"
    )
    assert response.status_code == 301


def _through(remote_addr: str, **headers) -> dict:
    seen = {}

    def view(request):
        seen.update(request.META)

    TrustedProxyMiddleware(view)(RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers))
    return seen


def test_the_client_address_comes_from_the_proxy_only(settings):
    """Login lock-outs (django-axes reads REMOTE_ADDR) count the real client behind the proxy, and nobody else
    can choose the address they are counted under."""
    settings.TRUSTED_PROXIES = ["172.30.18.0/24"]
    via_proxy = _through(PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9", HTTP_X_FORWARDED_PROTO="https")
    assert via_proxy["REMOTE_ADDR"] == "203.0.113.9"
    assert via_proxy["HTTP_X_FORWARDED_PROTO"] == "https"
    # a forged entry sent to the proxy stays on the left; the proxy's own (last) entry counts
    assert _through(PROXY, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")["REMOTE_ADDR"] == "203.0.113.9"
    direct = _through("10.9.8.7", HTTP_X_FORWARDED_FOR="1.2.3.4", HTTP_X_FORWARDED_PROTO="https")
    assert direct["REMOTE_ADDR"] == "10.9.8.7"
    assert "HTTP_X_FORWARDED_FOR" not in direct and "HTTP_X_FORWARDED_PROTO" not in direct


@pytest.mark.django_db
def test_static_files_are_served_hashed_and_compressed_with_debug_off(production, tmp_path):
    """What the image collects (`collectstatic` at build) is served by the app itself: the admin and the portal
    have their styles in production."""
    production.STATIC_ROOT = tmp_path / "static"
    production.STORAGES = {
        **production.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    production.WHITENOISE_USE_FINDERS = False
    production.WHITENOISE_AUTOREFRESH = False
    # the admin and portal styles show it; DRF's files and the big vendor scripts take long to compress
    call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=["rest_framework", "vendor"])

    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https")
    plain = client.get("/static/admin/css/base.css", HTTP_HOST="sms.example.org")
    assert plain.status_code == 200
    page = client.get("/admin/login/", HTTP_HOST="sms.example.org").content.decode()
    hashed = re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css", page)
    assert hashed, "the admin stylesheet should be linked under its hashed name"
    response = client.get(hashed.group(0), HTTP_HOST="sms.example.org", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
