"""Intake of `priority` and `send_at`: the request's priority, else the notice type's default; send_at and the
template's window become `not_before`; a send_at outside the validity is refused and queues nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gateway.apiclient import ApiError
from gateway.models import Message, MessageTemplate
from gateway.scheduling import SHANGHAI

CLOSURE = {"road": "G30", "reason": "事故", "time": "10:00"}


def test_priority_from_the_request_else_the_notice_type(api):
    urgent = api.send(mobile="13912345678", template_code="road_closure", params=CLOSURE)
    bulk = api.send(mobile="13912345679", template_code="licence_score", params={"points": "3"}, priority="bulk")
    normal = api.send(mobile="13912345670", template_code="licence_score", params={"points": "3"})
    ranks = dict(Message.objects.values_list("id", "priority"))
    assert (ranks[urgent["id"]], ranks[bulk["id"]], ranks[normal["id"]]) == (0, 2, 1)
    assert api.get(urgent["id"])["priority"] == "urgent"


def test_send_at_later_within_validity_waits(api):
    at = (timezone.now() + timedelta(hours=2)).astimezone(SHANGHAI).replace(microsecond=0)
    answer = api.send(mobile="13912345678", template_code="road_closure", params=CLOSURE, send_at=at.isoformat())
    msg = Message.objects.get(pk=answer["id"])
    assert (msg.status, msg.not_before) == ("queued", at)


@pytest.mark.parametrize(
    ("send_at", "code"),
    [("2026-12-01 08:00", "invalid_send_at"), ("2099-01-01T08:00:00+08:00", "invalid_send_at")],
)
def test_a_bad_send_at_is_refused_and_queues_nothing(api, send_at, code):
    with pytest.raises(ApiError) as refused:
        api.send(mobile="13912345678", template_code="road_closure", params=CLOSURE, send_at=send_at)
    assert (refused.value.status, refused.value.code) == (400, code)
    assert not Message.objects.exists()


def test_an_unknown_priority_is_refused(api):
    with pytest.raises(ApiError) as refused:
        api.send(mobile="13912345678", template_code="road_closure", params=CLOSURE, priority="asap")
    assert (refused.value.status, refused.value.code) == (400, "invalid")


def test_a_message_outside_its_templates_window_waits_for_the_opening(api, gateway):
    now = timezone.now().astimezone(SHANGHAI)
    # A one-hour window that opened an hour from now: closed now, opens later today or tomorrow.
    start = (now + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    MessageTemplate.objects.filter(code="licence_score").update(window_start=start, window_end=end)
    answer = api.send(mobile="13912345678", template_code="licence_score", params={"points": "3"})
    msg = Message.objects.get(pk=answer["id"])
    assert msg.not_before is not None
    local = msg.not_before.astimezone(SHANGHAI)
    assert local.time() == start and timedelta(0) < msg.not_before - now <= timedelta(hours=1, minutes=1)
