"""The pull feed GET /api/v1/reports/: the client's own events, oldest first, an opaque stable cursor that
never skips an event committed late."""

import pytest
from django.utils import timezone
from factories.gateway import TEST_SECRET, DjangoTestApiClient

from gateway.apiclient import ApiError
from gateway.callbacks.outbox import events_record
from gateway.models import Message, MessageEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _finish(messages, status="delivered"):
    Message.objects.filter(id__in=[m.id for m in messages]).update(status=status, stat="DELIVRD")
    events_record([m.id for m in messages], at=timezone.now())


def test_the_feed_pages_through_the_clients_own_events_with_a_cursor(make_client, make_messages):
    mine, other = make_client(), make_client()
    messages = make_messages(mine, 5)
    make_messages(other, 3, ref="other")
    _finish(messages)
    _finish(Message.objects.filter(client=other))
    api = DjangoTestApiClient(mine.key_id, TEST_SECRET)
    page = api.reports(limit=2)
    assert [e["message_id"] for e in page["events"]] == [m.id for m in messages[:2]]
    page2 = api.reports(after=page["next"], limit=10)
    assert [e["message_id"] for e in page2["events"]] == [m.id for m in messages[2:]]
    assert {e["status"] for e in page2["events"]} == {"delivered"}
    # Nothing new: no events, the same cursor back; the cursor is stable (reading again gives the same page).
    assert api.reports(after=page2["next"]) == {"events": [], "next": page2["next"]}
    assert api.reports(after=page["next"], limit=10) == page2


def test_an_event_committed_after_a_later_id_is_not_skipped(make_client, make_messages):
    client = make_client()
    first, second = make_messages(client, 2)
    api = DjangoTestApiClient(client.key_id, TEST_SECRET)
    _finish([second])
    page = api.reports()
    assert [e["message_id"] for e in page["events"]] == [second.id]
    # An event with a smaller id becoming visible only now (its transaction committed later): simulated by
    # moving the seen event's id above a fresh one's.
    _finish([first])
    late = MessageEvent.objects.get(message=first)
    seen = MessageEvent.objects.get(message=second)
    assert late.id > seen.id
    MessageEvent.objects.filter(pk=late.pk).update(id=seen.id - 1000)
    assert [e["message_id"] for e in api.reports(after=page["next"])["events"]] == [first.id]


def test_a_bad_cursor_or_limit_is_refused(make_client):
    api = DjangoTestApiClient(make_client().key_id, TEST_SECRET)
    with pytest.raises(ApiError) as bad:
        api.reports(after="not-a-cursor")
    assert (bad.value.status, bad.value.code) == (400, "invalid_cursor")
    with pytest.raises(ApiError) as bad:
        api.reports(limit=501)
    assert (bad.value.status, bad.value.code) == (400, "invalid_limit")
