"""Reads behind the message endpoints: what a caller may see."""

from django.db.models import Prefetch, QuerySet

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
