"""The sender runs over the protocol-neutral carrier session: a tiny fake second protocol, registered here and
nowhere in the code, carries messages to delivered, takes a refusal, and brings an uplink opt-out in."""

import asyncio
import itertools

import pytest
from django.db import OperationalError, connection

from gateway.carrier import registry
from gateway.carrier.session import (
    CarrierSession,
    LinkState,
    NodeConfig,
    SegmentAck,
    StatusReport,
    SubmitAnswer,
    SubmitOrder,
    Uplink,
)
from gateway.models import Message, OptOut
from gateway.sender.adapters import NodeSpec
from gateway.sender.runner import Sender, SenderSettings

pytestmark = pytest.mark.django_db(transaction=True)

PROTOCOL = "fake0.1"
REFUSED_DEST = "13900000003"
FAST = SenderSettings(batch=50, poll_seconds=0.1, report_grace_seconds=0.5, flush_interval=0.02)


class FakeSession:
    """Accepts every message but one (result 42), reports each accepted one delivered, sends one uplink."""

    def __init__(self, config, *, on_event, on_state):
        self.config = config
        self.on_event = on_event
        self.on_state = on_state
        self.orders: list[SubmitOrder] = []
        self.alive = False
        self.ids = itertools.count(1 << 63)  # above 2**63: stored negative, must still match
        self.acked: list[object] = []
        SESSIONS.append(self)

    @property
    def is_alive(self):
        return self.alive

    @property
    def flow_controlled(self):
        return 0

    async def connect(self):
        self.alive = True
        self.on_state(LinkState.UP, None)
        asyncio.get_running_loop().call_later(
            0.2, lambda: asyncio.ensure_future(self._event(Uplink("8613900009999", "10691212300", "TD")))
        )

    async def submit(self, order):
        self.orders.append(order)
        msg_id = next(self.ids)
        if order.dest == REFUSED_DEST:
            return SubmitAnswer([SegmentAck(1, msg_id, 42)])
        asyncio.get_running_loop().call_later(
            0.05, lambda: asyncio.ensure_future(self._event(StatusReport(msg_id, "DELIVRD", order.dest)))
        )
        return SubmitAnswer([SegmentAck(1, msg_id, 0)])

    async def _event(self, event):
        done = self.on_event(event)
        if done is not None:
            await done  # acknowledged only once written, as a real protocol does
        self.acked.append(event)

    async def heartbeat(self):
        return None

    def withdraw_queued(self, reason):
        return 0

    def drop(self, reason):
        self.alive = False

    async def close(self):
        self.alive = False


SESSIONS: list[FakeSession] = []


@pytest.fixture
def fake_protocol():
    SESSIONS.clear()
    registry.register(PROTOCOL, FakeSession)
    yield
    registry.unregister(PROTOCOL)


def _check(predicate):
    try:
        return predicate()
    except OperationalError:
        return False
    finally:
        connection.close()


def test_the_sender_runs_over_a_second_protocol_registered_elsewhere(fake_protocol, make_node, make_messages):
    node = make_node(name="fake-node")
    messages = make_messages(5)
    spec = NodeSpec(
        id=node.id,
        name=node.name,
        contract_id=node.contract_id,
        weight=1,
        rate_limit=0,
        sp_id="901234",
        service_id="JTXX",
        source_number="10691212300",
        config=NodeConfig(protocol=PROTOCOL, host="fake.invalid", port=1, account="901234", secret="x"),
    )
    assert PROTOCOL in registry.protocols()

    def settled():
        statuses = dict(Message.objects.values_list("mobile", "status"))
        return (
            sorted(statuses.values()) == ["delivered"] * 4 + ["failed"]
            and OptOut.objects.filter(mobile="13900009999").exists()
        )

    async def main():
        sender = Sender([spec], FAST)
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        try:
            async with asyncio.timeout(30):
                while not await asyncio.to_thread(_check, settled):
                    await asyncio.sleep(0.1)
        finally:
            stop.set()
            await task

    asyncio.run(main())
    (session,) = SESSIONS
    assert isinstance(session, CarrierSession)
    assert sorted(o.dest for o in session.orders) == sorted(m.mobile for m in messages)
    assert {o.text for o in session.orders} == {messages[0].content}
    assert all(o.want_report and o.account == "901234" and o.src_id == "10691212300" for o in session.orders)
    refused = Message.objects.get(mobile=REFUSED_DEST)
    assert (refused.status, refused.stat) == ("failed", "RESP:42")
    assert Message.objects.filter(status="delivered", node=node).count() == 4
    assert len(session.acked) == 5  # four reports and the uplink, each acknowledged after it was written


def test_an_unknown_protocol_is_refused_by_name():
    with pytest.raises(registry.UnknownProtocol, match="smgp3.0"):
        registry.session_factory("smgp3.0")
    assert {"cmpp2.0", "cmpp3.0"} <= set(registry.protocols())
    from gateway.cmpp.carrier import CmppCarrierSession

    session = registry.session_factory("cmpp3.0")(
        NodeConfig(protocol="cmpp3.0", host="127.0.0.1", port=1, account="901234", secret="x"),
        on_event=lambda event: None,
        on_state=lambda state, error: None,
    )
    assert isinstance(session, CmppCarrierSession) and isinstance(session, CarrierSession)
    assert not session.is_alive
