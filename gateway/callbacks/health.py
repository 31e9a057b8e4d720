"""Callback health per client, for the admin: events waiting, failing (waiting after a failed attempt),
dead-lettered, the last error and the oldest waiting event's time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q

from gateway.models import MessageEvent


@dataclass(frozen=True)
class CallbackHealth:
    pending: int = 0
    failing: int = 0
    dead: int = 0
    last_error: str = ""
    oldest_pending_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.failing and not self.dead


def callback_health(client_ids: list[int]) -> dict[int, CallbackHealth]:
    """Counts from the partial indexes of pending and dead events (the sent ones are never counted)."""
    result: dict[int, CallbackHealth] = {}
    waiting = MessageEvent.objects.filter(client_id__in=client_ids, delivery__in=["pending", "dead"])
    rows = waiting.values("client_id").annotate(
        pending=Count("id", filter=Q(delivery="pending")),
        failing=Count("id", filter=Q(delivery="pending", first_failed_at__isnull=False)),
        dead=Count("id", filter=Q(delivery="dead")),
        oldest=Min("at", filter=Q(delivery="pending")),
    )
    for row in rows:
        error = (
            MessageEvent.objects.filter(client_id=row["client_id"], delivery__in=["pending", "dead"])
            .exclude(last_error="")
            .order_by("-id")
            .values_list("last_error", flat=True)
            .first()
        )
        result[row["client_id"]] = CallbackHealth(
            row["pending"], row["failing"], row["dead"], error or "", row["oldest"]
        )
    return result
