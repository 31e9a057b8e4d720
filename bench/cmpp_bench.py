"""CMPP benchmark: codec, simulator and one Session against the simulator (separate processes).

    python bench/cmpp_bench.py                   # 200,000 messages, as written up in docs/benchmarks.md
    python bench/cmpp_bench.py --with-reports    # plus a run with a status report per message
    python bench/cmpp_bench.py --messages 20000  # a quick run

1. codec: encode + decode of a SUBMIT through the PDU dataclass API, best of 5 rounds.
2. reference: a raw client (precomputed frames) against an echo server that answers each frame without
   decoding it, window 16: the ceiling of this machine right now.
3. simulator alone: the raw client against the simulator process (log on), window 16 and a deep window.
4. session alone: one Session against the echo server: the client side by itself.
5. end to end: one Session (window 16) in this process, the simulator in another, ``--messages`` submits
   from ``--concurrency`` tasks; acknowledged submits per second, CPU per submit on both sides, and the RSS
   of both processes sampled along the way to show that memory stays flat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.cmpp import Session, SessionConfig, SubmitRequest  # noqa: E402
from gateway.cmpp.auth import authenticator_source  # noqa: E402
from gateway.cmpp.pdu import HEADER, V30, Command, Connect, Submit, decode_frame, encode_frame  # noqa: E402

SP_ID, SECRET = "901234", "s3cret"
TEXT = "【交管12123】您的机动车苏C12345于11月28日在某路段违法停车，请及时处理。"  # one segment


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def count_lines(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}"


# ------------------------------------------------------------------ 1. codec
def bench_codec(count: int, rounds: int = 5) -> float:
    """SUBMITs encoded + decoded per second: the best of ``rounds`` rounds (as timeit reports), because on a
    shared machine the slow rounds measure the neighbours, not the code."""
    pdu = Submit(
        registered_delivery=1,
        service_id="JTGL",
        msg_src=SP_ID,
        src_id="10690001123",
        dest_terminal_ids=("13912345678",),
        msg_content=TEXT.encode("utf-16-be"),
    )
    per_round = max(1, count // rounds)
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for seq in range(per_round):
            frame = encode_frame(pdu, seq, V30)
            decode_frame(frame, V30)
        best = max(best, per_round / (time.perf_counter() - started))
    return best


# ------------------------------------------------------------------ server processes
class EchoProtocol(asyncio.Protocol):
    """The reference: answer every frame with a SUBMIT_RESP-sized frame, no decoding at all."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data
        off, n, out = 0, len(buf), []
        while n - off >= 12:
            length, command, seq = HEADER.unpack_from(buf, off)
            if n - off < length:
                break
            if command == Command.CONNECT:  # a 3.0 CONNECT_RESP with Status 0, so a Session can log in
                out.append(struct.pack(">IIII16sB", 33, 0x80000001, seq, 0, bytes(16), 0x30))
            else:
                out.append(struct.pack(">IIIQI", 24, 0x80000004, seq, 1, 0))
            off += length
        self.buffer = buf[off:]
        self.transport.write(b"".join(out))


async def echo_server() -> None:
    server = await asyncio.get_running_loop().create_server(EchoProtocol, "127.0.0.1", 0)
    print(f"echo listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.sleep(3600)


class SimulatorProcess:
    def __init__(self, log_path: str, extra: list[str] | None = None, echo: bool = False) -> None:
        command = [
            sys.executable,
            "-m",
            "gateway.cmpp.simulator",
            "--port",
            "0",
            "--sp-id",
            SP_ID,
            "--secret",
            SECRET,
            "--log",
            log_path,
            "--quiet",
            *(extra or []),
        ]
        if echo:
            command = [sys.executable, __file__, "--echo-server"]
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.port = int(line.split("127.0.0.1:")[1].split()[0])

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        return err.strip().splitlines()[-1] if err.strip() else ""


# ------------------------------------------------------------------ 2. simulator alone
class RawClient(asyncio.Protocol):
    """Login, then keep ``window`` SUBMITs in flight with precomputed bodies; count the answers."""

    def __init__(self, total: int, window: int, done: asyncio.Future[float]) -> None:
        self.total, self.window, self.done = total, window, done
        self.body = Submit(
            registered_delivery=0,
            service_id="JTGL",
            msg_src=SP_ID,
            src_id="10690001123",
            dest_terminal_ids=("13912345678",),
            msg_content=TEXT.encode("utf-16-be"),
        ).encode_body(V30)
        self.sent = self.answered = 0
        self.buffer = b""
        self.logged_in = False
        self.started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        ts = 1128120000
        connect = Connect(SP_ID, authenticator_source(SP_ID, SECRET, ts), V30, ts)
        self.transport.write(encode_frame(connect, 0, V30))

    def send(self, count: int) -> None:
        count = min(count, self.total - self.sent)
        size = 12 + len(self.body)
        pack = HEADER.pack
        self.transport.write(b"".join(pack(size, Command.SUBMIT, self.sent + i + 1) + self.body for i in range(count)))
        self.sent += count

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data
        off, n, answers = 0, len(buf), 0
        while n - off >= 12:
            length = struct.unpack_from(">I", buf, off)[0]
            if n - off < length:
                break
            off += length
            answers += 1
        self.buffer = buf[off:]
        if not self.logged_in:
            self.logged_in = True
            answers -= 1
            self.started = time.perf_counter()
            self.send(self.window)
        self.answered += answers
        if self.answered >= self.total:
            self.done.set_result(self.total / (time.perf_counter() - self.started))
            self.transport.close()
        elif answers:
            self.send(answers)


async def bench_simulator(port: int, total: int, window: int) -> float:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    await loop.create_connection(lambda: RawClient(total, window, done), "127.0.0.1", port)
    return await done


# ------------------------------------------------------------------ 3. end to end
def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (from /proc)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class SessionRun:
    rate: float = 0.0
    samples: list[tuple[int, float, float]] = field(default_factory=list)
    delivered: int = 0
    client_cpu_us: float = 0.0  # per acknowledged submit
    server_cpu_us: float = 0.0


async def bench_session(
    port: int, total: int, window: int, concurrency: int, reports: bool, server_pid: int
) -> SessionRun:
    run = SessionRun()

    def on_deliver(event: object) -> None:
        run.delivered += 1

    session = Session(
        SessionConfig(port=port, sp_id=SP_ID, secret=SECRET, version=V30, window=window), on_deliver=on_deliver
    )
    await session.connect()
    request = SubmitRequest(
        dest=["13912345678"],
        text=TEXT,
        service_id="JTGL",
        src_id="10690001123",
        registered_delivery=1 if reports else 0,
    )
    checkpoints = {total // 4, total // 2, 3 * total // 4, total}
    acked = 0
    remaining = total

    async def worker() -> None:
        nonlocal acked, remaining
        while remaining > 0:
            remaining -= 1
            result = await session.submit(request)
            acked += len(result.segments)
            if acked in checkpoints:
                run.samples.append((acked, rss_mb(), rss_mb(server_pid)))

    started, cpu, server_cpu = time.perf_counter(), time.process_time(), cpu_seconds(server_pid)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    run.rate = acked / elapsed
    run.client_cpu_us = (time.process_time() - cpu) / acked * 1e6
    run.server_cpu_us = (cpu_seconds(server_pid) - server_cpu) / acked * 1e6
    if reports:
        deadline = time.monotonic() + 30
        while run.delivered < total and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    await session.close()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=64, help="tasks calling submit() at once")
    parser.add_argument(
        "--sim-window", type=int, default=128, help="a deeper window for the simulator-alone run, to show its capacity"
    )
    parser.add_argument("--codec-count", type=int, default=100_000)
    parser.add_argument("--with-reports", action="store_true", help="also run end to end with status reports")
    parser.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        asyncio.run(echo_server())
        return

    print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.2f}")
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print(
            "note: the machine is busy, so the numbers below include waiting for a CPU; compare them with the "
            "reference line, or run under `chrt -f 10` (see docs/benchmarks.md)"
        )
    codec = bench_codec(args.codec_count)
    print(f"codec: {codec:,.0f} SUBMIT encode+decode/s (best of 5 rounds of {args.codec_count // 5:,})")

    with tempfile.TemporaryDirectory() as tmp:
        echo = SimulatorProcess("", echo=True)
        reference = asyncio.run(bench_simulator(echo.port, args.messages, args.window))
        echo.proc.kill()
        echo.proc.wait()
        print(
            f"reference, bare asyncio exchange of SUBMIT-sized frames (window {args.window}): {reference:,.0f} pairs/s"
        )

        for window in (args.window, args.sim_window):
            log_path = os.path.join(tmp, f"sim-alone-{window}.jsonl")
            sim = SimulatorProcess(log_path)
            cpu = cpu_seconds(sim.proc.pid)
            answers = asyncio.run(bench_simulator(sim.port, args.messages, window))
            cpu_us = (cpu_seconds(sim.proc.pid) - cpu) / args.messages * 1e6
            sim_rss = rss_mb(sim.proc.pid)
            sim.stop()
            lines = count_lines(log_path)
            print(
                f"simulator alone: {answers:,.0f} SUBMIT_RESP/s (raw client, window {window}, "
                f"{args.messages:,} messages, {lines:,} log lines; simulator CPU {cpu_us:.1f} us per answer, "
                f"RSS {sim_rss:.0f} MB)"
            )

        echo = SimulatorProcess("", echo=True)
        alone = asyncio.run(
            bench_session(echo.port, args.messages, args.window, args.concurrency, False, echo.proc.pid)
        )
        echo.proc.kill()
        echo.proc.wait()
        print(
            f"session alone, against the bare echo server: {alone.rate:,.0f} acknowledged submits/s "
            f"(client CPU {alone.client_cpu_us:.1f} us per submit)"
        )

        runs = [False, True] if args.with_reports else [False]
        for reports in runs:
            log_path = os.path.join(tmp, f"session-{reports}.jsonl")
            sim = SimulatorProcess(log_path, ["--report-delay", "0.01"] if reports else None)
            run = asyncio.run(
                bench_session(sim.port, args.messages, args.window, args.concurrency, reports, sim.proc.pid)
            )
            sim.stop()
            lines = count_lines(log_path)
            label = "with status reports" if reports else "no status reports"
            print(
                f"session end to end ({label}): {run.rate:,.0f} acknowledged submits/s "
                f"(window {args.window}, {args.concurrency} tasks, {args.messages:,} messages, "
                f"{lines:,} log lines{f', {run.delivered:,} reports received' if reports else ''}; "
                f"CPU per submit: client {run.client_cpu_us:.1f} us, simulator {run.server_cpu_us:.1f} us)"
            )
            for acked, client_rss, server_rss in run.samples:
                print(
                    f"    after {acked:>8,} acked: client RSS {client_rss:6.1f} MB, simulator RSS {server_rss:6.1f} MB"
                )
            print(f"    client peak RSS (VmHWM): {rss_mb('self', 'VmHWM'):.1f} MB")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
