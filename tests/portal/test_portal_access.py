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


@pytest.mark.django_db
def test_admin_index_shows_the_renewal_deadline(client_as, police_user, contract):
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    import time_machine

    contract.activated_on = date(2025, 9, 15)
    contract.save()
    with time_machine.travel(datetime(2026, 1, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))):
        page = client_as(police_user).get("/admin/").content.decode()
    assert "续展决定截止 <strong>2026-06-16</strong>（剩 157 天）" in page
    assert 'href="/audit/"' in page
