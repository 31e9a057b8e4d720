"""Repeated failed logins lock the account (django-axes: 5 failures, 30 minutes), on both login pages."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

PASSWORD = "pw-for-tests-1"


def _post(client, url: str, username: str, password: str):
    return client.post(url, {"username": username, "password": password, "next": "/"})


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_five_failures_lock_the_account_even_for_the_right_password(client, make_user, url):
    user = make_user("police_staff", "locked-out")
    for _ in range(4):
        assert _post(client, url, user.username, "wrong").status_code == 200  # the form again
    assert _post(client, url, user.username, "wrong").status_code == 429  # the 5th failure locks
    assert _post(client, url, user.username, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_lock_ends_after_30_minutes_and_axes_reset_lifts_it(client, make_user):
    user = make_user("finance", "unlucky")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            _post(client, "/accounts/login/", user.username, "wrong")
        assert _post(client, "/accounts/login/", user.username, PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        assert _post(client, "/accounts/login/", user.username, PASSWORD).status_code == 302

    client.logout()
    for _ in range(5):
        _post(client, "/accounts/login/", user.username, "wrong")
    call_command("axes_reset_username", user.username)
    assert _post(client, "/accounts/login/", user.username, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_lock_is_per_user(client, make_user):
    victim = make_user("police_staff", "victim")
    other = make_user("police_staff", "bystander")
    for _ in range(5):
        _post(client, "/accounts/login/", victim.username, "wrong")
    assert _post(client, "/accounts/login/", other.username, PASSWORD).status_code == 302
