import pytest
from factories.gateway import TEST_SECRET, ApiClientFactory, DjangoTestApiClient

from gateway.services.seed import gateway_seed_defaults


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
