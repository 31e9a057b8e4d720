"""A fake China Mobile ISMG (carrier gateway) for tests, the demo and benchmarks.

Run it on its own::

    python -m gateway.cmpp.simulator --host 127.0.0.1 --port 7890 --sp-id 901234 --secret s3cret \\
        --version 2.0 --log submits.jsonl

or embed it (``port=0`` picks a free port)::

    sim = Simulator(SimulatorConfig(port=0, sp_id="901234", secret="s3cret"))
    await sim.start(); ...; sim.port; sim.stats; await sim.inject_mo(src="13912345678", text="TD")
    await sim.stop()

It accepts CMPP 2.0 and 3.0 clients (the layout follows the CONNECT Version byte; ``version`` is the
highest it supports: a 3.0 client of a 2.0-only simulator is refused with status 4), authenticates logins,
answers every SUBMIT segment with a unique Msg_Id (``node_id`` in the gateway bits), and sends a status
report per segment and recipient after ``report_delay``. Reports and uplink messages that the client does
not acknowledge are sent again when the account logs in next time. The fault knobs of
:class:`SimulatorConfig` can be changed while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import struct
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from json.encoder import encode_basestring
from typing import IO, Any

from gateway.cmpp.auth import authenticator_ismg, authenticator_source
from gateway.cmpp.codec import FrameReader
from gateway.cmpp.errors import CmppProtocolError, PduDecodeError, PduLengthError
from gateway.cmpp.msgid import MsgIdGenerator
from gateway.cmpp.pdu import (
    HEADER,
    HEADER_SIZE,
    UDHI_MASK,
    V20,
    V30,
    CancelResp,
    Command,
    Connect,
    ConnectResp,
    Deliver,
    QueryResp,
    Result,
    StatusReport,
    Submit,
    decode_msg_id_result,
    encode_frame,
    frozen_builder,
    is_v3,
)
from gateway.cmpp.ratelimit import TokenBucket
from gateway.cmpp.segmentation import parse_udh, split_text
from gateway.cmpp.text import FMT_ASCII, FMT_UCS2, decode_text

__all__ = ["Simulator", "SimulatorConfig", "SimulatorStats", "main"]

log = logging.getLogger(__name__)

_SUBMIT_RESP2 = struct.Struct(">IIIQB")
_SUBMIT_RESP3 = struct.Struct(">IIIQI")
_new_status = frozen_builder(StatusReport)  # reports go out by the hundred thousand: skip the frozen __init__
_new_deliver = frozen_builder(Deliver)
_esc = encode_basestring  # a str as a JSON string literal (non-ASCII kept as is)


@dataclass
class SimulatorConfig:
    """Settings and fault knobs. Mutable: a running simulator reads the knobs on every packet."""

    host: str = "127.0.0.1"
    port: int = 7890
    sp_id: str = "901234"
    secret: str = "s3cret"  # noqa: S105 - the demo account of a fake gateway
    accounts: dict[str, str] = field(default_factory=dict)  # more SP_Id -> secret pairs
    version: int = V30  # the highest version served
    node_id: int = 1  # goes into the gateway bits of every Msg_Id
    report_delay: float = 0.5
    fail_rate: float = 0.0  # share of reports that are not DELIVRD
    fail_stats: tuple[str, ...] = ("UNDELIV", "EXPIRED")
    reject_prefixes: tuple[str, ...] = ()  # destinations starting so are rejected (result 13 / 9 in 2.0)
    refuse_logins: int | None = None  # refuse every CONNECT with this Status
    drop_after: int | None = None  # abort a connection when its SUBMIT number N+1 arrives (unanswered)
    hang_after: int | None = None  # after N SUBMITs on a connection answer nothing more, keep the socket
    throttle_rate: float | None = None  # SUBMIT segments/s over all connections; above it result 8
    answer_delay: float = 0.0  # seconds before any answer is written
    log_path: str | None = None  # one JSON line per accepted SUBMIT segment
    mo_file: str | None = None  # watched: each new line injects an uplink message
    mo_dest_id: str = "10690001"  # Dest_Id of injected uplink messages unless given
    keep_records: int = 10_000  # accepted segments kept in Simulator.records (most recent)
    seed: int | None = None

    def secret_for(self, sp_id: str) -> str | None:
        if sp_id == self.sp_id:
            return self.secret
        return self.accounts.get(sp_id)


@dataclass
class SimulatorStats:
    connections: int = 0
    logins_ok: int = 0
    logins_refused: int = 0
    submits: int = 0  # accepted SUBMIT segments (result 0)
    submit_resps: int = 0  # every SUBMIT_RESP written
    throttled: int = 0
    rejected: int = 0
    malformed: int = 0
    dropped: int = 0
    reports_sent: int = 0
    mos_sent: int = 0
    deliver_acks: int = 0
    active_tests: int = 0  # ACTIVE_TEST received
    active_test_resps: int = 0  # ACTIVE_TEST_RESP received
    terminates: int = 0
    max_outstanding: int = 0  # most SUBMITs received and not yet answered on one connection


class _Conn(asyncio.Protocol):
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.transport: asyncio.Transport | None = None
        self.reader = FrameReader()
        self.sp_id: str | None = None
        self.version = V20
        self.v3 = False
        self.submits_seen = 0
        self.outstanding = 0
        self.seq = 0
        self.unacked: dict[int, Deliver] = {}
        self.closed = False

    # ------------------------------------------------------------------ plumbing
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.sim._conns.add(self)
        self.sim.stats.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.sim._conns.discard(self)
        if self.unacked and self.sp_id is not None:
            # Like a real ISMG: DELIVERs the dead connection never answered go out again on another connection
            # of the same account at once, or on the account's next login when there is none.
            other = self.sim._any_conn(self.sp_id)
            if other is None:
                self.sim._pending_delivers.setdefault(self.sp_id, []).extend(self.unacked.values())
            else:
                for deliver in self.unacked.values():
                    other.send_deliver(deliver)
        self.unacked.clear()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def next_seq(self) -> int:
        self.seq = self.seq + 1 if self.seq < 0xFFFFFFFF else 1
        return self.seq

    def write(self, frames: list[bytes], answers: int = 0) -> None:
        delay = self.sim.config.answer_delay
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._write_now, frames, answers)
        else:
            self._write_now(frames, answers)

    def _write_now(self, frames: list[bytes], answers: int) -> None:
        self.outstanding -= answers
        if frames and not self.closed and self.transport is not None:
            self.transport.write(b"".join(frames))

    def send_deliver(self, deliver: Deliver) -> None:
        seq = self.next_seq()
        self.unacked[seq] = deliver
        self.write([encode_frame(deliver, seq, self.version)])

    # ------------------------------------------------------------------ input
    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        sim = self.sim
        frames = self.reader.feed(data)
        out: list[bytes] = []
        answers = 0
        try:
            for command, seq, body in frames:
                if self.closed:
                    return
                hang = sim.config.hang_after
                if hang is not None and self.submits_seen >= hang and self.sp_id is not None:
                    continue  # hung: read and ignore everything
                if command == Command.SUBMIT:
                    if self.sp_id is None:
                        raise CmppProtocolError("SUBMIT before CONNECT")
                    drop = sim.config.drop_after
                    if drop is not None and self.submits_seen >= drop:
                        sim.stats.dropped += 1
                        self.abort()
                        return
                    self.submits_seen += 1
                    self.outstanding += 1
                    answers += 1
                    out.append(sim._on_submit(self, seq, body))
                elif command == Command.DELIVER_RESP:
                    self._on_deliver_resp(seq, body)
                elif self.sp_id is None and command != Command.CONNECT:
                    raise CmppProtocolError(f"command 0x{command:08x} before CONNECT")
                else:
                    self._on_other(command, seq, body, out)
        except CmppProtocolError as exc:  # FrameError included: the stream is out of step
            sim.stats.malformed += 1
            log.info("simulator: protocol error, closing the connection: %s", exc)
            self.write(out, answers)
            self.abort()
            return
        except Exception:  # never let one client's bytes take the simulator down
            sim.stats.malformed += 1
            log.exception("simulator: unexpected error, closing the connection")
            self.abort()
            return
        if self.outstanding > sim.stats.max_outstanding:
            sim.stats.max_outstanding = self.outstanding
        if out or answers:
            self.write(out, answers)

    def _on_deliver_resp(self, seq: int, body: bytes) -> None:
        decode_msg_id_result(body)
        if self.unacked.pop(seq, None) is not None:
            self.sim.stats.deliver_acks += 1

    def _on_other(self, command: int, seq: int, body: bytes, out: list[bytes]) -> None:
        sim = self.sim
        if command == Command.CONNECT:
            self._on_connect(seq, Connect.decode_body(body, V20), out)
        elif command == Command.ACTIVE_TEST:
            sim.stats.active_tests += 1
            out.append(HEADER.pack(HEADER_SIZE + 1, Command.ACTIVE_TEST_RESP, seq) + b"\x00")
        elif command == Command.ACTIVE_TEST_RESP:
            sim.stats.active_test_resps += 1
        elif command == Command.TERMINATE:
            sim.stats.terminates += 1
            out.append(HEADER.pack(HEADER_SIZE, Command.TERMINATE_RESP, seq))
            self.write(out)
            out.clear()
            if self.transport is not None:
                self.transport.close()
            self.closed = True
        elif command == Command.QUERY:
            day = time.strftime("%Y%m%d")
            out.append(
                encode_frame(
                    QueryResp(day, 0, "", sim.stats.submits, sim.stats.submits, sim.stats.submits), seq, self.version
                )
            )
        elif command == Command.CANCEL:
            out.append(encode_frame(CancelResp(1), seq, self.version))  # nothing can be cancelled here
        elif command in (Command.TERMINATE_RESP, Command.CONNECT_RESP):
            pass
        else:
            sim.stats.malformed += 1
            log.info("simulator: ignoring command 0x%08x", command)

    def _on_connect(self, seq: int, connect: Connect, out: list[bytes]) -> None:
        sim = self.sim
        cfg = sim.config
        client_v3 = is_v3(connect.version)
        secret = cfg.secret_for(connect.source_addr)
        if cfg.refuse_logins is not None:
            status = cfg.refuse_logins
        elif secret is None:
            status = 2
        elif connect.authenticator_source != authenticator_source(connect.source_addr, secret, connect.timestamp):
            status = 3
        elif connect.version >> 4 > cfg.version >> 4 or connect.version >> 4 < 2:
            status = 4
        else:
            status = 0
        width = 4 if client_v3 else 1
        if status == 0:
            assert secret is not None
            auth = authenticator_ismg(0, connect.authenticator_source, secret, width)
        else:
            auth = bytes(16)
        resp = ConnectResp(status, auth, cfg.version)
        out.append(encode_frame(resp, seq, V30 if client_v3 else V20))
        if status != 0:
            sim.stats.logins_refused += 1
            self.write(out)
            out.clear()
            if self.transport is not None:
                self.transport.close()
            self.closed = True
            return
        sim.stats.logins_ok += 1
        self.sp_id = connect.source_addr
        self.version = connect.version
        self.v3 = client_v3
        for deliver in sim._pending_delivers.pop(self.sp_id, []):
            seq_out = self.next_seq()
            self.unacked[seq_out] = deliver
            out.append(encode_frame(deliver, seq_out, self.version))


@dataclass(slots=True)
class _Report:
    due: float
    conn: _Conn
    msg_id: int  # of the reported MT segment
    dest: str  # the MT's destination number
    submit: Submit


class Simulator:
    """See the module docstring."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.stats = SimulatorStats()
        self._records: deque[tuple[int, Submit]] = deque(maxlen=self.config.keep_records)
        self._conns: set[_Conn] = set()
        self._server: asyncio.Server | None = None
        self._msg_ids = MsgIdGenerator(self.config.node_id)
        self._rng = random.Random(self.config.seed)  # noqa: S311 - simulation, not security
        self._reports: deque[_Report] = deque()
        self._report_timer: asyncio.TimerHandle | None = None
        self._pending_delivers: dict[str, list[Deliver]] = {}
        self._bucket: TokenBucket | None = None
        self._log: IO[str] | None = None
        self._flush_timer: asyncio.TimerHandle | None = None
        self._mo_task: asyncio.Task[None] | None = None
        self._smsc_seq = 0
        self.port = self.config.port

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self.config
        if cfg.log_path:
            self._log = open(cfg.log_path, "a", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115
            self._flush_timer = loop.call_later(0.5, self._flush_log)
        self._server = await loop.create_server(lambda: _Conn(self), cfg.host, cfg.port)
        self.port = self._server.sockets[0].getsockname()[1]
        if cfg.mo_file:
            self._mo_task = loop.create_task(self._watch_mo_file(cfg.mo_file))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for conn in list(self._conns):
                conn.abort()
            await self._server.wait_closed()
            self._server = None
        for timer in (self._report_timer, self._flush_timer):
            if timer is not None:
                timer.cancel()
        if self._mo_task is not None:
            self._mo_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._mo_task
        if self._log is not None:
            self._log.close()
            self._log = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def drop_connections(self) -> int:
        """Abort every client connection (a node failure as the client sees it); returns how many."""
        conns = list(self._conns)
        for conn in conns:
            conn.abort()
        return len(conns)

    @property
    def connection_count(self) -> int:
        return sum(1 for c in self._conns if c.sp_id is not None and not c.closed)

    @property
    def records(self) -> list[dict[str, Any]]:
        """The most recent accepted segments (``keep_records`` of them), as the log writes them."""
        node = self.config.node_id
        return [
            {
                "msg_id": msg_id,
                "dest": list(submit.dest_terminal_ids),
                "src_id": submit.src_id,
                "service_id": submit.service_id,
                "pk_total": submit.pk_total,
                "pk_number": submit.pk_number,
                "text": _segment_text(submit),
                "msg_fmt": submit.msg_fmt,
                "registered_delivery": submit.registered_delivery,
                "node": node,
            }
            for msg_id, submit in self._records
        ]

    def _flush_log(self) -> None:
        if self._log is not None:
            self._log.flush()
            self._flush_timer = asyncio.get_running_loop().call_later(0.5, self._flush_log)

    # ------------------------------------------------------------------ SUBMIT
    def _result_for(self, submit: Submit, v3: bool) -> int:
        cfg = self.config
        rate = cfg.throttle_rate
        if rate is not None:
            now = time.monotonic()
            if self._bucket is None or self._bucket.rate != rate:
                self._bucket = TokenBucket(rate, None, now)
            if self._bucket.take(now, len(submit.dest_terminal_ids)):
                self.stats.throttled += 1
                return Result.FLOW_CONTROL
        if cfg.reject_prefixes and any(d.startswith(cfg.reject_prefixes) for d in submit.dest_terminal_ids):
            self.stats.rejected += 1
            return Result.BAD_DEST_V3 if v3 else Result.OTHER_V2
        return Result.OK

    def _on_submit(self, conn: _Conn, seq: int, body: bytes) -> bytes:
        layout = _SUBMIT_RESP3 if conn.v3 else _SUBMIT_RESP2
        self.stats.submit_resps += 1
        try:
            submit = Submit.decode_body(body, conn.version)
        except PduDecodeError as exc:
            self.stats.malformed += 1
            log.info("simulator: bad SUBMIT: %s", exc)
            bad = Result.BAD_LENGTH if isinstance(exc, PduLengthError) else Result.BAD_STRUCTURE
            return layout.pack(layout.size, Command.SUBMIT_RESP, seq, 0, bad)
        cfg = self.config
        if cfg.throttle_rate is not None or cfg.reject_prefixes:
            result = self._result_for(submit, conn.v3)
            if result:
                return layout.pack(layout.size, Command.SUBMIT_RESP, seq, 0, result)
        dests = submit.dest_terminal_ids
        msg_id = self._msg_ids.reserve(len(dests))
        self.stats.submits += 1
        self._record(msg_id, submit)
        if submit.registered_delivery:
            self._schedule_reports(conn, msg_id, submit)
        return layout.pack(layout.size, Command.SUBMIT_RESP, seq, msg_id, 0)

    def _record(self, msg_id: int, submit: Submit) -> None:
        self._records.append((msg_id, submit))
        if self._log is not None:
            # Formatted by hand (strings escaped by json's C helper): about 4x faster than json.dumps of a dict.
            self._log.write(
                f'{{"msg_id":{msg_id},"dest":[{",".join(map(_esc, submit.dest_terminal_ids))}],'
                f'"src_id":{_esc(submit.src_id)},"service_id":{_esc(submit.service_id)},'
                f'"pk_total":{submit.pk_total},"pk_number":{submit.pk_number},"text":{_esc(_segment_text(submit))},'
                f'"msg_fmt":{submit.msg_fmt},"registered_delivery":{submit.registered_delivery},'
                f'"node":{self.config.node_id},"at":{time.time():.4f}}}\n'
            )

    def _schedule_reports(self, conn: _Conn, msg_id: int, submit: Submit) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.config.report_delay
        for offset, dest in enumerate(submit.dest_terminal_ids):
            self._reports.append(_Report(due, conn, msg_id + offset, dest, submit))
        if self._report_timer is None:
            self._report_timer = loop.call_at(due, self._send_reports)

    def _send_reports(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        reports = self._reports
        cfg = self.config
        stamp = time.strftime("%y%m%d%H%M")
        batches: dict[_Conn, list[bytes]] = {}
        while reports and reports[0].due <= now:
            item = reports.popleft()
            stat = "DELIVRD"
            if cfg.fail_rate and self._rng.random() < cfg.fail_rate:
                stat = self._rng.choice(cfg.fail_stats)
            self._smsc_seq = (self._smsc_seq + 1) & 0xFFFFFFFF
            report = _new_status(item.msg_id, stat, stamp, stamp, item.dest, self._smsc_seq)
            conn = item.conn if not item.conn.closed else self._any_conn(item.conn.sp_id)
            deliver = _new_deliver(
                self._msg_ids(),
                item.submit.src_id,
                item.submit.service_id,
                0,
                0,
                0,
                item.dest,
                0,
                1,
                report.encode(conn.version if conn else V20),
                "",
            )
            self.stats.reports_sent += 1
            if conn is None:
                self._pending_delivers.setdefault(item.conn.sp_id or "", []).append(deliver)
                continue
            seq = conn.next_seq()
            conn.unacked[seq] = deliver
            batches.setdefault(conn, []).append(encode_frame(deliver, seq, conn.version))
        for conn, frames in batches.items():
            conn.write(frames)
        self._report_timer = loop.call_at(reports[0].due, self._send_reports) if reports else None

    def _any_conn(self, sp_id: str | None) -> _Conn | None:
        for conn in self._conns:
            if conn.sp_id == sp_id and not conn.closed:
                return conn
        return None

    # ------------------------------------------------------------------ uplink
    async def inject_mo(
        self,
        src: str,
        text: str,
        dest_id: str | None = None,
        *,
        msg_fmt: int | None = None,
        order: Sequence[int] | None = None,
        drop_parts: Sequence[int] = (),
        sp_id: str | None = None,
        link_id: str = "",
        service_id: str = "",
        udhi: int = 1,
        udh16: bool = False,
    ) -> int:
        """Send an uplink message from user ``src`` (e.g. "TD"), split into parts when long.

        ``order`` lists part numbers in the order to send them (default 1..n); ``drop_parts`` are never sent.
        ``udhi`` is the TP_udhi value of long parts (0x40 imitates gateways that use the SMPP bit) and
        ``udh16`` sends the 16-bit-reference UDH. Returns the number of parts sent; with no client logged in
        they wait for the next login.
        """
        fmt = msg_fmt if msg_fmt is not None else (FMT_ASCII if text.isascii() else FMT_UCS2)
        fmt, parts = split_text(text, fmt)
        if udh16 and len(parts) > 1:  # 05 00 03 RR TT NN -> 06 08 04 00 RR TT NN
            parts = [bytes((6, 8, 4, 0)) + part[3:] for part in parts]
        numbers = list(order) if order is not None else list(range(1, len(parts) + 1))
        account = sp_id or self.config.sp_id
        conn = self._any_conn(account)
        sent = 0
        for number in numbers:
            if number in drop_parts:
                continue
            deliver = Deliver(
                self._msg_ids(),
                dest_id or self.config.mo_dest_id,
                service_id,
                0,
                udhi if len(parts) > 1 else 0,
                fmt,
                src,
                0,
                0,
                parts[number - 1],
                link_id,
            )
            self.stats.mos_sent += 1
            sent += 1
            if conn is None:
                self._pending_delivers.setdefault(account, []).append(deliver)
            else:
                conn.send_deliver(deliver)
        return sent

    async def send_active_test(self) -> int:
        """Send ACTIVE_TEST on every logged-in connection; answers are counted in stats.active_test_resps."""
        conns = [c for c in self._conns if c.sp_id is not None and not c.closed]
        for conn in conns:
            conn.write([HEADER.pack(HEADER_SIZE, Command.ACTIVE_TEST, conn.next_seq())])
        return len(conns)

    async def _watch_mo_file(self, path: str) -> None:
        """Tail ``path``: each new line is ``{"src": ..., "text": ..., "dest_id": ...}`` or ``SRC TEXT``."""
        position = os.path.getsize(path) if os.path.exists(path) else 0
        pending = ""
        while True:
            await asyncio.sleep(0.2)
            try:
                with open(path, encoding="utf-8") as handle:
                    handle.seek(position)
                    chunk = handle.read()
                    position = handle.tell()
            except OSError:
                continue
            pending += chunk
            *lines, pending = pending.split("\n")
            for line in filter(None, (x.strip() for x in lines)):
                try:
                    await self._inject_line(line)
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("simulator: bad --mo-file line %r: %s", line, exc)

    async def _inject_line(self, line: str) -> None:
        if line.startswith("{"):
            item = json.loads(line)
            await self.inject_mo(str(item["src"]), str(item["text"]), item.get("dest_id"))
        else:
            src, _, text = line.partition(" ")
            await self.inject_mo(src, text)


def _segment_text(submit: Submit) -> str:
    """The text of one SUBMIT segment, UDH removed; undecodable bytes become U+FFFD."""
    content = submit.msg_content
    if submit.tp_udhi & UDHI_MASK:
        content = parse_udh(content)[1]
    if submit.msg_fmt == FMT_UCS2:  # the usual case, without the general lookup
        return content.decode("utf-16-be", "replace")
    return decode_text(content, submit.msg_fmt, "replace")


# ====================================================================================== command line
def _parse_version(text: str) -> int:
    value = {"2": V20, "2.0": V20, "3": V30, "3.0": V30}.get(text)
    if value is None:
        value = int(text, 0)
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gateway.cmpp.simulator", description=__doc__.split("\n\n")[0])
    d = SimulatorConfig()
    p.add_argument("--host", default=d.host, help="address to bind (default loopback only)")
    p.add_argument("--port", type=int, default=d.port, help="0 picks a free port (printed on start)")
    p.add_argument("--sp-id", default=d.sp_id)
    p.add_argument("--secret", default=d.secret)
    p.add_argument("--account", action="append", default=[], metavar="SP_ID:SECRET", help="more accounts")
    p.add_argument("--version", type=_parse_version, default=d.version, help="highest version served: 2.0 or 3.0")
    p.add_argument("--node-id", type=int, default=d.node_id, help="gateway bits of the Msg_Ids")
    p.add_argument("--report-delay", type=float, default=d.report_delay, help="seconds before a status report")
    p.add_argument("--fail-rate", type=float, default=d.fail_rate, help="share of UNDELIV/EXPIRED reports")
    p.add_argument("--fail-stat", action="append", default=None, help="Stat values for failures (repeatable)")
    p.add_argument("--reject-prefix", action="append", default=[], help="reject destinations with this prefix")
    p.add_argument("--refuse-logins", type=int, default=None, metavar="STATUS", help="refuse every login")
    p.add_argument("--drop-after", type=int, default=None, metavar="N", help="drop a connection after N submits")
    p.add_argument("--hang-after", type=int, default=None, metavar="N", help="stop answering after N submits")
    p.add_argument("--throttle-rate", type=float, default=None, metavar="MSG_S", help="result 8 above this rate")
    p.add_argument("--answer-delay", type=float, default=d.answer_delay, help="seconds before every answer")
    p.add_argument("--log", dest="log_path", default=None, metavar="FILE", help="JSON line per accepted segment")
    p.add_argument("--mo-file", default=None, metavar="FILE", help="tail FILE: each new line injects an MO")
    p.add_argument("--mo-dest-id", default=d.mo_dest_id)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--quiet", action="store_true", help="log warnings only")
    return p


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    accounts = dict(item.split(":", 1) for item in args.account)
    return SimulatorConfig(
        host=args.host,
        port=args.port,
        sp_id=args.sp_id,
        secret=args.secret,
        accounts=accounts,
        version=args.version,
        node_id=args.node_id,
        report_delay=args.report_delay,
        fail_rate=args.fail_rate,
        fail_stats=tuple(args.fail_stat or SimulatorConfig.fail_stats),
        reject_prefixes=tuple(args.reject_prefix),
        refuse_logins=args.refuse_logins,
        drop_after=args.drop_after,
        hang_after=args.hang_after,
        throttle_rate=args.throttle_rate,
        answer_delay=args.answer_delay,
        log_path=args.log_path,
        mo_file=args.mo_file,
        mo_dest_id=args.mo_dest_id,
        seed=args.seed,
    )


async def serve(config: SimulatorConfig) -> SimulatorStats:
    """Run until SIGINT/SIGTERM; prints the listening address first and the counters (JSON) at the end."""
    sim = Simulator(config)
    await sim.start()
    version = "3.0" if is_v3(config.version) else "2.0"
    print(
        f"CMPP simulator listening on {config.host}:{sim.port} (up to CMPP {version}, node {config.node_id})",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sim.stop()
    print(json.dumps(asdict(sim.stats)), file=sys.stderr, flush=True)
    return sim.stats


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(serve(config_from_args(args)))


if __name__ == "__main__":
    main()
