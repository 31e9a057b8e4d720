"""The read-replica router (ADR 0118): only reads of listed GET pages and of `replica_reads()` blocks go to the
replica, never sessions or users, never writes; without DATABASE_REPLICA_URL nothing changes."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from billing.models import Statement
from gateway.models import Message
from sms_contract import db_router
from sms_contract.db_router import ReplicaReadsMiddleware, ReplicaRouter, replica_reads


@pytest.fixture
def with_replica(monkeypatch):
    """As if DATABASE_REPLICA_URL were set (the decisions only; no query is run)."""
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)


def _decision_for(path, method="get"):
    seen = {}

    def view(request):
        from django.contrib.sessions.models import Session

        seen["message"] = ReplicaRouter().db_for_read(Message)
        seen["session"] = ReplicaRouter().db_for_read(Session)
        return HttpResponse()

    ReplicaReadsMiddleware(view)(getattr(RequestFactory(), method)(path))
    return seen


def test_listed_get_pages_read_from_the_replica_except_sessions(with_replica):
    assert _decision_for("/") == {"message": "replica", "session": None}
    assert _decision_for("/admin/gateway/message/") == {"message": "replica", "session": None}
    assert _decision_for("/admin/gateway/message/", method="post") == {"message": None, "session": None}
    assert _decision_for("/api/v1/messages/") == {"message": None, "session": None}


def test_writes_and_unmarked_reads_stay_on_the_primary(with_replica):
    router = ReplicaRouter()
    assert router.db_for_read(Statement) is None
    with replica_reads():
        assert router.db_for_read(Statement) == "replica"
        assert router.db_for_write(Statement) == "default"
    assert router.allow_migrate("replica", "gateway") is False


def test_without_a_replica_every_query_goes_to_the_primary():
    assert _decision_for("/") == {"message": None, "session": None}
    with replica_reads():
        assert ReplicaRouter().db_for_read(Message) is None
