"""Django rows -> the CMPP package's plain objects. The protocol code never sees the ORM."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.cmpp import SessionConfig, SubmitRequest
from gateway.crypto import decrypt_secret
from gateway.models import CarrierNode, SendingProfile
from gateway.sender.store import Claimed


@dataclass(frozen=True, slots=True)
class NodeSpec:
    id: int
    name: str
    contract_id: int
    weight: int
    rate_limit: int  # messages per second, 0 = unlimited
    sp_id: str
    service_id: str
    source_number: str
    config: SessionConfig


def session_config(
    node: CarrierNode, *, response_timeout: float = 10.0, heartbeat_interval: float = 60.0
) -> SessionConfig:
    return SessionConfig(
        host=node.host,
        port=node.port,
        sp_id=node.sp_id,
        secret=decrypt_secret(node.secret_encrypted),
        version=node.version,
        window=max(1, node.window),
        response_timeout=response_timeout,
        max_sends=3,
        heartbeat_interval=heartbeat_interval,
        rate_limit=float(node.rate_limit) if node.rate_limit else None,
        connect_timeout=5.0,
    )


def node_specs(*, node_ids: list[int] | None = None, **timeouts: float) -> list[NodeSpec]:
    """Every enabled node (or the given ones), ready for sessions."""
    nodes = CarrierNode.objects.filter(enabled=True).order_by("id")
    if node_ids:
        nodes = nodes.filter(id__in=node_ids)
    profiles = {p.contract_id: p for p in SendingProfile.objects.all()}
    specs = []
    for node in nodes:
        profile = profiles.get(node.contract_id)
        specs.append(
            NodeSpec(
                id=node.id,
                name=node.name,
                contract_id=node.contract_id,
                weight=max(0, node.weight),
                rate_limit=node.rate_limit,
                sp_id=node.sp_id,
                service_id=node.service_id or (profile.service_id if profile else ""),
                source_number=node.source_number or (profile.service_code if profile else ""),
                config=session_config(node, **timeouts),
            )
        )
    return specs


def submit_request(message: Claimed, node: NodeSpec) -> SubmitRequest:
    """Every segment asks for a status report; ValId_Time is the message's validity."""
    return SubmitRequest(
        dest=[message.mobile],
        text=message.content,
        service_id=node.service_id,
        src_id=message.src_id or node.source_number,
        msg_src=node.sp_id,
        registered_delivery=1,
        valid_until=message.valid_until,
    )
