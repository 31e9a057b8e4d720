"""Reads from the gateway that other apps use. (Interface agreed between the apps; see docs/architecture.md.)"""

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, Max, Sum
from django.utils import timezone

from contracts.models import Contract
from gateway.cmpp.msgid import msg_id_from_signed
from gateway.models import CarrierNode, DailyCount, Message, MessageSegment, NodeStateChange, NoticeType
from gateway.scheduling import PRIORITIES
from gateway.sender.rules import SHANGHAI

_RATE_PLACES = Decimal("0.000001")


def daily_success_units(*, contract_id: int, start: date, end: date) -> dict[date, int]:
    """Units sent successfully per day in [start, end] for a contract, on the contract's success basis
    (accepted by the carrier, or delivered). Days without traffic are absent."""
    basis = Contract.objects.values_list("success_basis", flat=True).get(pk=contract_id)
    field = "delivered_units" if basis == Contract.SuccessBasis.DELIVERED else "accepted_units"
    rows = (
        DailyCount.objects.filter(contract_id=contract_id, day__gte=start, day__lte=end)
        .values("day")
        .annotate(units=Sum(field))
        .order_by("day")
    )
    return {row["day"]: row["units"] for row in rows if row["units"]}


def _month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return datetime.combine(first, time(), SHANGHAI), datetime.combine(following, time(), SHANGHAI)


def _ratio(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(_RATE_PLACES, rounding=ROUND_HALF_UP)


def month_evidence(*, contract_id: int, year: int, month: int) -> dict:
    """The month's evidence for the assessment form.

    messages_sent: messages the carrier accepted; no_report: of those, how many got no status report within
    their validity plus the grace period (status `no_report`); delivery_rate: delivered / accepted (messages counted on
    the day they were submitted); refused_share: segments the carrier refused at submit time / (refused
    segments + accepted units, the units being a close stand-in for segments); seconds_below_two_healthy_nodes:
    time (up to now) with fewer than two healthy nodes, from the senders' node state records (None when no
    sender recorded any state for the contract's nodes). Rates are Decimal fractions, None without traffic.
    """
    start, end = _month_bounds(year, month)
    totals = DailyCount.objects.filter(contract_id=contract_id, day__gte=start.date(), day__lt=end.date()).aggregate(
        accepted=Sum("accepted_messages"),
        accepted_units=Sum("accepted_units"),
        delivered=Sum("delivered_messages"),
        refused=Sum("refused_segments"),
        no_report=Sum("no_report_messages"),
    )
    accepted = totals["accepted"] or 0
    refused = totals["refused"] or 0
    return {
        "messages_sent": accepted,
        "delivery_rate": _ratio(totals["delivered"] or 0, accepted),
        "no_report": totals["no_report"] or 0,
        "refused_share": _ratio(refused, refused + (totals["accepted_units"] or 0)),
        "seconds_below_two_healthy_nodes": seconds_below_two_healthy_nodes(
            contract_id=contract_id, start=start, end=min(end, max(start, timezone.now()))
        ),
    }


def seconds_below_two_healthy_nodes(*, contract_id: int, start: datetime, end: datetime) -> int | None:
    """Seconds in [start, end) during which fewer than two of the contract's nodes were healthy. A node's
    health at any moment is the last state any sender recorded for it before that moment."""
    node_ids = list(CarrierNode.objects.filter(contract_id=contract_id).values_list("id", flat=True))
    changes = NodeStateChange.objects.filter(node_id__in=node_ids)
    if not changes.exists():
        return None
    healthy: dict[int, bool] = {}
    for node_id in node_ids:
        last = changes.filter(node_id=node_id, at__lt=start).order_by("-at", "-id").values_list("healthy", flat=True)
        healthy[node_id] = bool(last[:1] and last[0])
    below = 0.0
    cursor = start
    for node_id, at, is_healthy in (
        changes.filter(at__gte=start, at__lt=end).order_by("at", "id").values_list("node_id", "at", "healthy")
    ):
        if sum(healthy.values()) < 2:
            below += (at - cursor).total_seconds()
        healthy[node_id] = is_healthy
        cursor = at
    if sum(healthy.values()) < 2 and end > cursor:
        below += (end - cursor).total_seconds()
    return int(below)


def carrier_msg_ids(*, contract_id: int, start: date, end: date) -> Iterator[int]:
    """The carrier Msg_Ids (unsigned 64-bit ints) of every segment we submitted successfully in [start, end]
    (days in Asia/Shanghai), for reconciling a detailed carrier bill. Streams (server-side cursor on
    PostgreSQL), since a month holds millions."""
    since = datetime.combine(start, time(), SHANGHAI)
    until = datetime.combine(end + timedelta(days=1), time(), SHANGHAI)
    # A message is submitted within its validity after it was received: bounding its created_at as well lets
    # PostgreSQL read only the month partitions concerned of both tables (ADR 0115).
    received_since = since - timedelta(hours=_longest_validity_hours())
    ids = (
        MessageSegment.objects.filter(
            message__contract_id=contract_id,
            message__created_at__gte=received_since,
            message__created_at__lt=until,
            result=0,
            submitted_at__gte=since,
            submitted_at__lt=until,
        )
        .values_list("carrier_msg_id", flat=True)
        .iterator(chunk_size=20_000)
    )
    return (msg_id_from_signed(value) for value in ids)


def _longest_validity_hours() -> int:
    """The longest validity a message can have (notice types, the default), plus a day of leases and retries."""
    longest = NoticeType.objects.aggregate(m=Max("validity_hours"))["m"] or 0
    return max(longest, settings.GATEWAY_DEFAULT_VALIDITY_HOURS) + 24


def daily_delivery(*, contract_id: int, start: date, end: date) -> dict[date, dict[str, int]]:
    """Per day in [start, end]: messages accepted by the carrier, delivered (DELIVRD) and left without a status
    report (`no_report`)."""
    rows = (
        DailyCount.objects.filter(contract_id=contract_id, day__gte=start, day__lte=end)
        .values("day")
        .annotate(
            accepted=Sum("accepted_messages"), delivered=Sum("delivered_messages"), no_report=Sum("no_report_messages")
        )
    )
    return {
        row["day"]: {
            "accepted": row["accepted"] or 0,
            "delivered": row["delivered"] or 0,
            "no_report": row["no_report"] or 0,
        }
        for row in rows
    }


def node_health(*, contract_id: int) -> list[dict]:
    """Each of the contract's nodes with its last state recorded by the sender, in name order.

    `healthy` is None while no sender has recorded a state for an enabled node."""
    nodes = list(CarrierNode.objects.filter(contract_id=contract_id).order_by("name"))
    last: dict[int, NodeStateChange] = {}
    for change in NodeStateChange.objects.filter(node__in=nodes).order_by("node_id", "-at", "-id"):
        last.setdefault(change.node_id, change)
    out = []
    for node in nodes:
        change = last.get(node.pk)
        if not node.enabled:
            out.append({"name": node.name, "healthy": False, "state": "disabled", "since": None, "reason": "已停用"})
        elif change is None:
            out.append(
                {"name": node.name, "healthy": None, "state": "", "since": None, "reason": "发送进程尚未记录状态"}
            )
        else:
            out.append(
                {
                    "name": node.name,
                    "healthy": change.healthy,
                    "state": change.state,
                    "since": change.at,
                    "reason": change.reason,
                }
            )
    return out


def queue_depth(*, contract_id: int) -> dict[str, int]:
    """Queued messages that may go now, by priority (urgent, normal, bulk), and those waiting for send_at or
    their window (scheduled). Read from the two partial indexes of queued rows."""
    queued = Message.objects.filter(contract_id=contract_id, status=Message.Status.QUEUED)
    depth = dict.fromkeys(PRIORITIES, 0)
    for rank, n in queued.filter(not_before__isnull=True).values_list("priority").annotate(n=Count("id")):
        depth[PRIORITIES[rank]] = n
    depth["scheduled"] = queued.filter(not_before__isnull=False).count()
    return depth
