"""Claims by priority: urgent first, a weighted share for the others so bulk is never starved; messages that
wait for send_at or their window are not claimed, and the scheduling sweep moves them."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from gateway.models import Message, MessageEvent, MessageTemplate
from gateway.scheduling import SHANGHAI
from gateway.sender.store import message_claim_batch
from gateway.services.scheduled import messages_schedule_sweep

WEIGHTS = {0: 16, 1: 4, 2: 1}


def _claim(limit, now=None):
    return message_claim_batch(owner="s1", limit=limit, lease_seconds=30, now=now or timezone.now(), weights=WEIGHTS)


def test_urgent_is_claimed_before_older_bulk(db, make_messages):
    bulk = make_messages(50, priority=2)
    urgent = make_messages(2, priority=0)
    claimed = _claim(10)
    assert [c.id for c in claimed[:2]] == [m.id for m in urgent]
    assert [c.priority for c in claimed] == [0, 0] + [2] * 8
    assert [c.id for c in claimed[2:]] == [m.id for m in bulk[:8]]


def test_bulk_keeps_its_share_when_urgent_floods(db, make_messages):
    make_messages(300, priority=0)
    make_messages(300, priority=1)
    bulk = make_messages(300, priority=2)
    claimed = _claim(210)
    by_rank = [sum(1 for c in claimed if c.priority == r) for r in (0, 1, 2)]
    assert by_rank == [160, 40, 10]  # 16 : 4 : 1 of 210
    assert [c.id for c in claimed if c.priority == 2] == [m.id for m in bulk[:10]]  # oldest bulk first


def test_what_a_priority_leaves_unused_goes_to_the_others(db, make_messages):
    make_messages(3, priority=0)
    make_messages(500, priority=2)
    claimed = _claim(100)
    assert len(claimed) == 100
    assert sum(1 for c in claimed if c.priority == 2) == 97


def test_scheduled_messages_are_not_claimed_until_the_sweep_releases_them(db, make_messages):
    now = timezone.now()
    (waiting,) = make_messages(1, not_before=now + timedelta(minutes=10))
    assert _claim(10, now) == []
    assert messages_schedule_sweep(now=now + timedelta(minutes=5))["released"] == 0
    assert messages_schedule_sweep(now=now + timedelta(minutes=11))["released"] == 1
    assert [c.id for c in _claim(10, now + timedelta(minutes=11))] == [waiting.id]


def test_a_window_that_does_not_open_within_validity_expires_the_message_with_a_reason(db, make_messages, contract):
    now = timezone.now()
    (late,) = make_messages(1, not_before=now + timedelta(hours=30), valid_for=timedelta(hours=24))
    assert messages_schedule_sweep(now=now)["expired"] == 1
    late.refresh_from_db()
    assert (late.status, late.stat) == ("expired", "NO_WINDOW")


@pytest.fixture
def reminder(notice_type):
    return MessageTemplate.objects.create(
        code="inspection_due_t", notice_type=notice_type, text="x", window_start=time(8), window_end=time(21)
    )


def test_queued_messages_of_a_closed_window_are_held_until_it_opens(db, make_messages, reminder):
    night = datetime(2026, 12, 1, 22, 30, tzinfo=SHANGHAI)
    (held,) = make_messages(1, template=reminder, valid_for=timedelta(days=3))
    (urgent,) = make_messages(1, priority=0)  # no template window
    Message.objects.filter(pk__in=[held.pk, urgent.pk]).update(created_at=night, valid_until=night + timedelta(days=3))
    assert messages_schedule_sweep(now=night)["held"] == 1
    held.refresh_from_db()
    assert held.not_before == datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
    assert [c.id for c in _claim(10, night)] == [urgent.id]


def test_a_window_closing_past_validity_expires_queued_messages(db, make_messages, reminder):
    night = datetime(2026, 12, 1, 22, 30, tzinfo=SHANGHAI)
    (msg,) = make_messages(1, template=reminder)
    Message.objects.filter(pk=msg.pk).update(valid_until=night + timedelta(hours=2))
    assert messages_schedule_sweep(now=night)["expired"] == 1
    msg.refresh_from_db()
    assert (msg.status, msg.stat) == ("expired", "NO_WINDOW")
    assert not MessageEvent.objects.exists()  # no API client: no event


def test_a_claim_of_one_still_finds_bulk(db, make_messages):
    (bulk,) = make_messages(1, priority=2)
    assert [c.id for c in _claim(1)] == [bulk.id]
