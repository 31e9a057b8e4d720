"""Intake while a dependency is away: with Redis unreachable signed requests are still accepted (replay
protection and daily limits fall back to PostgreSQL), /healthz/ says "degraded" per dependency, and every
API error, 500 and 503 included, is a JSON body with a code. The bundled client raises ApiError on a
non-JSON answer."""

import http.server
import threading
from unittest import mock

import pytest
from django.core.cache import caches
from django.db import OperationalError
from django.test import RequestFactory
from factories.gateway import TEST_SECRET

from gateway.apiclient import ApiError, SmsApiClient, signed_headers
from gateway.models import ApiNonce, Message

DEAD_REDIS = "redis://127.0.0.1:17999/0"  # nothing listens there (the port range of this suite's author)


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = DEAD_REDIS
    settings.GATEWAY_NONCE_STORE = "cache"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    yield
    caches["default"].close()


@pytest.mark.django_db
def test_intake_keeps_accepting_with_redis_down_and_limits_hold(redis_down, free_api, settings):
    settings.GATEWAY_MOBILE_DAILY_LIMIT = 2
    first = free_api.send(mobile="13912345678", content="一")
    result = free_api.send_batch(
        [{"mobile": "13912345678", "content": "二"}, {"mobile": "13912345678", "content": "三"}]
    )
    assert first["status"] == "queued"
    assert [a["index"] for a in result["accepted"]] == [0]
    assert [r["code"] for r in result["rejected"]] == ["rate_limited"]  # counted in PostgreSQL
    assert Message.objects.filter(mobile="13912345678").count() == 2


@pytest.mark.django_db
def test_client_daily_limit_is_counted_in_the_database_with_redis_down(redis_down, free_api, settings):
    settings.GATEWAY_CLIENT_DAILY_LIMIT = 3
    result = free_api.send_batch([{"mobile": f"1391234567{i}", "content": "通知"} for i in range(5)])
    assert len(result["accepted"]) == 3 and len(result["rejected"]) == 2


@pytest.mark.django_db
def test_replayed_nonce_is_refused_with_redis_down(redis_down, make_api):
    row, _ = make_api(allow_free_content=True)
    from django.test import Client

    body = b'{"mobile": "13912345678", "content": "x"}'
    path = "/api/v1/messages/"
    headers = signed_headers(row.key_id, TEST_SECRET, "POST", path, body)
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    client = Client()
    assert client.post(path, body, content_type="application/json", **meta).status_code == 202
    again = client.post(path, body, content_type="application/json", **meta)
    assert again.status_code == 401 and again.json()["code"] == "nonce_reused"
    assert ApiNonce.objects.filter(key_id=row.key_id).count() == 1


@pytest.mark.django_db
def test_nonce_used_during_an_outage_is_refused_after_redis_is_back(settings, make_api):
    """Back from an outage, Redis does not know the nonces the database recorded meanwhile."""
    from gateway.auth import nonce_remember
    from gateway.services import nonces

    settings.GATEWAY_NONCE_STORE = "cache"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with mock.patch("gateway.auth.cache.add", side_effect=ConnectionError("down")):
        assert nonce_remember("k1", "nonce-during-outage", ttl=660) is True
    nonces._outage_cache[1] = 0.0
    assert nonce_remember("k1", "nonce-during-outage", ttl=660) is False  # Redis says new; the DB knows it
    assert nonce_remember("k1", "a-fresh-nonce-123", ttl=660) is True


@pytest.mark.django_db
def test_healthz_reports_each_dependency_and_degraded_without_redis(client, redis_down):
    response = client.get("/healthz/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["database"] == "ok" and body["redis"] != "ok"


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_away(client):
    with mock.patch("sms_contract.views._check_database", return_value="OperationalError"):
        response = client.get("/healthz/")
    assert response.status_code == 503 and response.json()["status"] == "error"


@pytest.mark.django_db
def test_unexpected_error_in_the_api_is_json_500(free_api):
    with (
        mock.patch("gateway.api.views.messages_submit", side_effect=RuntimeError("boom")),
        pytest.raises(ApiError) as info,
    ):
        free_api.send(mobile="13912345678", content="x")
    assert (info.value.status, info.value.code) == (500, "server_error")
    assert "boom" not in info.value.detail  # no internals leak


@pytest.mark.django_db
def test_database_away_in_the_api_is_json_503(free_api):
    with (
        mock.patch("gateway.api.views.messages_submit", side_effect=OperationalError("connection refused")),
        pytest.raises(ApiError) as info,
    ):
        free_api.send(mobile="13912345678", content="x")
    assert (info.value.status, info.value.code) == (503, "database_unavailable")


def test_handler500_answers_json_under_api_and_html_elsewhere():
    from sms_contract.views import server_error

    factory = RequestFactory()
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        api = server_error(factory.get("/api/v1/messages/"))
    assert api.status_code == 503 and api["Content-Type"] == "application/json"
    try:
        raise RuntimeError("x")
    except RuntimeError:
        api = server_error(factory.get("/api/v1/messages/"))
        page = server_error(factory.get("/portal/"))
    assert api.status_code == 500 and b'"code": "server_error"' in api.content
    assert page.status_code == 500 and b"<" in page.content


def test_client_raises_api_error_on_a_non_json_answer():
    class Html(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Html)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = SmsApiClient(f"http://127.0.0.1:{server.server_address[1]}", "key", "secret", timeout=5)
        with pytest.raises(ApiError) as info:
            client.send(mobile="13912345678", content="x")
        assert (info.value.status, info.value.code) == (502, "not_json")
        assert "Bad Gateway" in info.value.detail
    finally:
        server.shutdown()
