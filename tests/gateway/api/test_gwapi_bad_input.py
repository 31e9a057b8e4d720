"""Bad input to the API is a specific 4xx with a code, never a 500: absurd pagination, deeply nested JSON,
ids beyond bigint (X-Timestamp: tests/gateway/api/test_gwapi_auth.py)."""

import pytest
from django.test import Client
from factories.gateway import TEST_SECRET, ApiClientFactory

from gateway.apiclient import signed_headers
from gateway.models import Message
from sms_contract.parsers import json_depth_exceeds


def meta(headers: dict) -> dict:
    return {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}


@pytest.fixture
def row(gateway):
    return ApiClientFactory(contract=gateway, allow_free_content=True)


def signed(row, method: str, path: str, body: bytes = b""):
    headers = meta(signed_headers(row.key_id, TEST_SECRET, method, path, body))
    return Client().generic(method, path, data=body, content_type="application/json", **headers)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=99999999999999999999", "invalid_limit"),
        ("limit=1000000", "invalid_limit"),
        ("limit=501", "invalid_limit"),
        ("limit=0", "invalid_limit"),
        ("limit=-1", "invalid_limit"),
        ("limit=abc", "invalid_limit"),
        ("limit=%EF%BC%95", "invalid_limit"),  # a full-width 5
        ("offset=99999999999999999999", "invalid_offset"),
        ("offset=-5", "invalid_offset"),
    ],
)
def test_absurd_pagination_on_signed_message_list_is_a_400_with_a_code(row, query, code):
    response = signed(row, "GET", f"/api/v1/messages/?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code


@pytest.mark.parametrize("path", ["/api/v1/contracts/?limit=99999999999999999999", "/api/v1/contracts/?limit=1000000"])
def test_absurd_pagination_on_every_paginated_list_is_a_400(api_as, police_user, path):
    response = api_as(police_user).get(path)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_limit")


def test_largest_page_is_500_and_the_default_100(row, gateway):
    from factories.gateway import MessageFactory

    MessageFactory.create_batch(3, contract=gateway, client=row)
    page = signed(row, "GET", "/api/v1/messages/?limit=500").json()
    assert page["count"] == 3 and len(page["results"]) == 3
    assert signed(row, "GET", "/api/v1/messages/?limit=2&offset=1").json()["next"] is None


def test_max_page_size_is_a_setting(row, settings):
    settings.API_MAX_PAGE_SIZE = 10
    assert signed(row, "GET", "/api/v1/messages/?limit=11").json()["code"] == "invalid_limit"
    assert signed(row, "GET", "/api/v1/messages/?limit=10").status_code == 200


@pytest.mark.parametrize("depth", [100_000, 5_000, 33])
def test_deeply_nested_json_body_is_a_400_and_queues_nothing(row, depth):
    body = ("[" * depth + "]" * depth).encode()
    for path in ("/api/v1/messages/", "/api/v1/messages/batch/"):
        response = signed(row, "POST", path, body)
        assert response.status_code == 400, response.content[:200]
        assert response.json()["code"] == "json_too_deep"
    assert not Message.objects.exists()


def test_nesting_within_the_limit_gets_the_ordinary_answer(row):
    body = b'{"mobile": "13912345678", "content": "x", "params": {"a": [[[1]]]}}'
    response = signed(row, "POST", "/api/v1/messages/", body)
    assert response.status_code == 202, response.content


def test_malformed_json_stays_a_parse_error(row):
    response = signed(row, "POST", "/api/v1/messages/", b'{"mobile": ')
    assert (response.status_code, response.json()["code"]) == (400, "parse_error")


def test_depth_check_counts_arrays_and_objects():
    assert not json_depth_exceeds({"a": [{"b": 1}]}, 3)
    assert json_depth_exceeds({"a": [{"b": []}]}, 3)
    assert not json_depth_exceeds("[[[[", 1)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/messages/99999999999999999999/", "/api/v1/carrier-bills/99999999999999999999/"],
)
def test_ids_beyond_bigint_are_not_found(row, path):
    response = signed(row, "GET", path)
    assert response.status_code == 404


def test_portal_ids_beyond_bigint_are_not_found(client, carrier_user):
    client.force_login(carrier_user)
    assert client.get("/portal/bills/99999999999999999999/").status_code == 404
