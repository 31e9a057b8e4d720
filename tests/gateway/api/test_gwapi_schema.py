"""The OpenAPI schema, run against the intake API with generated requests: no request may cause a 5xx.

Requests are signed like a real API client's (HMAC), so they reach the views rather than stopping at
authentication. Bounded: at most 20 examples per operation.
"""

import json
import urllib.parse

import pytest
import schemathesis
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from factories.gateway import TEST_SECRET, ApiClientFactory
from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import utils as cu

from gateway.apiclient import signed_headers
from gateway.services.seed import gateway_seed_defaults


def _many_more(self) -> bool:
    """hypothesis-jsonschema 0.23 calls `many.more()`, which Hypothesis 6.170 replaced by iteration inside a
    `with` block. This adapter drives the new protocol the same way (enter once, next() per element)."""
    if not hasattr(self, "_compat_iter"):
        self.__enter__()
        self._compat_iter = iter(self)
    try:
        next(self._compat_iter)
    except StopIteration:
        self.__exit__(None)
        return False
    return True


if not hasattr(cu.many, "more"):
    cu.many.more = _many_more

RAW_SCHEMA = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
schema = schemathesis.from_dict(RAW_SCHEMA).include(path_regex=r"^/api/v1/(messages|optouts)/")


@pytest.fixture
def signer(contract):
    gateway_seed_defaults(contract=contract)
    row = ApiClientFactory(contract=contract, allow_free_content=True)
    return row.key_id


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_every_generated_request_without_a_server_error(case, signer):
    path = case.formatted_path
    if case.query:
        path += "?" + urllib.parse.urlencode(case.query, doseq=True)
    has_body = case.body is not None and type(case.body).__name__ != "NotSet"
    body = json.dumps(case.body).encode() if has_body else b""
    headers = signed_headers(signer, TEST_SECRET, case.method, path, body)
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    response = Client().generic(case.method, path, data=body, content_type="application/json", **meta)
    assert response.status_code < 500, (case.method, path, body[:200], response.content[:500])
    if not response.get("Content-Type", "").startswith("application/json"):
        # Only a path that no API route matches (e.g. a generated mobile containing "/") answers otherwise.
        assert response.status_code == 404, (case.method, path, response.status_code)
        return
    if response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
        error = response.json()
        assert set(error) >= {"code", "detail"}, error
