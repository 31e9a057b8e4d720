"""Receivers of other apps' events, connected in AssessmentConfig.ready()."""

from __future__ import annotations

from django.db import connection, transaction

from assessment.models import FaultTicket
from assessment.services import fault_ticket_open_automatic
from gateway.events import Outage, OutageKind

# Several senders seeing the same outage take turns on this PostgreSQL advisory lock, so that the check for
# an open ticket with the same text and the opening of one cannot interleave.
_OUTAGE_TICKET_LOCK = 0x12123_0002


def outage_ticket_description(outage: Outage) -> str:
    """The ticket's text: the same from every sender for the same outage (that is what makes it one ticket)."""
    if outage.kind is OutageKind.ALL_NODES:
        return f"所有网关节点不可用（{', '.join(outage.node_names)}）"
    return f"网关节点 {outage.node_names[0]} 不可用已超过 {outage.down_seconds} 秒"


def outage_ticket_open(sender: object = None, *, outage: Outage, **kwargs: object) -> FaultTicket:
    """Open an automatic fault ticket for a gateway outage unless one with the same text is still open:
    severe when every node is down, minor for one node."""
    severity = FaultTicket.Severity.SEVERE if outage.kind is OutageKind.ALL_NODES else FaultTicket.Severity.MINOR
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_OUTAGE_TICKET_LOCK])
        return fault_ticket_open_automatic(
            contract_id=outage.contract_id,
            severity=severity,
            description=outage_ticket_description(outage),
            reported_at=outage.reported_at,
        )
