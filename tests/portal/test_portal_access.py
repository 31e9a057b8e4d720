"""Who may open which page: wrong roles get 403 (not a redirect), anonymous users go to the login page."""

import pytest

POLICE_ONLY = ["/police/lifecycle/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", POLICE_ONLY)
def test_carrier_staff_get_403_on_police_pages(url, client_as, carrier_user):
    response = client_as(carrier_user).get(url)
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", POLICE_ONLY)
def test_finance_gets_403_on_police_pages(url, client_as, finance_user):
    assert client_as(finance_user).get(url).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("url", POLICE_ONLY)
@pytest.mark.parametrize("role", ["police_user", "auditor_user"])
def test_police_and_auditors_open_police_pages(request, url, role, client_as):
    assert client_as(request.getfixturevalue(role)).get(url).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("url", POLICE_ONLY)
def test_anonymous_is_redirected_to_login(url, client):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_carrier_staff_cannot_use_the_admin(client_as, carrier_user):
    response = client_as(carrier_user).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
