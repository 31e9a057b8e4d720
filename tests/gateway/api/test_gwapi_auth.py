"""HMAC request signing: every failure mode answers 401 with its own code; rotation keeps both secrets."""

import json
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from factories.gateway import TEST_SECRET, ApiClientFactory

from gateway.apiclient import sign, signed_headers
from gateway.models import ApiClient, ApiNonce
from gateway.services.clients import api_client_create, api_client_rotate

PATH = "/api/v1/messages/?client_ref=x"


def meta(headers: dict) -> dict:
    return {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}


@pytest.fixture
def row(gateway):
    return ApiClientFactory(contract=gateway)


def get(headers, path=PATH):
    return Client().get(path, **meta(headers))


def test_valid_signature_is_accepted(row):
    response = get(signed_headers(row.key_id, TEST_SECRET, "GET", PATH, b""))
    assert response.status_code == 200, response.content


def test_signature_covers_the_body(row):
    body = json.dumps({"mobile": "13912345678", "content": "x"}).encode()
    headers = signed_headers(row.key_id, TEST_SECRET, "POST", "/api/v1/messages/", b"{}")  # signed another body
    response = Client().post("/api/v1/messages/", data=body, content_type="application/json", **meta(headers))
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda h: h.pop("X-Nonce"), "missing_headers"),
        (lambda h: h.update({"X-Api-Key": "k_nobody"}), "bad_signature"),
        (lambda h: h.update({"X-Signature": "0" * 64}), "bad_signature"),
        (lambda h: h.update({"X-Signature": "not-hex"}), "bad_signature"),
        (lambda h: h.update({"X-Timestamp": "yesterday"}), "bad_timestamp"),
        (lambda h: h.update({"X-Nonce": "short"}), "bad_nonce"),
    ],
)
def test_failure_modes(row, mutate, code):
    headers = signed_headers(row.key_id, TEST_SECRET, "GET", PATH, b"")
    mutate(headers)
    response = get(headers)
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response["WWW-Authenticate"].startswith("HMAC-SHA256")


def test_path_with_query_string_is_signed(row):
    headers = signed_headers(row.key_id, TEST_SECRET, "GET", "/api/v1/messages/?client_ref=other", b"")
    assert get(headers).json()["code"] == "bad_signature"


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamp_more_than_300_seconds_off_is_expired(row, offset):
    headers = signed_headers(row.key_id, TEST_SECRET, "GET", PATH, b"", now=time.time() + offset)
    response = get(headers)
    assert (response.status_code, response.json()["code"]) == (401, "signature_expired")


def test_timestamp_within_window_is_accepted(row):
    assert get(signed_headers(row.key_id, TEST_SECRET, "GET", PATH, b"", now=time.time() - 290)).status_code == 200


def test_disabled_client_learns_it_only_with_a_valid_signature(row):
    ApiClient.objects.filter(pk=row.pk).update(enabled=False)
    response = get(signed_headers(row.key_id, TEST_SECRET, "GET", PATH, b""))
    assert (response.status_code, response.json()["code"]) == (401, "client_disabled")


def test_unknown_and_disabled_keys_answer_exactly_like_a_wrong_signature(row, gateway):
    disabled = ApiClientFactory(contract=gateway, enabled=False)
    answers = []
    for key in (row.key_id, disabled.key_id, "k_nobody", "k\x00bad" + "x" * 80):
        headers = signed_headers(key, "not-the-secret", "GET", PATH, b"")
        response = get(headers)
        answers.append((response.status_code, response.content, response["WWW-Authenticate"]))
    assert len(set(answers)) == 1 and answers[0][0] == 401
    assert json.loads(answers[0][1])["code"] == "bad_signature"


def test_unknown_key_is_verified_against_a_decoy_secret_like_a_known_one(row, monkeypatch):
    from gateway import auth

    calls = []
    real = auth.decrypt_secret
    monkeypatch.setattr(auth, "decrypt_secret", lambda token: calls.append(token) or real(token))
    monkeypatch.setattr(auth, "api_client_verification_secrets", lambda client, now: calls.append(client) or ["s"])
    for key in (row.key_id, "k_nobody"):
        get(signed_headers(key, "wrong", "GET", PATH, b""))
    assert len(calls) == 2  # one secret looked up and decrypted per request, known or not


@pytest.mark.parametrize("timestamp", ["9" * 400, "1" * 13, "-1", "１７６７２２５６００", "1e9"])
def test_absurd_timestamps_are_bad_timestamp_not_a_server_error(row, timestamp):
    headers = signed_headers(row.key_id, TEST_SECRET, "GET", PATH, b"")
    headers["X-Timestamp"] = timestamp
    response = get(headers)
    assert (response.status_code, response.json()["code"]) == (401, "bad_timestamp")


@pytest.mark.parametrize("store", ["db", "cache"])
def test_reused_nonce_is_refused(row, settings, store):
    settings.GATEWAY_NONCE_STORE = store
    cache.clear()
    headers = signed_headers(row.key_id, TEST_SECRET, "GET", PATH, b"")
    assert get(headers).status_code == 200
    response = get(headers)
    assert (response.status_code, response.json()["code"]) == (401, "nonce_reused")
    assert ApiNonce.objects.exists() is (store == "db")


def test_nonce_of_a_bad_request_is_not_burnt(row):
    headers = signed_headers(row.key_id, TEST_SECRET, "GET", PATH, b"")
    good = headers["X-Signature"]
    headers["X-Signature"] = "0" * 64
    assert get(headers).status_code == 401
    headers["X-Signature"] = good
    assert get(headers).status_code == 200


def test_signature_matches_the_documented_example():
    # The worked example in docs/api.md.
    body = b'{"mobile": "13912345678", "template_code": "licence_score", "params": {"points": "3"}}'
    assert sign("s3cr3t-example", "POST", "/api/v1/messages/", "1767225600", "4f1c2a9e8b7d6c5a", body) == (
        "685571be64ed8b1660e074ab0f3d39e7f90f26d702a6ed0d30e5d3b7c9756c8a"
    )


def test_rotation_keeps_the_previous_secret_until_the_overlap_ends(contract):
    client, old = api_client_create(contract=contract, name="platform")
    new = api_client_rotate(client=client, overlap_hours=24)
    assert new.key == old.key and new.secret != old.secret
    for secret in (old.secret, new.secret):
        assert get(signed_headers(client.key_id, secret, "GET", PATH, b"")).status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(previous_valid_until=timezone.now() - timedelta(seconds=1))
    assert get(signed_headers(client.key_id, old.secret, "GET", PATH, b"")).json()["code"] == "bad_signature"
    assert get(signed_headers(client.key_id, new.secret, "GET", PATH, b"")).status_code == 200


def test_rotation_without_overlap_ends_the_old_secret_at_once(contract):
    client, old = api_client_create(contract=contract, name="cs")
    new = api_client_rotate(client=client, overlap_hours=0)
    assert get(signed_headers(client.key_id, old.secret, "GET", PATH, b"")).status_code == 401
    assert get(signed_headers(client.key_id, new.secret, "GET", PATH, b"")).status_code == 200


def test_secret_is_stored_encrypted(contract):
    client, creds = api_client_create(contract=contract, name="enc")
    client.refresh_from_db()
    assert creds.secret not in client.secret_encrypted


def test_no_credentials_is_401(gateway):
    response = Client().get(PATH)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_staff_session_may_read_but_not_send(client_as, police_user):
    web = client_as(police_user)
    assert web.get(PATH).status_code == 200
    response = web.post("/api/v1/messages/", data={"mobile": "13912345678"}, content_type="application/json")
    assert response.status_code == 403


def test_carrier_staff_may_not_read_messages(client_as, carrier_user):
    response = client_as(carrier_user).get(PATH)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
