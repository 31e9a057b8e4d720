"""Messages that wait for their time: `send_at`, or their template's sending window (quiet hours).

A waiting message has `not_before` set and is outside the claim's queue index. `messages_schedule_sweep`,
run by the sender every few seconds, moves them:

* due (`not_before` ≤ now): back into the queue (`not_before` cleared);
* whose time comes only after their validity: `expired` with stat `NO_WINDOW`, and their event written;
* queued messages of a template whose window has just closed (a backlog that ran past 21:00): held until the
  window opens again, or expired as above when that is after their validity.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q

from gateway import scheduling
from gateway.callbacks.outbox import events_record
from gateway.models import Message, MessageTemplate

log = logging.getLogger("gateway.sender")

QUEUED = Message.Status.QUEUED


def messages_schedule_sweep(*, now: datetime, limit: int = 10_000) -> dict[str, int]:
    """One pass of the sweep described in the module. Returns counts: released, expired, held."""
    result = {"released": 0, "expired": 0, "held": 0}
    with transaction.atomic():
        waiting = Message.objects.select_for_update(skip_locked=True).filter(status=QUEUED, not_before__isnull=False)
        late = list(waiting.filter(not_before__gte=F("valid_until")).values_list("id", flat=True)[:limit])
        if late:
            _expire(late, now)
            result["expired"] += len(late)
        due = list(waiting.filter(not_before__lte=now).values_list("id", flat=True)[:limit])
        if due:
            Message.objects.filter(id__in=due).update(not_before=None)
            result["released"] = len(due)
    closed = {
        t.pk: t
        for t in MessageTemplate.objects.exclude(window_start=None).exclude(window_end=None)
        if not scheduling.window_open(now.astimezone(scheduling.SHANGHAI).time(), t.window_start, t.window_end)
    }
    if closed:
        with transaction.atomic():
            rows = list(
                Message.objects.select_for_update(skip_locked=True)
                .filter(status=QUEUED, not_before__isnull=True, template_id__in=list(closed))
                .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
                .values_list("id", "template_id", "valid_until")[:limit]
            )
            by_opening: dict[datetime, list[int]] = {}
            late = []
            for message_id, template_id, valid_until in rows:
                t = closed[template_id]
                opening = scheduling.window_next_open(now, t.window_start, t.window_end)
                if opening >= valid_until:
                    late.append(message_id)
                else:
                    by_opening.setdefault(opening, []).append(message_id)
            for opening, ids in by_opening.items():
                Message.objects.filter(id__in=ids).update(not_before=opening)
                result["held"] += len(ids)
            if late:
                _expire(late, now)
                result["expired"] += len(late)
    if any(result.values()):
        log.info("scheduled messages: %s", result)
    return result


def _expire(ids: list[int], now: datetime) -> None:
    Message.objects.filter(id__in=ids, status=QUEUED).update(
        status=Message.Status.EXPIRED,
        stat=scheduling.NO_WINDOW_STAT,
        finished_at=now,
        lease_owner="",
        lease_until=None,
    )
    events_record(ids, at=now)
    for message_id in ids:
        log.info("message %s expired: its sending window does not open within its validity", message_id)
