import pytest
from django.test import Client
from factories.gateway import TEST_SECRET, ApiClientFactory

from gateway.apiclient import SmsApiClient
from gateway.services.seed import gateway_seed_defaults


class DjangoTestApiClient(SmsApiClient):
    """The bundled client, sending through Django's test client instead of a socket."""

    def __init__(self, key: str, secret: str):
        super().__init__("http://testserver", key, secret)
        self.django = Client()

    def _roundtrip(self, method, path, body, headers):
        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"}
        response = self.django.generic(
            method, path, data=body, content_type=headers.get("Content-Type", "application/octet-stream"), **meta
        )
        return response.status_code, response.content


@pytest.fixture
def gateway(contract):
    """The seed contract with the gateway defaults (profile, segments, notice types, templates, links)."""
    gateway_seed_defaults(contract=contract)
    return contract


@pytest.fixture
def make_api(gateway):
    """make_api(**client fields) -> (ApiClient row, signed client talking to the test server)."""

    def _make(**fields):
        row = ApiClientFactory(contract=gateway, **fields)
        return row, DjangoTestApiClient(row.key_id, TEST_SECRET)

    return _make


@pytest.fixture
def api(make_api):
    return make_api()[1]


@pytest.fixture
def free_api(make_api):
    return make_api(allow_free_content=True)[1]
