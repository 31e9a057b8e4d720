"""CMPP as a `gateway.carrier.CarrierSession`: an adapter over :class:`gateway.cmpp.client.Session`.

Registered for the protocol names "cmpp2.0" and "cmpp3.0" (the login version; a refused 3.0 login still falls
back to 2.0 inside the session). It translates the neutral config, orders, events and errors to and from
CMPP's own; nothing CMPP-specific leaves this module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable

from gateway.carrier import registry
from gateway.carrier.session import (
    CarrierError,
    CarrierSession,
    EventCallback,
    LinkState,
    NodeConfig,
    SegmentAck,
    StateCallback,
    StatusReport,
    SubmitAmbiguous,
    SubmitAnswer,
    SubmitNotSent,
    SubmitOrder,
    Uplink,
)
from gateway.cmpp.client import (
    DeliverEvent,
    DeliverMO,
    DeliverReport,
    SegmentResult,
    Session,
    SessionConfig,
    SessionState,
)
from gateway.cmpp.client import SubmitRequest as CmppSubmitRequest
from gateway.cmpp.errors import CmppError, PeerDead
from gateway.cmpp.errors import SubmitAmbiguous as CmppSubmitAmbiguous
from gateway.cmpp.errors import SubmitNotSent as CmppSubmitNotSent
from gateway.cmpp.pdu import V20, V30, Result

__all__ = ["PROTOCOL_VERSIONS", "CmppCarrierSession", "session_config"]

PROTOCOL_VERSIONS = {"cmpp2.0": V20, "cmpp3.0": V30}  # registry name -> CONNECT Version byte

_LINK_STATES = {
    SessionState.CONNECTED: LinkState.UP,
    SessionState.RECONNECTING: LinkState.LOST,
    SessionState.DISCONNECTED: LinkState.DOWN,
}


def session_config(config: NodeConfig) -> SessionConfig:
    return SessionConfig(
        host=config.host,
        port=config.port,
        sp_id=config.account,
        secret=config.secret,
        version=PROTOCOL_VERSIONS[config.protocol],
        window=max(1, config.window),
        response_timeout=config.response_timeout,
        max_sends=config.max_sends,
        heartbeat_interval=config.heartbeat_interval,
        rate_limit=config.rate_limit,
        connect_timeout=config.connect_timeout,
        reconnect_backoff=config.reconnect_backoff,
    )


def _acks(segments: Iterable[SegmentResult]) -> list[SegmentAck]:
    return [SegmentAck(s.pk_number, s.msg_id, s.result) for s in segments]


class CmppCarrierSession:
    """A CMPP long connection behind the neutral session interface."""

    __slots__ = ("_on_event", "_on_state", "_session")

    def __init__(self, config: NodeConfig, *, on_event: EventCallback, on_state: StateCallback) -> None:
        self._on_event = on_event
        self._on_state = on_state
        self._session = Session(session_config(config), on_deliver=self._deliver, on_state=self._state)

    @property
    def is_alive(self) -> bool:
        return self._session.is_alive

    @property
    def flow_controlled(self) -> int:
        return self._session.stats.flow_controlled

    async def connect(self) -> None:
        try:
            await self._session.connect()
        except CmppError as exc:
            raise CarrierError(str(exc)) from exc

    async def submit(self, order: SubmitOrder) -> SubmitAnswer:
        request = CmppSubmitRequest(
            dest=[order.dest],
            text=order.text,
            service_id=order.service_id,
            src_id=order.src_id,
            msg_src=order.account,
            registered_delivery=1 if order.want_report else 0,
            valid_until=order.valid_until,
        )
        try:
            result = await self._session.submit(request)
        except CmppSubmitAmbiguous as exc:
            raise SubmitAmbiguous(exc.reason, _acks(exc.segments)) from exc
        except CmppSubmitNotSent as exc:
            raise SubmitNotSent(exc.reason, flow_controlled=exc.last_result == Result.FLOW_CONTROL) from exc
        except ValueError:  # text or fields that cannot be encoded (CMPP's encode errors are ValueErrors)
            raise
        except CmppError as exc:
            raise CarrierError(str(exc)) from exc
        return SubmitAnswer(_acks(result.segments))

    async def heartbeat(self) -> None:
        try:
            await self._session.active_test()
        except CmppError as exc:
            raise CarrierError(str(exc)) from exc

    def withdraw_queued(self, reason: str) -> int:
        return self._session.withdraw_queued(reason)

    def drop(self, reason: str) -> None:
        self._session.drop(PeerDead(reason))

    async def close(self) -> None:
        await self._session.close()

    def _deliver(self, event: DeliverEvent) -> Awaitable[None] | None:
        if isinstance(event, DeliverReport):
            return self._on_event(
                StatusReport(event.msg_id, event.stat, event.dest, event.submit_time, event.done_time)
            )
        if isinstance(event, DeliverMO):
            return self._on_event(Uplink(event.src, event.dest_id, event.text))
        return None

    def _state(self, state: SessionState, error: BaseException | None) -> None:
        link = _LINK_STATES.get(state)
        if link is not None:
            self._on_state(link, error)


def _factory(config: NodeConfig, *, on_event: EventCallback, on_state: StateCallback) -> CarrierSession:
    return CmppCarrierSession(config, on_event=on_event, on_state=on_state)


for _protocol in PROTOCOL_VERSIONS:
    registry.register(_protocol, _factory)
