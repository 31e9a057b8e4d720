"""The outbox: each status change of a client's message writes one event in the same transaction; none is
invented, none written twice; `submitted` only for clients that asked for it."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from gateway.models import MessageEvent
from gateway.sender.store import (
    Outcome,
    OutcomeKind,
    ReportIn,
    SegmentAnswer,
    message_claim_batch,
    messages_expire,
    messages_no_report,
    reports_record,
    results_record,
)


def _accept(claimed, node, msg_id):
    return Outcome(claimed, OutcomeKind.ACCEPTED, node_id=node.id, segments=[SegmentAnswer(1, msg_id, 0)])


def _events(**filters):
    return list(MessageEvent.objects.filter(**filters).order_by("id").values_list("message_id", "status", "delivery"))


@pytest.mark.django_db(transaction=True)
def test_submitted_then_delivered_events_follow_the_status_changes(make_client, make_messages, node):
    client = make_client(callback_url="http://127.0.0.1:9/cb", callback_submitted=True)
    (msg,) = make_messages(client)
    (claimed,) = message_claim_batch(owner="s1", limit=10, lease_seconds=30, now=timezone.now())
    results_record(outcomes=[_accept(claimed, node, 77)], owner="s1", now=timezone.now())
    assert _events() == [(msg.id, "submitted", "pending")]
    reports_record(reports=[ReportIn(77, "DELIVRD", msg.mobile, node.id)], now=timezone.now())
    assert _events() == [(msg.id, "submitted", "pending"), (msg.id, "delivered", "pending")]
    event = MessageEvent.objects.get(status="delivered")
    assert (event.client_id, event.client_ref, event.stat, event.node_id, event.units) == (
        client.pk,
        msg.client_ref,
        "DELIVRD",
        node.id,
        1,
    )
    # The same report again (another sender, a retry) changes nothing and writes nothing.
    reports_record(reports=[ReportIn(77, "DELIVRD", msg.mobile, node.id)], now=timezone.now())
    assert MessageEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_without_the_submitted_option_only_final_statuses_make_events(make_client, make_messages, node):
    client = make_client()  # no callback URL: pull only
    (msg,) = make_messages(client)
    (claimed,) = message_claim_batch(owner="s1", limit=10, lease_seconds=30, now=timezone.now())
    results_record(outcomes=[_accept(claimed, node, 78)], owner="s1", now=timezone.now())
    assert _events() == []
    reports_record(reports=[ReportIn(78, "UNDELIV", msg.mobile, node.id)], now=timezone.now())
    assert _events() == [(msg.id, "failed", "none")]
    assert MessageEvent.objects.get().stat == "UNDELIV"


@pytest.mark.django_db(transaction=True)
def test_refused_expired_and_no_report_are_final_events(make_client, make_messages, node):
    client = make_client(callback_url="http://127.0.0.1:9/cb")
    refused, accepted = make_messages(client, 2)
    stale = make_messages(client, 1, valid_for=timedelta(minutes=1), ref="stale")[0]
    now = timezone.now()
    claimed = {c.id: c for c in message_claim_batch(owner="s1", limit=10, lease_seconds=30, now=now)}
    results_record(
        outcomes=[
            Outcome(claimed[refused.id], OutcomeKind.REFUSED, node_id=node.id, segments=[SegmentAnswer(1, 90, 13)]),
            _accept(claimed[accepted.id], node, 91),
            Outcome(claimed[stale.id], OutcomeKind.RELEASED),
        ],
        owner="s1",
        now=now,
    )
    assert _events() == [(refused.id, "failed", "pending")]
    assert messages_expire(now=now + timedelta(minutes=5)) == 1
    assert messages_no_report(now=now + timedelta(days=2), grace_seconds=60) == 1
    assert sorted(_events()[1:]) == sorted([(stale.id, "expired", "pending"), (accepted.id, "no_report", "pending")])


@pytest.mark.django_db(transaction=True)
def test_a_status_change_rolled_back_leaves_no_event(make_client, make_messages, node):
    client = make_client(callback_url="http://127.0.0.1:9/cb")
    (msg,) = make_messages(client)
    (claimed,) = message_claim_batch(owner="s1", limit=10, lease_seconds=30, now=timezone.now())
    results_record(outcomes=[_accept(claimed, node, 79)], owner="s1", now=timezone.now())
    with pytest.raises(RuntimeError), transaction.atomic():
        reports_record(reports=[ReportIn(79, "DELIVRD", msg.mobile, node.id)], now=timezone.now())
        assert MessageEvent.objects.count() == 1  # written with the status change ...
        raise RuntimeError("the transaction fails after the write")
    assert MessageEvent.objects.count() == 0  # ... and gone with it
    msg.refresh_from_db()
    assert msg.status == "submitted"


@pytest.mark.django_db(transaction=True)
def test_messages_without_an_api_client_make_no_events(contract, make_messages, node, make_client):
    client = make_client()
    (msg,) = make_messages(client)
    type(msg).objects.filter(pk=msg.pk).update(client=None)
    assert messages_expire(now=timezone.now() + timedelta(days=2)) == 1
    assert MessageEvent.objects.count() == 0
