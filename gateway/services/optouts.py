"""Opt-outs (4.3): the platform and the carrier's customer service query and change a number's subscription;
the sender records TD/退订 replies through the same service (source "mo")."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from gateway.models import OptOut


def optout_get(*, mobile: str) -> OptOut | None:
    return OptOut.objects.filter(mobile=mobile).first()


@transaction.atomic
def optout_set(*, mobile: str, opted_out: bool, source: str, now: datetime | None = None, actor: str = "") -> OptOut:
    """Opt a (normalised) number out or back in. `since` moves only when the state changes; `actor` names who
    did it in the change history (an API client is not a Django user)."""
    now = now or timezone.now()
    row = OptOut.objects.select_for_update().filter(mobile=mobile).first()
    if row is None:
        row = OptOut(mobile=mobile, opted_out=opted_out, since=now, source=source)
    elif row.opted_out == opted_out:
        return row
    else:
        row.opted_out, row.since, row.source = opted_out, now, source
    if actor:
        row._history_user = None
        row._change_reason = actor[:100]
    row.save()
    return row
