"""The OpenAPI schema tells the truth: schemathesis generates requests for every operation under /api/v1/ and
checks every answer against the schema (status code documented, content type, body, headers) and that none is
a server error. Run twice: signed like an API client (HMAC) and with a staff token (police staff).

Bounded: a few examples per operation, so the whole file runs in well under a minute.
"""

import json
import urllib.parse

import pytest
import requests
import schemathesis
from django.test import Client
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from factories.gateway import TEST_SECRET, ApiClientFactory
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.specs.openapi.checks import ignored_auth

from gateway.apiclient import signed_headers
from gateway.services.seed import gateway_seed_defaults

RAW_SCHEMA = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
schema = schemathesis.from_dict(RAW_SCHEMA, base_url="http://testserver").include(path_regex=r"^/api/v1/")
EXAMPLES = settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def _request_parts(case) -> tuple[str, bytes]:
    path = case.formatted_path
    if case.query:
        path += "?" + urllib.parse.urlencode(case.query, doseq=True)
    has_body = case.body is not None and type(case.body).__name__ != "NotSet"
    return path, (json.dumps(case.body).encode() if has_body else b"")


def _send(case, path: str, body: bytes, headers: dict) -> requests.Response:
    """Send through Django's test client and hand schemathesis the answer as a `requests.Response`."""
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    answer = Client().generic(case.method, path, data=body, content_type="application/json", **meta)
    response = requests.Response()
    response.status_code = answer.status_code
    response.headers = requests.structures.CaseInsensitiveDict(answer.headers)
    response._content = answer.content
    response.url = "http://testserver" + path
    response.encoding = "utf-8"
    response.request = requests.Request(
        case.method, response.url, data=body, headers={**headers, "Content-Type": "application/json"}
    ).prepare()
    return response


def _check(case, path: str, response: requests.Response) -> None:
    try:
        resolve(urllib.parse.urlsplit(path).path)
    except Resolver404:
        # A generated path parameter with "/" or "%2F" in it leaves the operation: no API route answers it.
        assert response.status_code == 404, (case.method, path)
        return
    assert response.status_code < 500, (case.method, path, response.content[:500])
    # Authentication is ours (signed_headers / the token), not the security parameters schemathesis generates, so
    # its "auth declared but not enforced" probe does not apply; tests/gateway/api/test_gwapi_auth.py covers it.
    case.validate_response(response, excluded_checks=(ignored_auth,))


@pytest.fixture
def signer(contract):
    gateway_seed_defaults(contract=contract)
    return ApiClientFactory(contract=contract, allow_free_content=True).key_id


@pytest.fixture
def staff_token(contract, police_user):
    gateway_seed_defaults(contract=contract)
    return AuthToken.objects.create(user=police_user, expiry=None)[1]


@pytest.mark.django_db
@schema.parametrize()
@EXAMPLES
def test_signed_client_gets_only_documented_answers_from_every_operation(case, signer):
    path, body = _request_parts(case)
    headers = signed_headers(signer, TEST_SECRET, case.method, path, body)
    _check(case, path, _send(case, path, body, headers))


@pytest.mark.django_db
@schema.parametrize()
@EXAMPLES
def test_staff_token_gets_only_documented_answers_from_every_operation(case, staff_token):
    path, body = _request_parts(case)
    _check(case, path, _send(case, path, body, {"Authorization": f"Token {staff_token}"}))


def test_message_list_is_documented_as_the_paginated_object_it_answers():
    operation = RAW_SCHEMA["paths"]["/api/v1/messages/"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = RAW_SCHEMA["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 500


def test_every_operation_documents_its_error_answers():
    for path, operations in RAW_SCHEMA["paths"].items():
        for method, operation in operations.items():
            assert {"400", "401", "403"} <= set(operation["responses"]), (method, path)
            if "{" in path:
                assert "404" in operation["responses"], (method, path)
