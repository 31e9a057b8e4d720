"""The outbox: one `MessageEvent` per message and status, written in the transaction that changes the status.

`events_record(message_ids, at)` is called right after a status UPDATE with the ids it touched. It copies each
message's current status into an event when that status is final (delivered, failed, expired, rejected,
no_report) or, for clients that asked for it, `submitted`; messages without an API client get none. One
INSERT … SELECT per call, whatever the batch size. The unique (message, status) constraint with ON CONFLICT DO
NOTHING makes a second call for the same change (another sender, a journal replay) a no-op: nothing is
invented and nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db import connection

from gateway.models import ApiClient, Message, MessageEvent

FINAL = (
    Message.Status.DELIVERED,
    Message.Status.FAILED,
    Message.Status.EXPIRED,
    Message.Status.REJECTED,
    Message.Status.NO_REPORT,
)
EVENT_STATUSES = (Message.Status.SUBMITTED, *FINAL)

_COLUMNS = (
    "client_id, message_id, client_ref, status, stat, at, units, segments, node_id, delivery, attempts, last_error"
)
_SELECT = """
SELECT m.client_id, m.id, m.client_ref, m.status, m.stat, %s, m.units, m.segments, m.node_id,
    CASE WHEN c.callback_url <> '' THEN 'pending' ELSE 'none' END, 0, ''
FROM {message} m JOIN {client} c ON c.id = m.client_id
WHERE {ids} AND m.status IN ({statuses}) AND (m.status <> 'submitted' OR c.callback_submitted)
ORDER BY m.id
"""


def events_record(message_ids: Collection[int], *, at: datetime) -> None:
    """Write the events of these messages' current statuses (see the module). Run inside the caller's
    transaction, after its UPDATE."""
    if not message_ids:
        return
    ids = sorted(set(message_ids))
    statuses = ", ".join(f"'{s}'" for s in EVENT_STATUSES)  # constants, not input
    tables = {"message": Message._meta.db_table, "client": ApiClient._meta.db_table, "statuses": statuses}
    event_table = MessageEvent._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            select = _SELECT.format(ids="m.id = ANY(%s)", **tables)
            cursor.execute(
                f"INSERT INTO {event_table} ({_COLUMNS}) {select} ON CONFLICT DO NOTHING",  # noqa: S608
                [at, ids],
            )
            return
        at_param = connection.ops.adapt_datetimefield_value(at)
        for start in range(0, len(ids), 500):  # SQLite: at most 999 parameters per statement
            chunk = ids[start : start + 500]
            select = _SELECT.format(ids=f"m.id IN ({', '.join(['%s'] * len(chunk))})", **tables)
            cursor.execute(f"INSERT OR IGNORE INTO {event_table} ({_COLUMNS}) {select}", [at_param, *chunk])  # noqa: S608
