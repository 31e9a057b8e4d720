"""The pull feed (`GET /api/v1/reports/?after=CURSOR&limit=N`): a client's status events, oldest first.

Event ids are not a safe cursor: two transactions can commit ids out of order, and a reader that moved past
a later id would never see the earlier one. So events get a per-client number (`feed_seq`) when the feed is
read, under a per-client lock, in id order among those committed by then: a number is only ever given after
every smaller one, and the cursor (an opaque encoding of the last number served) never skips an event.
"""

from __future__ import annotations

import base64
import binascii

from django.db import connection, transaction
from django.db.models import Max

from gateway.callbacks.delivery import EVENT_FIELDS, event_json, node_names
from gateway.models import MessageEvent
from sms_contract.exceptions import ApplicationError

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
_LOCK = 0x16_0000_0000  # + client id: one advisory lock per client
_NUMBER_AT_ONCE = 5000

_NUMBER_SQL = """
UPDATE {table} SET feed_seq = %s + n.rn
FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM {table}
      WHERE client_id = %s AND feed_seq IS NULL ORDER BY id LIMIT %s) AS n
WHERE {table}.id = n.id
"""


def cursor_encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str | None) -> int:
    """The number after which to read; a cursor we did not issue is refused (invalid_cursor, 400)."""
    if cursor is None or cursor == "":
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, number = text.partition(":")
        if version != "v1" or not number.isdigit() or len(number) > 18:
            raise ValueError
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApplicationError("invalid_cursor", "after must be a cursor this API returned as `next`.") from None


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApplicationError("invalid_limit", f"limit must be an integer from 1 to {MAX_LIMIT}.")
    return int(raw)


def _number(client_id: int) -> None:
    """Give feed numbers to the client's committed, unnumbered events (see the module)."""
    table = MessageEvent._meta.db_table
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK + client_id])
        if not MessageEvent.objects.filter(client_id=client_id, feed_seq__isnull=True).exists():
            return
        base = MessageEvent.objects.filter(client_id=client_id).aggregate(m=Max("feed_seq"))["m"] or 0
        with connection.cursor() as cursor:
            cursor.execute(_NUMBER_SQL.format(table=table), [base, client_id, _NUMBER_AT_ONCE])


def feed_read(*, client_id: int, after: str | None, limit: int) -> dict:
    """{"events": [...], "next": cursor}: up to `limit` events after the cursor, oldest first. With nothing
    new, `next` is the cursor given (ask again later with it)."""
    start = cursor_decode(after)
    _number(client_id)
    rows = list(
        MessageEvent.objects.filter(client_id=client_id, feed_seq__gt=start)
        .order_by("feed_seq")
        .values_list(*EVENT_FIELDS, "feed_seq")[:limit]
    )
    names = node_names() if rows else {}
    last = rows[-1][-1] if rows else start
    return {"events": [event_json(row[:9], names) for row in rows], "next": cursor_encode(last)}
