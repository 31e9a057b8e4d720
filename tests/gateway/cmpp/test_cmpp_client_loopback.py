"""Session against the simulator on 127.0.0.1: login, window, timeouts, heartbeat, flow control, reconnect,
long messages, reports and uplink, in both versions."""

import asyncio
import random
import struct
import time

import pytest
from cmpp_testkit import SECRET, SP_ID, MakeSession, MakeSim

from gateway.cmpp import (
    V20,
    V21,
    V30,
    Backoff,
    CmppConnectionError,
    ConnectRefused,
    ConnectTimeout,
    DeliverMO,
    DeliverReport,
    PduEncodeError,
    PeerDead,
    SessionClosed,
    SessionConfig,
    SessionState,
    SubmitAmbiguous,
    SubmitNotSent,
    SubmitRequest,
    SubmitResult,
    TextEncodeError,
)
from gateway.cmpp.msgid import unpack_msg_id
from gateway.cmpp.pdu import HEADER, Command, ConnectResp, Terminate, encode_frame

BOTH = pytest.mark.parametrize("version", [V20, V30], ids=["2.0", "3.0"])
NOTICE = "【12123】您的机动车有违法记录，请及时处理。"
LONG = "【交管12123】" + "您的机动车于2025年11月28日在某路段发生交通违法行为，请及时通过交管12123处理。" * 3


def req(text: str = NOTICE, dest: str = "13912345678", **kw: object) -> SubmitRequest:
    return SubmitRequest(dest=[dest], text=text, service_id="JTGL", src_id="10690001123", **kw)  # type: ignore[arg-type]


async def eventually(check: object, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# ------------------------------------------------------------------ login
@pytest.mark.parametrize("version", [V20, V21, V30])
async def test_login_and_submit(make_sim: MakeSim, make_session: MakeSession, version: int) -> None:
    sim = await make_sim()
    session = await make_session(sim, version=version)
    assert session.is_alive and session.state is SessionState.CONNECTED
    assert session.version == version
    result = await session.submit(req())
    assert isinstance(result, SubmitResult) and result.ok and len(result.segments) == 1
    record = sim.records[-1]
    assert record["msg_id"] == result.segments[0].msg_id and record["text"] == NOTICE
    assert record["dest"] == ["13912345678"] and record["src_id"] == "10690001123"
    assert unpack_msg_id(result.segments[0].msg_id).gateway == sim.config.node_id


@pytest.mark.parametrize(("overrides", "sim_options", "status"), [
    ({"secret": "wrong"}, {}, 3),
    ({"sp_id": "999999"}, {}, 2),
    ({}, {"refuse_logins": 5}, 5),
    ({"version": V30, "version_fallback": False}, {"version": V20}, 4),
])
async def test_login_refused_with_status(make_sim: MakeSim, make_session: MakeSession, overrides: dict[str, object],
                                         sim_options: dict[str, object], status: int) -> None:
    sim = await make_sim(**sim_options)
    session = await make_session(sim, connect=False, **overrides)
    with pytest.raises(ConnectRefused) as info:
        await session.connect()
    assert info.value.status == status
    assert isinstance(info.value, ConnectionError) and not session.is_alive
    assert sim.stats.logins_refused == 1


async def _refusing_gateway(statuses: list[int], seen_versions: list[int]) -> asyncio.Server:
    """A fake ISMG that answers each CONNECT with CONNECT_RESP(status) and TERMINATE in ONE write(), then
    closes, as many gateways do; status 0 logs in and keeps the connection open."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = await reader.readexactly(12)
        length, command, seq = HEADER.unpack(header)
        body = await reader.readexactly(length - 12)
        assert command == Command.CONNECT
        version = body[-5]
        seen_versions.append(version)
        status = statuses.pop(0) if statuses else 0
        resp = encode_frame(ConnectResp(status, bytes(16), version), seq, version)
        if status == 0:
            writer.write(resp)
            await writer.drain()
            await asyncio.sleep(5)
        else:
            writer.write(resp + encode_frame(Terminate(), 1, version))  # both frames in one write
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.parametrize("status", [2, 3, 5])
async def test_refusal_followed_by_terminate_in_one_read_keeps_the_status(
        make_sim: MakeSim, make_session: MakeSession, status: int) -> None:
    versions: list[int] = []
    server = await _refusing_gateway([status], versions)
    sim = await make_sim()
    session = await make_session(sim, connect=False, port=server.sockets[0].getsockname()[1])
    try:
        with pytest.raises(ConnectRefused) as info:
            await session.connect()
        assert info.value.status == status
        assert not session.is_alive and versions == [V30]
    finally:
        server.close()


async def test_refusal_of_30_with_terminate_falls_back_to_20(make_sim: MakeSim, make_session: MakeSession) -> None:
    versions: list[int] = []
    server = await _refusing_gateway([4], versions)
    sim = await make_sim()
    session = await make_session(sim, connect=False, port=server.sockets[0].getsockname()[1], version=V30)
    try:
        await session.connect()
        assert session.is_alive and session.version == V20
        assert versions == [V30, V20]
    finally:
        server.close()


def test_reconnect_backoff_is_jittered_and_capped_at_a_few_seconds() -> None:
    backoff = SessionConfig().reconnect_backoff
    delays = [backoff.delay(attempt, random.random()) for attempt in range(40)]
    assert max(delays) <= 5.0 * 1.5  # a node that comes back is tried again within seconds
    late = [backoff.delay(30, r / 10) for r in range(10)]
    assert len(set(late)) == 10  # spread, so several senders do not reconnect in step


async def test_version_negotiation_falls_back_to_20(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(version=V20)
    session = await make_session(sim, version=V30)
    assert session.version == V20
    assert (await session.submit(req())).ok


async def test_connect_timeout_and_connection_refused(make_session: MakeSession, make_sim: MakeSim) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1000)
        await asyncio.sleep(5)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sim = await make_sim()
    session = await make_session(sim, connect=False, port=port, connect_timeout=0.2)
    with pytest.raises(ConnectTimeout):
        await session.connect()
    server.close()
    await sim.stop()
    refused = await make_session(sim, connect=False)
    with pytest.raises(CmppConnectionError):
        await refused.connect()


# ------------------------------------------------------------------ submit paths
@BOTH
async def test_long_message_sends_every_segment(make_sim: MakeSim, make_session: MakeSession, version: int) -> None:
    sim = await make_sim()
    session = await make_session(sim, version=version)
    result = await session.submit(req(LONG))
    assert [s.pk_number for s in result.segments] == [1, 2, 3] and result.ok
    assert len(set(result.msg_ids)) == 3
    records = list(sim.records)
    assert [(r["pk_total"], r["pk_number"]) for r in records] == [(3, 1), (3, 2), (3, 3)]
    assert "".join(r["text"] for r in records) == LONG


async def test_rejection_is_returned_not_raised(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(reject_prefixes=("170",))
    session = await make_session(sim, version=V30)
    result = await session.submit(req(dest="17012345678"))
    assert not result.ok and result.segments[0].result == 13
    with pytest.raises(TextEncodeError):
        await session.submit(req(msg_fmt=0, text="中文"))
    with pytest.raises(PduEncodeError):
        await session.submit(SubmitRequest(dest="13912345678", text="x"))
    with pytest.raises(PduEncodeError, match="Service_Id"):
        await session.submit(SubmitRequest(dest=["13912345678"], text="x", service_id="x" * 11))


async def test_window_limits_outstanding_requests(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(answer_delay=0.05)
    session = await make_session(sim, window=3)
    results = await asyncio.gather(*(session.submit(req()) for _ in range(20)))
    assert all(r.ok for r in results)
    assert sim.stats.max_outstanding == 3


async def test_many_concurrent_submits_pipeline_into_the_window(make_sim: MakeSim,
                                                                make_session: MakeSession) -> None:
    sim = await make_sim()
    # A slot may take longer than the 1 s response timeout to free on a loaded machine: this test is about
    # pipelining, so waiting for a slot must not time out here.
    session = await make_session(sim, window=16, queue_timeout=60.0)

    async def worker() -> int:
        acked = 0
        for _ in range(40):
            acked += len((await session.submit(req())).segments)
        return acked

    assert sum(await asyncio.gather(*(worker() for _ in range(50)))) == 2000
    assert sim.stats.submits == 2000 and 1 < sim.stats.max_outstanding <= 16
    assert session.pending == 0


async def test_no_window_slot_in_time_is_not_sent_and_unanswered_is_ambiguous(
        make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(hang_after=0)
    states: list[tuple[SessionState, BaseException | None]] = []
    session = await make_session(sim, window=1, response_timeout=0.5, max_sends=2, queue_timeout=0.15,
                                 on_state=lambda s, e: states.append((s, e)))
    first, second = await asyncio.gather(session.submit(req()), session.submit(req()), return_exceptions=True)
    assert isinstance(second, SubmitNotSent) and not second.may_have_reached_carrier
    assert "window" in second.reason
    assert isinstance(first, SubmitAmbiguous) and first.may_have_reached_carrier
    assert isinstance(first.__cause__, PeerDead)
    assert session.stats.retransmits == 1
    assert (SessionState.RECONNECTING, first.__cause__) in states  # the dead peer is reported


async def test_timeout_then_retransmit_gets_the_answer(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(answer_delay=0.6)
    session = await make_session(sim, response_timeout=0.2, max_sends=5)
    result = await session.submit(req())
    assert result.ok and session.stats.retransmits >= 1
    await eventually(lambda: session.stats.stray_responses >= 1)  # the answer to the retransmission


async def test_flow_control_slows_down_and_retries(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(throttle_rate=100)
    session = await make_session(sim, flow_control_retries=50)
    results = await asyncio.gather(*(session.submit(req()) for _ in range(40)))
    assert all(r.ok for r in results) and sim.stats.submits == 40
    assert sim.stats.throttled > 0 and session.stats.flow_controlled == sim.stats.throttled


async def test_flow_control_exhausted_is_not_sent_with_result_8(make_sim: MakeSim,
                                                                 make_session: MakeSession) -> None:
    sim = await make_sim(throttle_rate=0.01)
    session = await make_session(sim, flow_control_retries=2)
    assert (await session.submit(req())).ok  # the bucket's one token
    with pytest.raises(SubmitNotSent) as info:
        await session.submit(req())
    assert info.value.last_result == 8 and sim.stats.throttled == 3


async def test_part_accepted_part_refused_is_ambiguous(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(throttle_rate=0.01)
    session = await make_session(sim, flow_control_retries=1)
    with pytest.raises(SubmitAmbiguous) as info:
        await session.submit(req(LONG))
    assert [s.pk_number for s in info.value.segments] == [1] and info.value.last_result == 8


async def test_rate_limit(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim()
    session = await make_session(sim, rate_limit=50.0, rate_burst=1.0)
    started = time.monotonic()
    await asyncio.gather(*(session.submit(req()) for _ in range(11)))
    assert time.monotonic() - started >= 0.18


async def test_cancelled_submit_is_not_sent(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(answer_delay=0.2)
    session = await make_session(sim, window=1)
    first = asyncio.ensure_future(session.submit(req()))
    second = asyncio.ensure_future(session.submit(req()))
    await asyncio.sleep(0.05)
    second.cancel()
    assert (await first).ok
    await asyncio.sleep(0.05)
    assert sim.stats.submit_resps == 1 and session.pending == 0


# ------------------------------------------------------------------ heartbeat, dead peer, reconnect
async def test_heartbeat_sent_when_idle_and_answered_when_received(make_sim: MakeSim,
                                                                   make_session: MakeSession) -> None:
    sim = await make_sim()
    session = await make_session(sim, heartbeat_interval=0.1, response_timeout=0.5)
    await eventually(lambda: sim.stats.active_tests >= 2 and session.stats.heartbeats_answered >= 2)
    assert await sim.send_active_test() == 1
    await eventually(lambda: sim.stats.active_test_resps == 1)
    await session.active_test()
    assert session.is_alive


async def test_unanswered_heartbeat_detects_a_dead_peer(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(hang_after=0)
    errors: list[BaseException | None] = []
    await make_session(sim, heartbeat_interval=0.05, response_timeout=0.1, max_sends=2,
                       on_state=lambda s, e: errors.append(e) if s is SessionState.RECONNECTING else None)
    await eventually(lambda: errors)
    assert isinstance(errors[0], PeerDead) and sim.stats.active_tests == 0  # hung: nothing was answered


@BOTH
async def test_peer_drop_then_reconnect(make_sim: MakeSim, make_session: MakeSession, version: int) -> None:
    sim = await make_sim(drop_after=3)
    session = await make_session(sim, version=version)
    for _ in range(3):
        assert (await session.submit(req())).ok
    with pytest.raises(SubmitAmbiguous):  # the 4th SUBMIT reached the gateway, which dropped the line
        await session.submit(req())
    with pytest.raises(SubmitNotSent, match="not connected"):
        await session.submit(req())
    await session.wait_alive(timeout=2)
    assert (await session.submit(req())).ok
    assert session.stats.connects == 2 and sim.stats.logins_ok == 2


async def test_hung_gateway_recovers_after_reconnect(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(hang_after=1)
    session = await make_session(sim, response_timeout=0.1, max_sends=2)
    assert (await session.submit(req())).ok
    with pytest.raises(SubmitAmbiguous) as info:
        await session.submit(req())
    assert isinstance(info.value.__cause__, PeerDead)
    await session.wait_alive(timeout=2)
    assert (await session.submit(req())).ok  # the new connection answers its first SUBMIT again


async def test_reconnect_gives_up_after_max_attempts(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim()
    session = await make_session(sim, max_reconnect_attempts=2)
    sim.config.refuse_logins = 3
    sim.drop_connections()
    await eventually(lambda: session.state is SessionState.DISCONNECTED)
    assert isinstance(session.last_error, ConnectRefused)


async def test_terminate_from_the_gateway_and_clean_close(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(answer_delay=0.1)
    session = await make_session(sim, window=1)
    inflight = asyncio.ensure_future(session.submit(req()))
    queued = asyncio.ensure_future(session.submit(req()))
    await asyncio.sleep(0.02)
    await session.close()
    assert (await inflight).ok  # in-flight requests get their answer before TERMINATE
    with pytest.raises(SessionClosed):
        await queued
    assert sim.stats.terminates == 1 and session.state is SessionState.CLOSED
    with pytest.raises(SessionClosed):
        await session.submit(req())


# ------------------------------------------------------------------ reports and uplink
@BOTH
async def test_status_report_per_segment(make_sim: MakeSim, make_session: MakeSession, version: int) -> None:
    sim = await make_sim()
    events: list[object] = []
    session = await make_session(sim, version=version, on_deliver=events.append)
    result = await session.submit(req(LONG))
    await eventually(lambda: len(events) == 3)
    assert all(isinstance(e, DeliverReport) and e.delivered and e.dest == "13912345678" for e in events)
    assert sorted(e.msg_id for e in events) == sorted(result.msg_ids)  # type: ignore[attr-defined]
    await eventually(lambda: sim.stats.deliver_acks == 3)


async def test_failed_reports_and_group_send(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(fail_rate=1.0, fail_stats=("UNDELIV",))
    queue: asyncio.Queue[object] = asyncio.Queue()
    session = await make_session(sim, deliver_queue=queue)
    result = await session.submit(SubmitRequest(dest=["13912345678", "13800138000"], text="hi", src_id="1069"))
    reports = [await asyncio.wait_for(queue.get(), 2) for _ in range(2)]
    first = result.segments[0].msg_id
    assert sorted((r.msg_id, r.dest, r.stat) for r in reports) == [  # type: ignore[attr-defined]
        (first, "13912345678", "UNDELIV"), (first + 1, "13800138000", "UNDELIV")]


@BOTH
async def test_uplink_td_and_long_uplink_out_of_order(make_sim: MakeSim, make_session: MakeSession,
                                                      version: int) -> None:
    sim = await make_sim()
    events: list[DeliverMO] = []

    async def on_deliver(event: object) -> None:
        assert isinstance(event, DeliverMO)
        events.append(event)

    await make_session(sim, version=version, on_deliver=on_deliver)
    await sim.inject_mo(src="8613912345678", text="TD")
    text = "我不想再收到这些短信了，请退订。" * 10
    assert await sim.inject_mo(src="13912345678", text=text, order=[3, 1, 2]) == 3
    await eventually(lambda: len(events) == 2 and sim.stats.deliver_acks == 4)
    td, long = events
    assert (td.src, td.dest_id, td.text, td.msg_fmt) == ("13912345678", "10690001", "TD", 0)
    assert long.text == text and long.total_parts == 3 and not long.missing_parts


async def test_uplink_with_16_bit_udh_and_smpp_udhi_bit(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim()
    events: list[DeliverMO] = []
    await make_session(sim, version=V20, on_deliver=events.append)
    text = "请帮我退订这个通知服务，谢谢。" * 6 + "😀"
    await sim.inject_mo(src="+8613912345678", text=text, order=[2, 1], udhi=0x40, udh16=True)
    await eventually(lambda: events)
    assert (events[0].src, events[0].text, events[0].total_parts) == ("13912345678", text, 2)


async def test_missing_uplink_part_times_out(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim()
    events: list[DeliverMO] = []
    await make_session(sim, on_deliver=events.append, reassembly_timeout=0.2)
    text = "一" * 150
    await sim.inject_mo(src="13912345678", text=text, drop_parts=[2])
    await eventually(lambda: events)
    assert events[0].missing_parts == (2,) and events[0].text == "一" * 67 + "一" * 16
    await eventually(lambda: sim.stats.deliver_acks == 2)


async def test_unprocessed_report_is_redelivered_after_reconnect(make_sim: MakeSim,
                                                                 make_session: MakeSession) -> None:
    sim = await make_sim()
    seen: list[object] = []

    def flaky(event: object) -> None:
        seen.append(event)
        if len(seen) == 1:
            raise RuntimeError("database down")

    session = await make_session(sim, on_deliver=flaky)
    await sim.inject_mo(src="13912345678", text="TD")
    await eventually(lambda: len(seen) == 1)
    assert sim.stats.deliver_acks == 0 and session.stats.delivers_unacked == 1
    sim.drop_connections()
    await eventually(lambda: len(seen) == 2 and sim.stats.deliver_acks == 1)
    assert seen[0] == seen[1]


async def test_unanswered_report_of_a_closed_connection_goes_to_another_connection_of_the_account_at_once(
        make_sim: MakeSim, make_session: MakeSession) -> None:
    """A sender killed with reports unanswered: the gateway hands them to the account's other live connection
    without waiting for a new login (the surviving sender must not wait for a reconnect to get them)."""
    sim = await make_sim()
    first_seen: list[object] = []

    def never_ack(event: object) -> None:
        first_seen.append(event)
        raise RuntimeError("process about to die")

    first = await make_session(sim, on_deliver=never_ack)
    await sim.inject_mo(src="13912345678", text="TD")
    await eventually(lambda: len(first_seen) == 1)
    second_seen: list[object] = []
    await make_session(sim, on_deliver=second_seen.append)
    logins = sim.stats.logins_ok
    await first.close()
    await eventually(lambda: len(second_seen) == 1 and sim.stats.deliver_acks == 1)
    assert second_seen[0] == first_seen[0] and sim.stats.logins_ok == logins


async def test_full_deliver_queue_leaves_the_deliver_unacknowledged(make_sim: MakeSim,
                                                                     make_session: MakeSession) -> None:
    sim = await make_sim()
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=1)
    session = await make_session(sim, deliver_queue=queue)
    await sim.inject_mo(src="13912345678", text="1")
    await sim.inject_mo(src="13912345678", text="2")
    await eventually(lambda: session.stats.delivers_unacked == 1)
    assert sim.stats.deliver_acks == 1 and queue.qsize() == 1


async def test_query_and_cancel(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim()
    session = await make_session(sim)
    await session.submit(req())
    counts = await session.query("20251128")
    assert counts.mt_tl_msg == 1
    assert await session.cancel(1) is False


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SessionConfig(sp_id=SP_ID, secret=SECRET, window=0)
    with pytest.raises(ValueError):
        SessionConfig(version=0x40)


async def test_garbage_from_the_gateway_never_crashes_the_session(make_sim: MakeSim,
                                                                  make_session: MakeSession) -> None:
    """A fake ISMG logs the client in, then sends random bytes (some behind plausible headers)."""
    rng = random.Random(99)
    logins = 0

    async def evil(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal logins
        header = await reader.readexactly(12)
        await reader.readexactly(27)
        logins += 1
        writer.write(encode_frame(ConnectResp(0, bytes(16), V30), struct.unpack(">I", header[8:12])[0], V30))
        if logins == 1:  # the first login stays clean, so connect() succeeds and reconnecting takes over
            await writer.drain()
            await asyncio.sleep(0.05)
        for _ in range(rng.randrange(1, 6)):
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
            command = rng.choice([0x80000004, 5, 8, 0x80000008, 2, 0x80000006, 3, 0x12345678])
            writer.write(struct.pack(">III", 12 + len(junk), command, rng.randrange(1, 40)) + junk)
        writer.write(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))))
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.close()

    loop_errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: loop_errors.append(ctx))
    server = await asyncio.start_server(evil, "127.0.0.1", 0)
    sim = await make_sim()
    events: list[object] = []
    session = await make_session(sim, port=server.sockets[0].getsockname()[1], on_deliver=events.append,
                                 heartbeat_interval=0.05)
    await eventually(lambda: logins >= 15, timeout=10)
    server.close()
    await session.close()
    assert session.stats.connects >= 2 and loop_errors == []  # many logins fail: junk follows at once


async def test_explicit_connect_while_reconnecting(make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim()
    session = await make_session(sim, reconnect_backoff=Backoff(base=30, jitter=0))  # background retry far off
    sim.drop_connections()
    await eventually(lambda: session.state is SessionState.RECONNECTING)
    await session.connect()
    assert session.is_alive and (await session.submit(req())).ok


async def test_withdraw_queued_fails_waiting_segments_at_once_and_leaves_in_flight_ones(
        make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(answer_delay=0.5)
    session = await make_session(sim, window=1, response_timeout=5.0)
    first = asyncio.ensure_future(session.submit(req(dest="13900000001")))
    waiting = [asyncio.ensure_future(session.submit(req(dest=f"1390000000{i}"))) for i in (2, 3)]
    await eventually(lambda: session.pending == 3)
    assert session.withdraw_queued("node taken down") == 2
    for fut in waiting:
        with pytest.raises(SubmitNotSent, match="node taken down"):
            await asyncio.wait_for(fut, 0.1)  # at once, not after the queue timeout
    assert (await first).ok  # the one in flight still gets its answer


async def test_a_fresh_head_does_not_shield_older_segments_from_the_queue_timeout(
        make_sim: MakeSim, make_session: MakeSession) -> None:
    sim = await make_sim(answer_delay=3.0)
    session = await make_session(sim, window=1, response_timeout=5.0, queue_timeout=0.4, connect_timeout=5.0)
    first = asyncio.ensure_future(session.submit(req(dest="13900000001")))
    second = asyncio.ensure_future(session.submit(req(dest="13900000002")))
    third = asyncio.ensure_future(session.submit(req(dest="13900000003")))
    await eventually(lambda: session.pending == 3)
    session._queue[0].queued_at += 100  # as a segment put back at the head after result 8
    with pytest.raises(SubmitNotSent, match="no window slot"):
        await asyncio.wait_for(third, 1.5)
    assert not second.done()
    for fut in (first, second):
        fut.cancel()
