"""The SP side of a CMPP long connection: :class:`Session`.

One Session owns one TCP connection at a time (reconnecting with back-off when it is lost) and multiplexes
any number of concurrent :meth:`Session.submit` calls into a sliding window of outstanding SUBMITs.

Hot-path notes: SUBMIT bodies are packed once per segment when ``submit`` is called (the Sequence_Id header
is added when a window slot frees up), responses are matched by Sequence_Id in a dict, all writes made while
handling one chunk of input are joined into one ``transport.write``, and a single periodic tick (not a timer
per request) drives response timeouts, retransmission, heartbeats, queue timeouts and uplink reassembly.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple

from gateway.carrier.backoff import RECONNECT_BACKOFF, Backoff
from gateway.cmpp.auth import authenticator_source, timestamp_from_struct, verify_authenticator_ismg
from gateway.cmpp.codec import MAX_FRAME_LENGTH, FrameReader
from gateway.cmpp.errors import (
    CmppConnectionError,
    CmppError,
    CmppTimeout,
    ConnectionLost,
    ConnectRefused,
    ConnectTimeout,
    FrameError,
    NotConnected,
    PduDecodeError,
    PduEncodeError,
    PeerDead,
    SessionClosed,
    SubmitAmbiguous,
    SubmitNotSent,
)
from gateway.cmpp.pdu import (
    HEADER,
    HEADER_SIZE,
    MAX_SEQUENCE_ID,
    REGISTERED_DELIVERY_REPORT,
    TERMINAL_ID_SIZE_V2,
    TERMINAL_ID_SIZE_V3,
    UDHI_MASK,
    V20,
    V30,
    ActiveTest,
    Cancel,
    CancelResp,
    Command,
    Connect,
    ConnectResp,
    Deliver,
    Pdu,
    Query,
    QueryResp,
    Result,
    StatusReport,
    Terminate,
    decode_body,
    decode_msg_id_result,
    encode_frame,
    frozen_builder,
    is_v3,
    octet,
    pack_submit_body,
    submit_text_fields,
)
from gateway.cmpp.ratelimit import TokenBucket
from gateway.cmpp.segmentation import MAX_CONTENT, Reassembler, parse_udh, split_text
from gateway.cmpp.text import FMT_UCS2, decode_text, smpp_time

__all__ = [
    "DeliverEvent",
    "DeliverMO",
    "DeliverReport",
    "SegmentResult",
    "Session",
    "SessionConfig",
    "SessionState",
    "SessionStats",
    "SubmitRequest",
    "SubmitResult",
]

log = logging.getLogger(__name__)

_CONTROL_RESPONSES = frozenset(
    (Command.ACTIVE_TEST_RESP, Command.TERMINATE_RESP, Command.QUERY_RESP, Command.CANCEL_RESP)
)
_DELIVER_RESP2 = struct.Struct(">IIIQB")
_DELIVER_RESP3 = struct.Struct(">IIIQI")
_FLOW_CONTROL = Result.FLOW_CONTROL  # read per SUBMIT_RESP: a module global is 7x cheaper than Result.FLOW_CONTROL
_FLOW_CONTROL_STREAK_CAP = 16  # the flow-control pause stops growing after this many result 8 in a row


# ============================================================================================ public types
@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Everything a :class:`Session` needs. Times are seconds.

    ``response_timeout`` (T) and ``max_sends`` (N): a request unanswered after T is sent again, after N sends
    in total the peer is taken as dead and the connection dropped. ``heartbeat_interval`` (C): ACTIVE_TEST
    after C seconds without input. ``queue_timeout``: how long a segment may wait for a window slot (default
    T). ``flow_control_retries``: how often one segment answered with result 8 is sent again, after a pause of
    ``flow_control_backoff`` (growing while result 8 keeps coming). ``rate_limit``: segments per second
    (a submit to n numbers counts n), token bucket with ``rate_burst`` tokens.
    """

    host: str = "127.0.0.1"
    port: int = 7890
    sp_id: str = ""
    secret: str = ""
    version: int = V30
    window: int = 16
    response_timeout: float = 60.0
    max_sends: int = 3
    heartbeat_interval: float = 180.0
    rate_limit: float | None = None
    rate_burst: float | None = None
    connect_timeout: float = 10.0
    queue_timeout: float | None = None
    flow_control_retries: int = 5
    flow_control_backoff: Backoff = Backoff(base=1.0, factor=2.0, cap=10.0, jitter=0.1)
    reconnect: bool = True
    reconnect_backoff: Backoff = RECONNECT_BACKOFF
    max_reconnect_attempts: int | None = None
    version_fallback: bool = True
    verify_ismg: bool = False
    close_timeout: float = 5.0
    reassembly_timeout: float = 60.0
    max_frame_length: int = MAX_FRAME_LENGTH

    def __post_init__(self) -> None:
        if self.window < 1 or self.max_sends < 1:
            raise ValueError("window and max_sends must be at least 1")
        if min(self.response_timeout, self.heartbeat_interval, self.connect_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError("rate_limit must be positive or None")
        if self.version >> 4 not in (2, 3):
            raise ValueError(f"unsupported CMPP version 0x{self.version:02x}")


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """One message to one or more numbers. ``text`` is split into segments as needed (see split_text).

    ``msg_src`` defaults to the session's SP_Id. ``valid_until``/``at_time``: a naive datetime is local time.
    """

    dest: Sequence[str]
    text: str
    service_id: str = ""
    src_id: str = ""
    msg_src: str = ""
    registered_delivery: int = REGISTERED_DELIVERY_REPORT
    valid_until: datetime | None = None
    at_time: datetime | None = None
    fee_type: str = "01"
    fee_code: str = "000000"
    fee_user_type: int = 2
    fee_terminal_id: str = ""
    msg_fmt: int = FMT_UCS2
    msg_level: int = 0
    tp_pid: int = 0
    link_id: str = ""
    reference: int | None = None


class SegmentResult(NamedTuple):
    """The SUBMIT_RESP of one segment: ``result`` 0 is accepted; other codes (never 8) are rejections.

    A NamedTuple (immutable, built several times cheaper than a frozen dataclass): one is made per segment.
    """

    pk_number: int
    msg_id: int
    result: int

    @property
    def ok(self) -> bool:
        return self.result == 0


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """Answers of every segment of a message, in segment order."""

    segments: list[SegmentResult]

    @property
    def ok(self) -> bool:
        return all(s.result == 0 for s in self.segments)

    @property
    def msg_ids(self) -> list[int]:
        return [s.msg_id for s in self.segments]


@dataclass(frozen=True, slots=True)
class DeliverReport:
    """A status report. ``msg_id`` is the Msg_Id of the reported MT segment (as in its SUBMIT_RESP)."""

    msg_id: int
    stat: str
    submit_time: str
    done_time: str
    dest: str
    smsc_sequence: int
    src_id: str = ""
    service_id: str = ""
    deliver_msg_id: int = 0

    @property
    def delivered(self) -> bool:
        return self.stat == "DELIVRD"


@dataclass(frozen=True, slots=True)
class DeliverMO:
    """An uplink message; long ones are reassembled. ``missing_parts`` is non-empty only when a part never
    arrived within the reassembly timeout (``text`` then holds the parts that did)."""

    src: str
    dest_id: str
    text: str
    msg_fmt: int
    service_id: str = ""
    link_id: str = ""
    deliver_msg_id: int = 0
    content: bytes = b""
    total_parts: int = 1
    missing_parts: tuple[int, ...] = ()


DeliverEvent = DeliverReport | DeliverMO
_new_report = frozen_builder(DeliverReport)  # one per status report: skip the frozen __init__
DeliverCallback = Callable[[DeliverEvent], Awaitable[None] | None]


class SessionState(Enum):
    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"  # lost and not reconnecting (reconnect off or attempts used up)
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(slots=True)
class SessionStats:
    submitted_segments: int = 0
    acknowledged_segments: int = 0
    retransmits: int = 0
    flow_controlled: int = 0
    reports: int = 0
    mos: int = 0
    delivers_unacked: int = 0
    heartbeats_sent: int = 0
    heartbeats_answered: int = 0
    stray_responses: int = 0
    connects: int = 0
    disconnects: int = 0


# ============================================================================================ internals
class _SegOutcome(Enum):
    ANSWERED = "answered"
    NOT_SENT = "not sent"  # never reached the gateway (queued at a loss, flow control exhausted, no slot)
    AMBIGUOUS = "ambiguous"  # sent, but the answer was lost


_ANSWERED, _NOT_SENT, _AMBIGUOUS = _SegOutcome.ANSWERED, _SegOutcome.NOT_SENT, _SegOutcome.AMBIGUOUS


class _Msg:
    __slots__ = ("future", "results", "remaining", "not_sent", "ambiguous", "last_result", "reason", "cause")

    def __init__(self, future: asyncio.Future[SubmitResult], total: int) -> None:
        self.future = future
        self.results: list[SegmentResult | None] = [None] * total
        self.remaining = total
        self.not_sent = 0
        self.ambiguous = 0
        self.last_result: int | None = None
        self.reason = ""
        self.cause: BaseException | None = None


class _Seg:
    """A SUBMIT segment; while sent, also an in-flight entry of its link."""

    __slots__ = ("msg", "number", "body", "cost", "queued_at", "seq", "frame", "sends", "sent_at", "fc_count")

    def __init__(self, msg: _Msg, number: int, body: bytes, cost: int, now: float) -> None:
        self.msg = msg
        self.number = number
        self.body = body
        self.cost = cost
        self.queued_at = now
        self.seq = 0
        self.frame = b""
        self.sends = 0
        self.sent_at = 0.0
        self.fc_count = 0


class _Control:
    """A non-SUBMIT request in flight (ACTIVE_TEST, TERMINATE, QUERY, CANCEL)."""

    __slots__ = ("future", "frame", "sends", "sent_at", "command")

    def __init__(self, future: asyncio.Future[Pdu] | None, frame: bytes, now: float, command: int) -> None:
        self.future = future
        self.frame = frame
        self.sends = 1
        self.sent_at = now
        self.command = command


class _Link(asyncio.Protocol):
    """One TCP connection: framing, Sequence_Ids, in-flight requests and write batching."""

    def __init__(self, session: Session, version: int) -> None:
        self.session = session
        self.loop = session._loop
        self.version = version
        self.v3 = is_v3(version)
        self.transport: asyncio.Transport | None = None
        self.login_future: asyncio.Future[ConnectResp] | None = None
        self.inflight: dict[int, _Seg | _Control] = {}
        self.submits_inflight = 0
        self.heartbeat_pending = False
        self.closed = False
        self.paused = False
        self.last_rx = self.loop.time()
        self._seq = 0
        self._reader = FrameReader(session.config.max_frame_length)
        self._wbuf: list[bytes] = []
        self._flush_scheduled = False

    def set_version(self, version: int) -> None:
        self.version = version
        self.v3 = is_v3(version)

    def next_seq(self) -> int:
        seq = self._seq + 1 if self._seq < MAX_SEQUENCE_ID else 1
        self._seq = seq
        return seq

    # ---------------------------------------------------------------- writing
    def send(self, frame: bytes) -> None:
        self._wbuf.append(frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        if self._wbuf and self.transport is not None and not self.closed:
            self.transport.write(b"".join(self._wbuf))
        self._wbuf.clear()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # ---------------------------------------------------------------- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.session._link_lost(
            self, ConnectionLost(f"connection lost: {exc}") if exc else ConnectionLost("connection closed by the peer")
        )

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self.session._schedule_pump()

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        session = self.session
        inflight = self.inflight
        freed = False
        self.last_rx = self.loop.time()
        try:
            for command, seq, body in self._reader.feed(data):
                if command == Command.SUBMIT_RESP:
                    entry = inflight.pop(seq, None)
                    if entry is None or type(entry) is not _Seg:
                        session.stats.stray_responses += 1
                        continue
                    self.submits_inflight -= 1
                    freed = True
                    msg_id, result = decode_msg_id_result(body)
                    session._on_submit_resp(entry, msg_id, result)
                elif command == Command.DELIVER:
                    session._on_deliver(self, seq, body)
                else:
                    self._on_other(command, seq, body)
                    if self.closed:
                        return
        except (PduDecodeError, FrameError) as exc:
            log.warning("CMPP protocol error from %s, dropping the connection: %s", session.config.host, exc)
            self.flush()
            session._drop_link(self, ConnectionLost(f"protocol error: {exc}"))
            return
        if freed and session._queue:
            session._pump()
        self.flush()

    def _on_other(self, command: int, seq: int, body: bytes) -> None:
        if command == Command.ACTIVE_TEST:
            self.send(HEADER.pack(HEADER_SIZE + 1, Command.ACTIVE_TEST_RESP, seq) + b"\x00")
        elif command in _CONTROL_RESPONSES:
            entry = self.inflight.pop(seq, None)
            if entry is None or type(entry) is not _Control:
                self.session.stats.stray_responses += 1
                return
            if entry.command == Command.ACTIVE_TEST:
                self.heartbeat_pending = False
                self.session.stats.heartbeats_answered += 1
            if entry.future is not None and not entry.future.done():
                entry.future.set_result(decode_body(command, body, self.version))
        elif command == Command.TERMINATE:
            self.send(HEADER.pack(HEADER_SIZE, Command.TERMINATE_RESP, seq))
            self.flush()
            self.session._drop_link(self, ConnectionLost("the ISMG sent TERMINATE"), graceful=True)
        elif command == Command.CONNECT_RESP:
            if self.login_future is not None and not self.login_future.done():
                resp = decode_body(command, body, self.version)
                self.login_future.set_result(resp)  # type: ignore[arg-type]
        else:
            log.info("ignoring CMPP command 0x%08x seq %d from the ISMG", command, seq)


def _strip_86(number: str) -> str:
    for prefix in ("+86", "86"):
        if number.startswith(prefix) and len(number) - len(prefix) == 11:
            return number[len(prefix) :]
    return number


# ============================================================================================ Session
class Session:
    """An SP's CMPP session with one ISMG. See docs/cmpp.md for the contract.

    ``on_deliver`` (sync or async) or ``deliver_queue`` receives every :class:`DeliverReport` and
    :class:`DeliverMO`; the DELIVER is acknowledged only after the callback returned without raising (or the
    event went into the queue), so the ISMG redelivers what was not processed. ``on_state`` is told of
    every state change with the error that caused it, if any.
    """

    def __init__(
        self,
        config: SessionConfig,
        on_deliver: DeliverCallback | None = None,
        *,
        deliver_queue: asyncio.Queue[DeliverEvent] | None = None,
        on_state: Callable[[SessionState, BaseException | None], None] | None = None,
    ) -> None:
        if on_deliver is not None and deliver_queue is not None:
            raise ValueError("give on_deliver or deliver_queue, not both")
        self.config = config
        self.stats = SessionStats()
        self.last_error: BaseException | None = None
        self._on_deliver_cb = on_deliver
        self._deliver_queue = deliver_queue
        self._on_state = on_state
        self._state = SessionState.NEW
        self._loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]  # set on connect
        self._link: _Link | None = None
        self._queue: deque[_Seg] = deque()
        self._bucket: TokenBucket | None = None
        self._paused_until = 0.0
        self._fc_streak = 0
        self._pump_scheduled = False
        self._wake: asyncio.TimerHandle | None = None
        self._tick: asyncio.TimerHandle | None = None
        self._tick_interval = max(
            0.005,
            min(
                1.0,
                min(
                    config.response_timeout,
                    config.heartbeat_interval,
                    config.reassembly_timeout,
                    config.queue_timeout or config.response_timeout,
                )
                / 4,
            ),
        )
        self._queue_timeout = config.queue_timeout if config.queue_timeout is not None else config.response_timeout
        self._reassembler: Reassembler[tuple[_Link, int, int]] = Reassembler(config.reassembly_timeout)
        self._reconnect_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._alive: asyncio.Event | None = None
        self._drained: asyncio.Future[None] | None = None

    # ---------------------------------------------------------------- state
    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def is_alive(self) -> bool:
        return self._state is SessionState.CONNECTED and self._link is not None and not self._link.closed

    @property
    def version(self) -> int | None:
        """The negotiated version while connected."""
        return self._link.version if self._link is not None else None

    @property
    def pending(self) -> int:
        """Segments waiting for a window slot plus segments sent and not yet answered."""
        return len(self._queue) + (self._link.submits_inflight if self._link is not None else 0)

    def _set_state(self, state: SessionState, error: BaseException | None = None) -> None:
        if state is self._state:
            return
        self._state = state
        if error is not None:
            self.last_error = error
        if self._alive is not None:
            if state is SessionState.CONNECTED:
                self._alive.set()
            else:
                self._alive.clear()
        if self._on_state is not None:
            try:
                self._on_state(state, error)
            except Exception:
                log.exception("on_state callback failed")

    async def wait_alive(self, timeout: float | None = None) -> None:
        """Wait until the session is connected (e.g. after a reconnect); TimeoutError after ``timeout``."""
        if self._alive is None:
            raise NotConnected("connect() was never called")
        async with asyncio.timeout(timeout):
            await self._alive.wait()

    # ---------------------------------------------------------------- connect / close
    async def connect(self) -> None:
        """Open the connection and log in. Raises ConnectRefused (with the Status), ConnectTimeout or
        CmppConnectionError; SessionClosed after close()."""
        if self._state in (SessionState.CLOSING, SessionState.CLOSED):
            raise SessionClosed("the session is closed")
        if self.is_alive:
            return
        if self._reconnect_task is not None and not self._reconnect_task.done():
            self._reconnect_task.cancel()  # an explicit connect() replaces the background attempts
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect_task
        self._loop = asyncio.get_running_loop()
        if self._alive is None:
            self._alive = asyncio.Event()
        self._set_state(SessionState.CONNECTING)
        try:
            await self._open()
        except BaseException as exc:
            self._set_state(SessionState.DISCONNECTED, exc)
            raise

    async def _open(self) -> None:
        version = self.config.version
        try:
            link = await self._login(version)
        except ConnectRefused as exc:
            if not (exc.status == 4 and is_v3(version) and self.config.version_fallback):
                raise
            log.info("ISMG refused CMPP 3.0 (status 4), retrying with 2.0")
            link = await self._login(V20)
        self._attach(link)

    async def _login(self, version: int) -> _Link:
        cfg = self.config
        loop = self._loop
        link: _Link | None = None
        try:
            async with asyncio.timeout(cfg.connect_timeout):
                _, link = await loop.create_connection(lambda: _Link(self, version), cfg.host, cfg.port)
                ts = timestamp_from_struct(time.localtime())
                auth = authenticator_source(cfg.sp_id, cfg.secret, ts)
                link.login_future = loop.create_future()
                link.send(encode_frame(Connect(cfg.sp_id, auth, version, ts), link.next_seq(), version))
                resp = await link.login_future
                # A refusal is commonly followed at once by TERMINATE (often in the same read): the Status
                # decides, not the closed connection, so a wrong password is not taken for an outage.
                if resp.status == 0 and link.closed:
                    raise ConnectionLost("the connection closed right after the login answer")
        except TimeoutError as exc:
            if link is not None:
                link.abort()
            raise ConnectTimeout(f"no login to {cfg.host}:{cfg.port} within {cfg.connect_timeout} s") from exc
        except CmppError:
            if link is not None:
                link.abort()
            raise
        except OSError as exc:
            raise CmppConnectionError(f"cannot connect to {cfg.host}:{cfg.port}: {exc}") from exc
        if resp.status != 0:
            link.abort()
            raise ConnectRefused(resp.status)
        if not verify_authenticator_ismg(resp.authenticator_ismg, resp.status, auth, cfg.secret):
            if cfg.verify_ismg:
                link.abort()
                raise CmppConnectionError("AuthenticatorISMG does not match: not the expected gateway")
            log.debug("AuthenticatorISMG from %s:%s does not match (ignored)", cfg.host, cfg.port)
        if is_v3(version) and not is_v3(resp.version):
            link.set_version(V20)  # the gateway's highest version is 2.x
        return link

    def _attach(self, link: _Link) -> None:
        self._link = link
        self.stats.connects += 1
        self._paused_until = 0.0
        self._fc_streak = 0
        if self.config.rate_limit is not None and self._bucket is None:
            self._bucket = TokenBucket(self.config.rate_limit, self.config.rate_burst, self._loop.time())
        if self._tick is None:
            self._tick = self._loop.call_later(self._tick_interval, self._on_tick)
        self._set_state(SessionState.CONNECTED)
        self._schedule_pump()

    async def close(self) -> None:
        """Stop sending: queued segments fail with SessionClosed, in-flight ones get up to ``close_timeout``
        to be answered, then TERMINATE is exchanged and the connection closed."""
        if self._state in (SessionState.CLOSED, SessionState.CLOSING):
            return
        self._set_state(SessionState.CLOSING)
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect_task
        closed = SessionClosed("the session was closed")
        self._fail_queue(closed)
        link = self._link
        if link is not None and not link.closed:
            with contextlib.suppress(CmppError, TimeoutError):
                async with asyncio.timeout(self.config.close_timeout):
                    if link.submits_inflight:
                        self._drained = self._loop.create_future()
                        await self._drained
                    await self._request(Terminate(), link)
            self._drop_link(link, closed, graceful=True)
        for timer in (self._tick, self._wake):
            if timer is not None:
                timer.cancel()
        self._tick = self._wake = None
        for task in list(self._tasks):
            task.cancel()
        self._set_state(SessionState.CLOSED)

    async def __aenter__(self) -> Session:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---------------------------------------------------------------- losing the link
    def _drop_link(self, link: _Link, error: BaseException, graceful: bool = False) -> None:
        """Close ``link`` on purpose (dead peer, protocol error, TERMINATE, close)."""
        if link.transport is not None:
            if graceful:
                link.flush()
                link.transport.close()
            else:
                link.transport.abort()
        self._link_lost(link, error)

    def _link_lost(self, link: _Link, error: BaseException) -> None:
        if link.closed:
            return
        link.closed = True
        if link.login_future is not None and not link.login_future.done():
            link.login_future.set_exception(error)
        if link is not self._link:
            return
        self._link = None
        self.stats.disconnects += 1
        for entry in link.inflight.values():
            if type(entry) is _Seg:
                self._seg_done(
                    entry, _AMBIGUOUS, f"sent, but the connection was lost before the answer ({error})", cause=error
                )
            elif entry.future is not None and not entry.future.done():  # type: ignore[union-attr]
                entry.future.set_exception(error)  # type: ignore[union-attr]
        link.inflight.clear()
        link.submits_inflight = 0
        self._fail_queue(error)
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        if self._state is SessionState.CONNECTED:
            log.warning("CMPP session to %s:%s lost: %s", self.config.host, self.config.port, error)
            if self.config.reconnect:
                self._set_state(SessionState.RECONNECTING, error)
                self._reconnect_task = self._loop.create_task(self._reconnect_loop())
            else:
                self._set_state(SessionState.DISCONNECTED, error)

    def withdraw_queued(self, reason: str = "withdrawn: the node was taken out of service") -> int:
        """Fail every segment still waiting for a window slot (never sent) with SubmitNotSent at once, so the
        caller can send them through another node; in-flight segments are left to their answers. Returns how
        many were withdrawn."""
        queue = self._queue
        count = len(queue)
        while queue:
            self._seg_done(queue.popleft(), _NOT_SENT, reason)
        return count

    def drop(self, error: BaseException) -> None:
        """Drop the connection now (e.g. the caller decided the peer stalled): in-flight segments fail as
        SubmitAmbiguous, queued ones as SubmitNotSent, and the session reconnects as after any loss."""
        link = self._link
        if link is not None and not link.closed:
            self._drop_link(link, error)

    def _fail_queue(self, error: BaseException) -> None:
        queue = self._queue
        reason = f"not sent: {error}"
        while queue:
            self._seg_done(queue.popleft(), _NOT_SENT, reason, cause=error)

    async def _reconnect_loop(self) -> None:
        cfg = self.config
        attempt = 0
        while self._state is SessionState.RECONNECTING:
            await asyncio.sleep(cfg.reconnect_backoff.delay(attempt, random.random()))
            if self._state is not SessionState.RECONNECTING:
                return
            try:
                await self._open()
                log.info("CMPP session to %s:%s re-established", cfg.host, cfg.port)
                return
            except (CmppConnectionError, CmppTimeout) as exc:
                self.last_error = exc
                attempt += 1
                log.info("CMPP reconnect %d to %s:%s failed: %s", attempt, cfg.host, cfg.port, exc)
            if cfg.max_reconnect_attempts is not None and attempt >= cfg.max_reconnect_attempts:
                self._set_state(SessionState.DISCONNECTED, self.last_error)

    # ---------------------------------------------------------------- submit
    async def submit(self, request: SubmitRequest) -> SubmitResult:
        """Send every segment of ``request`` and return their answers.

        Raises SubmitNotSent (surely not accepted: not connected, no window slot in time, flow control
        retries used up, session closed) or SubmitAmbiguous (may have been accepted: sent without answer, or
        only part accepted). A rejection (result other than 0 and 8) is returned, not raised. Text that cannot
        be encoded raises TextEncodeError, bad field values PduEncodeError (both ValueError).
        """
        link = self._link
        if link is None or link.closed or self._state is not SessionState.CONNECTED:
            if self._state in (SessionState.CLOSING, SessionState.CLOSED):
                raise SessionClosed("the session is closed")
            raise SubmitNotSent(f"not connected (session {self._state.value})")
        msg_fmt = request.msg_fmt
        ucs2 = b""
        if msg_fmt == FMT_UCS2:
            try:
                ucs2 = request.text.encode("utf-16-be")
            except UnicodeEncodeError:
                ucs2 = b""  # split_text below raises the typed error
        if 0 < len(ucs2) <= MAX_CONTENT:  # one UCS2 segment: the common case, without the general splitter
            contents = [ucs2]
        else:
            msg_fmt, contents = split_text(request.text, msg_fmt, reference=request.reference)
        bodies = self._pack(request, link.v3, msg_fmt, contents)
        loop = self._loop
        future: asyncio.Future[SubmitResult] = loop.create_future()
        msg = _Msg(future, len(bodies))
        now = loop.time()
        cost = len(request.dest)
        queue = self._queue
        for number, body in enumerate(bodies, 1):
            queue.append(_Seg(msg, number, body, cost, now))
        self.stats.submitted_segments += len(bodies)
        if not self._pump_scheduled:
            self._pump_scheduled = True
            loop.call_soon(self._pump)
        return await future

    def _pack(self, req: SubmitRequest, v3: bool, msg_fmt: int, contents: list[bytes]) -> list[bytes]:
        valid = smpp_time(req.valid_until) if req.valid_until is not None else ""
        at = smpp_time(req.at_time) if req.at_time is not None else ""
        service_id, fee_terminal, msg_src, fee_type, fee_code, valid_b, at_b, src_id, link_id = submit_text_fields(
            v3,
            req.service_id,
            req.fee_terminal_id,
            req.msg_src or self.config.sp_id,
            req.fee_type,
            req.fee_code,
            valid,
            at,
            req.src_id,
            req.link_id,
        )
        term = TERMINAL_ID_SIZE_V3 if v3 else TERMINAL_ID_SIZE_V2
        if isinstance(req.dest, str):
            raise PduEncodeError("SubmitRequest.dest is a list of numbers, not one string")
        dests = [octet(d, term, "Dest_terminal_Id") for d in req.dest]
        total = len(contents)
        udhi = 1 if total > 1 else 0
        try:
            return [
                pack_submit_body(
                    v3,
                    0,
                    total,
                    number,
                    req.registered_delivery,
                    req.msg_level,
                    service_id,
                    req.fee_user_type,
                    fee_terminal,
                    0,
                    req.tp_pid,
                    udhi,
                    msg_fmt,
                    msg_src,
                    fee_type,
                    fee_code,
                    valid_b,
                    at_b,
                    src_id,
                    dests,
                    0,
                    content,
                    link_id,
                )
                for number, content in enumerate(contents, 1)
            ]
        except struct.error as exc:
            raise PduEncodeError(f"invalid SUBMIT field value: {exc}") from exc

    def _schedule_pump(self) -> None:
        if not self._pump_scheduled and self._loop is not None:
            self._pump_scheduled = True
            self._loop.call_soon(self._pump)

    def _pump(self) -> None:
        """Move queued segments into the window (as far as window, rate limit and flow control allow)."""
        self._pump_scheduled = False
        link = self._link
        queue = self._queue
        if link is None or link.paused or link.closed or not queue:
            return
        now = self._loop.time()
        if now < self._paused_until:
            self._wake_at(self._paused_until)
            return
        window = self.config.window
        inflight = link.inflight
        bucket = self._bucket
        pack = HEADER.pack
        frames = []
        while queue and link.submits_inflight < window:
            seg = queue[0]
            if seg.msg.future.done():  # the caller gave up (cancelled): do not send the rest
                queue.popleft()
                continue
            if bucket is not None:
                wait = bucket.take(now, seg.cost)
                if wait:
                    self._wake_at(now + wait)
                    break
            queue.popleft()
            seq = link.next_seq()
            frame = pack(HEADER_SIZE + len(seg.body), Command.SUBMIT, seq) + seg.body
            seg.seq = seq
            seg.frame = frame
            seg.sends = 1
            seg.sent_at = now
            inflight[seq] = seg
            link.submits_inflight += 1
            frames.append(frame)
        if frames:
            link.send(b"".join(frames))
            link.flush()

    def _wake_at(self, when: float) -> None:
        wake = self._wake
        if wake is not None:
            if wake.when() <= when:
                return
            wake.cancel()
        self._wake = self._loop.call_at(when, self._on_wake)

    def _on_wake(self) -> None:
        self._wake = None
        self._pump()

    def _on_submit_resp(self, seg: _Seg, msg_id: int, result: int) -> None:
        msg = seg.msg
        if result == _FLOW_CONTROL:
            self._flow_controlled(seg)
        else:
            self._fc_streak = 0
            self.stats.acknowledged_segments += 1
            if msg.remaining == 1 and len(msg.results) == 1:  # the common single-segment case
                msg.remaining = 0
                if not msg.future.done():
                    msg.future.set_result(SubmitResult([SegmentResult(seg.number, msg_id, result)]))
            else:
                msg.results[seg.number - 1] = SegmentResult(seg.number, msg_id, result)
                self._seg_done(seg, _ANSWERED, "")
        drained = self._drained
        if drained is not None and not drained.done() and self._link is not None and not self._link.submits_inflight:
            drained.set_result(None)

    def _flow_controlled(self, seg: _Seg) -> None:
        cfg = self.config
        self.stats.flow_controlled += 1
        now = self._loop.time()
        delay = cfg.flow_control_backoff.delay(min(self._fc_streak, _FLOW_CONTROL_STREAK_CAP), random.random())
        self._fc_streak += 1
        self._paused_until = max(self._paused_until, now + delay)
        seg.fc_count += 1
        if self._state is not SessionState.CONNECTED:
            seg.msg.last_result = Result.FLOW_CONTROL
            self._seg_done(
                seg, _NOT_SENT, "flow control (result 8) while closing", cause=SessionClosed("the session was closed")
            )
            return
        if seg.fc_count > cfg.flow_control_retries or seg.msg.future.done():
            seg.msg.last_result = Result.FLOW_CONTROL
            self._seg_done(seg, _NOT_SENT, f"flow control (result 8) after {seg.fc_count} sends")
            return
        seg.queued_at = now
        self._queue.appendleft(seg)
        self._wake_at(self._paused_until)

    def _seg_done(self, seg: _Seg, outcome: _SegOutcome, reason: str, cause: BaseException | None = None) -> None:
        msg = seg.msg
        msg.remaining -= 1
        if outcome is _NOT_SENT:
            msg.not_sent += 1
        elif outcome is _AMBIGUOUS:
            msg.ambiguous += 1
        if outcome is not _ANSWERED:
            msg.reason = reason
            msg.cause = cause or msg.cause
        if msg.remaining > 0 or msg.future.done():
            return
        answered = [r for r in msg.results if r is not None]
        if not msg.not_sent and not msg.ambiguous:
            msg.future.set_result(SubmitResult(answered))
            return
        error: SubmitNotSent | SubmitAmbiguous
        if msg.ambiguous or any(r.result == 0 for r in answered):
            error = SubmitAmbiguous(msg.reason, answered, msg.last_result)
        elif isinstance(msg.cause, SessionClosed):
            error = SessionClosed(msg.reason, answered, msg.last_result)
        else:
            error = SubmitNotSent(msg.reason, answered, msg.last_result)
        error.__cause__ = msg.cause
        msg.future.set_exception(error)

    # ---------------------------------------------------------------- other requests
    async def _request(self, pdu: Pdu, link: _Link | None = None) -> Pdu:
        link = link or self._link
        if link is None or link.closed:
            raise NotConnected(f"not connected (session {self._state.value})")
        future: asyncio.Future[Pdu] = self._loop.create_future()
        seq = link.next_seq()
        frame = encode_frame(pdu, seq, link.version)
        link.inflight[seq] = _Control(future, frame, self._loop.time(), pdu.COMMAND_ID)
        link.send(frame)
        return await future

    async def active_test(self) -> None:
        """Send ACTIVE_TEST now and wait for the answer (retransmitted per T/N like any request)."""
        await self._request(ActiveTest())

    async def query(self, date: str, query_type: int = 0, query_code: str = "") -> QueryResp:
        """QUERY the ISMG's counters for ``date`` (YYYYMMDD), in total or for one Service_Id."""
        return await self._request(Query(date, query_type, query_code))  # type: ignore[return-value]

    async def cancel(self, msg_id: int) -> bool:
        """CANCEL a not yet delivered message; True when the ISMG reports success."""
        resp = await self._request(Cancel(msg_id))
        return isinstance(resp, CancelResp) and resp.success_id == 0

    # ---------------------------------------------------------------- the periodic tick
    def _on_tick(self) -> None:
        now = self._loop.time()
        self._tick = self._loop.call_at(now + self._tick_interval, self._on_tick)
        link = self._link
        if link is not None and not link.closed:
            self._check_timeouts(link, now)
        queue = self._queue
        limit = self._queue_timeout
        if queue and now - min(seg.queued_at for seg in queue) >= limit:
            # Every waiting segment is checked, not only the head: a segment put back at the head after
            # result 8 has a fresh timestamp and must not shield the older ones behind it.
            keep: deque[_Seg] = deque()
            while queue:
                seg = queue.popleft()
                if now - seg.queued_at >= limit:
                    self._seg_done(seg, _NOT_SENT, f"no window slot within {limit} s")
                else:
                    keep.append(seg)
            queue.extend(keep)
        if len(self._reassembler):
            for assembled in self._reassembler.expire(now):
                self._deliver_assembled(assembled)

    def _check_timeouts(self, link: _Link, now: float) -> None:
        cfg = self.config
        deadline = now - cfg.response_timeout
        expired = [entry for entry in link.inflight.values() if entry.sent_at <= deadline]
        for entry in expired:
            if entry.sends >= cfg.max_sends:
                error = PeerDead(f"no answer after {entry.sends} sends of a request ({cfg.response_timeout} s each)")
                self._drop_link(link, error)
                return
            entry.sends += 1
            entry.sent_at = now
            self.stats.retransmits += 1
            link.send(entry.frame)
        if not link.heartbeat_pending and now - link.last_rx >= cfg.heartbeat_interval:
            link.heartbeat_pending = True
            self.stats.heartbeats_sent += 1
            seq = link.next_seq()
            frame = HEADER.pack(HEADER_SIZE, Command.ACTIVE_TEST, seq)
            link.inflight[seq] = _Control(None, frame, now, Command.ACTIVE_TEST)
            link.send(frame)

    # ---------------------------------------------------------------- DELIVER
    def _ack(self, link: _Link, seq: int, msg_id: int, result: int = 0) -> None:
        if not link.closed:
            layout = _DELIVER_RESP3 if link.v3 else _DELIVER_RESP2
            link.send(layout.pack(layout.size, Command.DELIVER_RESP, seq, msg_id, result))

    def _on_deliver(self, link: _Link, seq: int, body: bytes) -> None:
        try:
            deliver = Deliver.decode_body(body, link.version)
            report = StatusReport.decode(deliver.msg_content) if deliver.is_report else None
        except PduDecodeError as exc:
            # It will never parse: answer with result 1 so the ISMG does not redeliver it forever.
            log.warning("undecodable DELIVER seq %d: %s", seq, exc)
            msg_id = int.from_bytes(body[:8], "big") if len(body) >= 8 else 0
            self._ack(link, seq, msg_id, Result.BAD_STRUCTURE)
            return
        if report is not None:
            self.stats.reports += 1
            event: DeliverEvent = _new_report(
                report.msg_id,
                report.stat,
                report.submit_time,
                report.done_time,
                report.dest_terminal_id,
                report.smsc_sequence,
                deliver.dest_id,
                deliver.service_id,
                deliver.msg_id,
            )
            self._dispatch(event, ((link, seq, deliver.msg_id),))
            return
        content = deliver.msg_content
        src = _strip_86(deliver.src_terminal_id)
        if deliver.tp_udhi & UDHI_MASK:
            concat, content = parse_udh(content)
            if concat is not None and concat.total > 1:
                key = (
                    src,
                    deliver.dest_id,
                    concat.reference,
                    concat.total,
                    deliver.msg_fmt,
                    deliver.service_id,
                    deliver.link_id,
                )
                assembled = self._reassembler.add(
                    key, concat.total, concat.number, content, self._loop.time(), (link, seq, deliver.msg_id)
                )
                if assembled is not None:
                    self._deliver_assembled(assembled)
                return
        self.stats.mos += 1
        event = DeliverMO(
            src,
            deliver.dest_id,
            decode_text(content, deliver.msg_fmt, "replace"),
            deliver.msg_fmt,
            deliver.service_id,
            deliver.link_id,
            deliver.msg_id,
            content,
        )
        self._dispatch(event, ((link, seq, deliver.msg_id),))

    def _deliver_assembled(self, assembled: Any) -> None:
        src, dest_id, _, total, msg_fmt, service_id, link_id = assembled.key
        self.stats.mos += 1
        tokens = assembled.tokens
        event = DeliverMO(
            src,
            dest_id,
            decode_text(assembled.payload, msg_fmt, "replace"),
            msg_fmt,
            service_id,
            link_id,
            tokens[0][2],
            assembled.payload,
            total,
            assembled.missing,
        )
        self._dispatch(event, tokens)

    def _dispatch(self, event: DeliverEvent, acks: Sequence[tuple[_Link, int, int]]) -> None:
        queue = self._deliver_queue
        if queue is not None:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self.stats.delivers_unacked += 1
                log.warning("deliver queue full: leaving DELIVER unacknowledged for redelivery")
                return
        elif self._on_deliver_cb is not None:
            try:
                outcome = self._on_deliver_cb(event)
            except Exception:
                self.stats.delivers_unacked += 1
                log.exception("on_deliver failed: DELIVER left unacknowledged for redelivery")
                return
            if inspect.isawaitable(outcome):
                task = self._loop.create_task(self._ack_after(outcome, acks))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return
        for link, seq, msg_id in acks:
            self._ack(link, seq, msg_id)

    async def _ack_after(self, awaitable: Awaitable[None], acks: Sequence[tuple[_Link, int, int]]) -> None:
        try:
            await awaitable
        except Exception:
            self.stats.delivers_unacked += 1
            log.exception("on_deliver failed: DELIVER left unacknowledged for redelivery")
            return
        for link, seq, msg_id in acks:
            self._ack(link, seq, msg_id)
