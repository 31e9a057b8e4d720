import pytest
from factories.contracts import ContractFactory


@pytest.mark.django_db
def test_contract_list_shows_amounts_as_two_decimal_strings(api_as, police_user):
    response = api_as(police_user).get("/api/v1/contracts/")
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["number"] == "JSZC-320300-HWZX-D2025-0524"
    assert row["name"] == "12123 平台短信-移动用户"
    assert row["purchaser"]["name"] == "徐州市公安局交通管理支队"
    assert row["supplier"]["name"] == "中国移动通信集团江苏有限公司徐州分公司"
    assert row["signed_on"] == "2025-09-01"
    assert row["unit_price"] == "0.03"
    assert row["total_amount"] == "1440000.00"
    assert row["prepayment_rate"] == "0.10"
    assert row["bond_rate"] == "0.10"
    assert row["prepayment_amount"] == "144000.00"


@pytest.mark.django_db
def test_token_authentication_works(api_client, police_user):
    from knox.models import AuthToken

    _row, token = AuthToken.objects.create(user=police_user, expiry=None)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/contracts/").status_code == 200


@pytest.mark.django_db
def test_anonymous_is_refused_with_a_code(api_client, contract):
    response = api_client.get("/api/v1/contracts/")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_carrier_staff_see_only_their_own_contracts(api_as, carrier_user, contract):
    ContractFactory(number="OTHER-CARRIER")
    numbers = [c["number"] for c in api_as(carrier_user).get("/api/v1/contracts/").json()["results"]]
    assert numbers == [contract.number]


@pytest.mark.django_db
def test_api_root_schema_and_docs_render(client_as, police_user):
    c = client_as(police_user)
    assert c.get("/api/v1/").status_code == 200
    schema = c.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/contracts/" in schema.content
    assert c.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_api_docs_load_swagger_ui_from_the_project_not_a_cdn(client_as, police_user):
    """/api/docs/ was blank offline: Swagger UI came from a CDN. Now every script and style is a local static file."""
    import re

    c = client_as(police_user)
    page = c.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by the project"
        assert not asset.startswith("//")
    bundle = next(a for a in assets if a.endswith("swagger-ui-bundle.js"))
    response = c.get(bundle)
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content])[:100]
