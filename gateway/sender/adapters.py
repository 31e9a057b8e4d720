"""Django rows -> the protocol-neutral carrier objects (gateway.carrier). The protocol code never sees the ORM,
and the sender never sees a protocol's own types."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.carrier.session import NodeConfig, SubmitOrder
from gateway.crypto import decrypt_secret
from gateway.models import CarrierNode, SendingProfile
from gateway.sender.store import Claimed

# CarrierNode.version (the CMPP login version) -> the protocol registry's name (gateway.carrier.registry).
# A node speaking another protocol gets its name from a field of its own when that protocol arrives.
PROTOCOL_BY_VERSION = {CarrierNode.Version.V20: "cmpp2.0", CarrierNode.Version.V30: "cmpp3.0"}


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
    config: NodeConfig


def node_config(node: CarrierNode, *, response_timeout: float = 10.0, heartbeat_interval: float = 60.0) -> NodeConfig:
    return NodeConfig(
        protocol=PROTOCOL_BY_VERSION[CarrierNode.Version(node.version)],
        host=node.host,
        port=node.port,
        account=node.sp_id,
        secret=decrypt_secret(node.secret_encrypted),
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
                config=node_config(node, **timeouts),
            )
        )
    return specs


def submit_order(message: Claimed, node: NodeSpec) -> SubmitOrder:
    """Every message asks for a status report; its validity goes with it."""
    return SubmitOrder(
        dest=message.mobile,
        text=message.content,
        service_id=node.service_id,
        src_id=message.src_id or node.source_number,
        account=node.sp_id,
        want_report=True,
        valid_until=message.valid_until,
    )
