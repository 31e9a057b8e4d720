"""Reads behind the message endpoints: what a caller may see."""

from django.db.models import Prefetch, Q, QuerySet

from gateway.cmpp.msgid import msg_id_from_signed
from gateway.models import ApiClient, Message, MessageSegment


def message_queryset_for(*, client: ApiClient | None) -> QuerySet[Message]:
    """Messages with their node and segments. An API client sees only its own; staff (client None) see all."""
    qs = Message.objects.select_related("node").prefetch_related(
        Prefetch("segment_rows", queryset=MessageSegment.objects.order_by("pk_number", "pk"))
    )
    if client is not None:
        qs = qs.filter(client=client)
    return qs.order_by("-pk")


def carrier_msg_ids(message: Message) -> list[str]:
    """The segments' carrier Msg_Ids as decimal strings of the unsigned 64-bit values (stored two's complement)."""
    return [str(msg_id_from_signed(seg.carrier_msg_id)) for seg in message.segment_rows.all()]


def client_ref_filter(ref: str) -> Q:
    """`client_ref = ref` with the API clients' ids spelled out, so that a lookup naming no client (staff) is
    served by the (client, client_ref) unique index of each partition: one probe per client, a handful."""
    clients = list(ApiClient.objects.values_list("id", flat=True))
    return Q(client_ref=ref) & (Q(client_id__in=clients) | Q(client_id__isnull=True))


def message_search(term: str, *, by_mobile: bool) -> Q:
    """What the admin's search box finds, each branch on an index: a number is an id, a client_ref or (for
    users who may see numbers) a mobile; anything else is a client_ref."""
    term = term.strip()
    found = client_ref_filter(term)
    if term.isascii() and term.isdigit():
        if len(term) <= 18:
            found |= Q(id=int(term))
        if by_mobile:
            found |= Q(mobile=term)
    return found
