"""The admin message list over tens of millions of rows (ADR 0116): a 7-day default range, no COUNT(*) over
the table, searches by id / client_ref / number over every month; the staff client_ref lookup of the API."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from factories.gateway import ApiClientFactory, MessageFactory

from gateway import admin_lists
from gateway.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_web(client, contract):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw-for-tests-1")
    client.force_login(user)
    return client


@pytest.fixture
def messages(contract):
    client = ApiClientFactory(contract=contract)
    now = timezone.now()
    recent = MessageFactory(contract=contract, client=client, client_ref="recent-1", mobile="13900000001")
    old = MessageFactory(
        contract=contract, client=client, client_ref="old-1", mobile="13900000002", created_at=now - timedelta(days=40)
    )
    return recent, old


def _ids_listed(page: str) -> set[int]:
    return {int(n) for n in re.findall(r"/admin/gateway/message/(\d+)/change/", page)}


def test_the_list_shows_the_last_7_days_unless_another_range_is_chosen(admin_web, messages):
    recent, old = messages
    assert _ids_listed(admin_web.get("/admin/gateway/message/").content.decode()) == {recent.id}
    assert _ids_listed(admin_web.get("/admin/gateway/message/?created=92d").content.decode()) == {recent.id, old.id}
    assert _ids_listed(admin_web.get("/admin/gateway/message/?created=all").content.decode()) == {recent.id, old.id}


@pytest.mark.parametrize("term", ["old-1", "13900000002", "ID"])
def test_a_search_looks_through_every_month(admin_web, messages, term):
    _, old = messages
    term = str(old.id) if term == "ID" else term
    assert _ids_listed(admin_web.get("/admin/gateway/message/", {"q": term}).content.decode()) == {old.id}


def test_the_list_never_counts_the_whole_table(admin_web, messages):
    with CaptureQueriesContext(connection) as queries:
        assert admin_web.get("/admin/gateway/message/?created=all").status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "gateway_message" in q["sql"]]
    assert counts and all("LIMIT 10001" in sql for sql in counts), counts


def test_above_the_exact_limit_the_count_is_at_least_the_cap(contract, monkeypatch):
    for _ in range(5):
        MessageFactory(contract=contract)
    monkeypatch.setattr(admin_lists, "EXACT_UP_TO", 3)
    assert admin_lists.bounded_count(Message.objects.all()) >= 4
    monkeypatch.setattr(admin_lists, "EXACT_UP_TO", 10)
    assert admin_lists.bounded_count(Message.objects.all()) == 5


def test_staff_find_a_message_by_client_ref_through_the_api(admin_web, messages):
    _, old = messages
    body = admin_web.get("/api/v1/messages/", {"client_ref": "old-1"}).json()
    assert [row["id"] for row in body["results"]] == [old.id]
