"""Callback delivery: signed batches of up to 500 to a real local receiver that verifies them with the
bundled client; retries with back-off; dead letters after the retry period, re-sent from the admin's action."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from factories.gateway import TEST_SECRET

from gateway.apiclient import CallbackError, SmsApiClient, sign, signed_headers, verify_callback
from gateway.callbacks.delivery import DeliveryConfig, HttpPoster, callbacks_deliver, events_resend
from gateway.callbacks.outbox import events_record
from gateway.models import Message, MessageEvent

pytestmark = pytest.mark.django_db(transaction=True)
CFG = DeliveryConfig(batch=500, timeout=2.0, retry_hours=24, backoff_base=2.0, backoff_max=300.0)


def _finish(messages, status="delivered", stat="DELIVRD", at=None):
    ids = [m.id for m in messages]
    Message.objects.filter(id__in=ids).update(status=status, stat=stat)
    events_record(ids, at=at or timezone.now())


class Clock:
    def __init__(self):
        self.now = timezone.now()

    def __call__(self):
        return self.now


def test_events_arrive_signed_in_batches_of_500_in_order(pushed_client, make_messages):
    client, recv = pushed_client()
    messages = make_messages(client, 1200)
    _finish(messages)
    poster = HttpPoster(2.0)
    totals = callbacks_deliver(poster=poster, cfg=CFG)
    poster.close()
    assert totals == {"sent": 1200, "failed": 0, "dead": 0}
    assert recv.requests == 3  # 500 + 500 + 200
    assert [e["message_id"] for e in recv.events] == [m.id for m in messages]
    first = recv.events[0]
    assert set(first) == {"event_id", "message_id", "client_ref", "status", "stat", "at", "units", "segments", "node"}
    assert (first["status"], first["stat"], first["client_ref"]) == ("delivered", "DELIVRD", messages[0].client_ref)
    assert first["at"].endswith("+08:00")
    assert not MessageEvent.objects.filter(delivery="pending").exists()


def test_a_failing_receiver_is_retried_with_back_off_and_the_same_event_ids(pushed_client, make_messages):
    client, recv = pushed_client()
    (msg,) = make_messages(client, 1)
    _finish([msg])
    recv.fail = True
    clock = Clock()
    poster = HttpPoster(2.0)
    assert callbacks_deliver(poster=poster, cfg=CFG, now_fn=clock, rng=lambda: 0.0)["failed"] == 1
    event = MessageEvent.objects.get()
    assert event.attempts == 1 and "HTTP 500" in event.last_error
    assert event.next_attempt_at == clock.now + timedelta(seconds=1)  # 2 s × jitter factor 0.5
    # Not due yet: nothing is sent, even to a receiver that recovered.
    recv.fail = False
    assert callbacks_deliver(poster=poster, cfg=CFG, now_fn=clock) == {"sent": 0, "failed": 0, "dead": 0}
    # A second message's delivered event waits behind the first (order): both go in the next request.
    (later,) = make_messages(client, 1, ref="later")
    _finish([later])
    clock.now += timedelta(seconds=2)
    assert callbacks_deliver(poster=poster, cfg=CFG, now_fn=clock)["sent"] == 2
    poster.close()
    assert [e["event_id"] for e in recv.events] == [str(event.id), str(event.id + 1)]
    assert recv.requests == 2  # the failed one, then the one that carried both


def test_after_the_retry_period_events_are_dead_letters_and_can_be_resent(pushed_client, make_messages):
    client, recv = pushed_client()
    messages = make_messages(client, 3)
    _finish(messages)
    recv.fail = True
    clock = Clock()
    poster = HttpPoster(2.0)
    callbacks_deliver(poster=poster, cfg=CFG, now_fn=clock)
    clock.now += timedelta(hours=24, seconds=1)
    assert callbacks_deliver(poster=poster, cfg=CFG, now_fn=clock)["dead"] == 3
    dead = MessageEvent.objects.filter(delivery="dead")
    assert dead.count() == 3 and "HTTP 500" in dead.first().last_error
    recv.fail = False
    assert events_resend(client_id=client.pk) == 3
    assert callbacks_deliver(poster=poster, cfg=CFG, now_fn=clock)["sent"] == 3
    poster.close()
    assert sorted(e["message_id"] for e in recv.events) == sorted(m.id for m in messages)


def test_an_unreachable_receiver_counts_as_a_failure(make_client, make_messages):
    client = make_client(callback_url="http://127.0.0.1:9/nothing-listens")  # port 9: discard, closed
    (msg,) = make_messages(client, 1)
    _finish([msg])
    poster = HttpPoster(1.0)
    assert callbacks_deliver(poster=poster, cfg=CFG)["failed"] == 1
    assert "Error" in MessageEvent.objects.get().last_error


def test_verify_callback_refuses_a_changed_body_a_wrong_key_and_an_old_timestamp():
    body = json.dumps({"events": []}).encode()
    headers = {"X-Api-Key": "k1", "X-Timestamp": "1000", "X-Nonce": "n" * 16}
    headers["X-Signature"] = sign(TEST_SECRET, "POST", "/cb", "1000", "n" * 16, body)
    assert verify_callback(headers, body, key="k1", secret=TEST_SECRET, path="/cb", now=1000) == "n" * 16
    with pytest.raises(CallbackError, match="bad_signature"):
        verify_callback(headers, body + b" ", key="k1", secret=TEST_SECRET, path="/cb", now=1000)
    with pytest.raises(CallbackError, match="bad_signature"):
        verify_callback(headers, body, key="k1", secret=TEST_SECRET, path="/other", now=1000)
    with pytest.raises(CallbackError, match="wrong_key"):
        verify_callback(headers, body, key="k2", secret=TEST_SECRET, path="/cb", now=1000)
    with pytest.raises(CallbackError, match="signature_expired"):
        verify_callback(headers, body, key="k1", secret=TEST_SECRET, path="/cb", now=1000 + 301)


def test_the_bundled_client_refuses_a_replayed_callback():
    api = SmsApiClient("http://127.0.0.1:1", "k1", TEST_SECRET, callback_path="/cb")
    body = json.dumps({"events": [{"event_id": "1"}]}).encode()
    headers = signed_headers("k1", TEST_SECRET, "POST", "/cb", body)
    assert api.verify_callback(headers, body) == [{"event_id": "1"}]
    with pytest.raises(CallbackError, match="nonce_reused"):
        api.verify_callback(headers, body)


def test_the_admin_shows_callback_health_and_resends_dead_letters(make_client, make_messages, admin_client):
    client = make_client(callback_url="http://127.0.0.1:9/cb")
    messages = make_messages(client, 2)
    _finish(messages)
    MessageEvent.objects.filter(message=messages[0]).update(delivery="dead", last_error="HTTP 503 down")
    page = admin_client.get("/admin/gateway/apiclient/").content.decode()
    assert "1 / 0 / 1" in page and "HTTP 503 down" in page  # pending / failing / dead; last error
    dead = MessageEvent.objects.get(delivery="dead")
    response = admin_client.post(
        "/admin/gateway/messageevent/", {"action": "resend", "_selected_action": [dead.pk]}, follow=True
    )
    assert response.status_code == 200
    assert MessageEvent.objects.filter(delivery="pending").count() == 2
