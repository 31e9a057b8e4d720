"""The ISMG simulator: survives garbage, answers malformed SUBMITs, logs accepted segments, runs from the CLI."""

import asyncio
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cmpp_testkit import SECRET, SP_ID, MakeSession, MakeSim

from gateway.cmpp import V20, V30, DeliverMO, Session, SessionConfig, SubmitRequest
from gateway.cmpp.auth import authenticator_source
from gateway.cmpp.codec import FrameReader
from gateway.cmpp.msgid import unpack_msg_id
from gateway.cmpp.pdu import Command, Connect, ConnectResp, Submit, SubmitResp, decode_body, encode_frame

ROOT = Path(__file__).resolve().parents[3]


async def raw_login(port: int, version: int = V30) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode_frame(Connect(SP_ID, authenticator_source(SP_ID, SECRET, 1021080510), version, 1021080510),
                              1, version))
    header = await reader.readexactly(12)
    body = await reader.readexactly(struct.unpack(">I", header[:4])[0] - 12)
    resp = decode_body(Command.CONNECT_RESP, body, version)
    assert isinstance(resp, ConnectResp) and resp.status == 0
    return reader, writer


async def test_random_bytes_over_sockets_never_take_the_simulator_down(make_sim: MakeSim,
                                                                        make_session: MakeSession) -> None:
    sim = await make_sim()
    rng = random.Random(1234)
    for i in range(40):
        if i % 2:
            reader, writer = await raw_login(sim.port)
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600)))
        if i % 4 == 1:  # a plausible header in front of the junk gets deeper into the parser
            junk = struct.pack(">III", 12 + len(junk), rng.choice([4, 5, 6, 7, 8, 1, 0x80000005]), i) + junk
        writer.write(junk)
        await writer.drain()
        await asyncio.sleep(0)
        writer.close()
    session = await make_session(sim)
    assert (await session.submit(SubmitRequest(dest=["13912345678"], text="still alive"))).ok
    assert sim.stats.malformed > 0


@pytest.mark.parametrize("version", [V20, V30])
async def test_malformed_submit_gets_result_4_and_the_connection_survives(make_sim: MakeSim, version: int) -> None:
    sim = await make_sim()
    reader, writer = await raw_login(sim.port, version)
    good = encode_frame(Submit(dest_terminal_ids=("13912345678",), msg_content=b"hi", msg_fmt=0), 0, version)
    bad = bytearray(good[:-1])  # one byte short, Total_Length adjusted: fields and length disagree
    bad[0:4] = struct.pack(">I", len(bad))
    bad[8:12] = struct.pack(">I", 7)
    writer.write(bytes(bad) + good)
    frames = FrameReader()
    got: list[tuple[int, int, bytes]] = []
    while len(got) < 2:
        got.extend(frames.feed(await asyncio.wait_for(reader.read(4096), 2)))
    (c1, s1, b1), (c2, _, b2) = got
    assert (c1, s1) == (Command.SUBMIT_RESP, 7)
    assert decode_body(c1, b1, version) == SubmitResp(0, 4)
    assert decode_body(c2, b2, version).result == 0  # type: ignore[attr-defined]
    writer.close()


async def test_requests_before_login_close_the_connection(make_sim: MakeSim) -> None:
    sim = await make_sim()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(encode_frame(Submit(dest_terminal_ids=("1",)), 1, V30))
    assert await asyncio.wait_for(reader.read(100), 2) == b""
    assert sim.stats.malformed == 1


async def test_log_file_has_a_line_per_accepted_segment(make_sim: MakeSim, make_session: MakeSession,
                                                        tmp_path: Path) -> None:
    log_path = tmp_path / "submits.jsonl"
    sim = await make_sim(log_path=str(log_path), throttle_rate=None)
    session = await make_session(sim)
    text = "通知" * 40  # 80 characters: two segments
    await session.submit(SubmitRequest(dest=["13912345678"], text=text, service_id="JTGL", src_id="1069001"))
    await session.submit(SubmitRequest(dest=["13800138000", "13700137000"], text="TD"))
    await sim.stop()
    lines = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3
    first, second, third = lines
    assert {"msg_id", "dest", "src_id", "service_id", "pk_total", "pk_number", "text", "at"} <= first.keys()
    assert abs(third["at"] - time.time()) < 60  # when the node accepted it (wall clock): rates as the node saw them
    assert (first["pk_total"], first["pk_number"], second["pk_number"]) == (2, 1, 2)
    assert first["text"] + second["text"] == text and first["service_id"] == "JTGL"
    assert third["dest"] == ["13800138000", "13700137000"]


async def test_node_id_keeps_msg_ids_apart(make_sim: MakeSim, make_session: MakeSession) -> None:
    ids = []
    for node in (1, 2):
        sim = await make_sim(node_id=node)
        session = await make_session(sim)
        ids.append((await session.submit(SubmitRequest(dest=["13912345678"], text="x"))).msg_ids[0])
    assert [unpack_msg_id(i).gateway for i in ids] == [1, 2]


def test_command_line_simulator(tmp_path: Path) -> None:
    log_path, mo_path = tmp_path / "submits.jsonl", tmp_path / "mo.txt"
    mo_path.write_text("")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cmpp.simulator", "--port", "0", "--sp-id", SP_ID, "--secret", SECRET,
         "--version", "2.0", "--log", str(log_path), "--mo-file", str(mo_path), "--report-delay", "0.01",
         "--quiet"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on 127.0.0.1:" in line, line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        asyncio.run(_drive_cli_simulator(port, mo_path))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    stats = json.loads(err.strip().splitlines()[-1])
    assert stats["submits"] == 5 and stats["mos_sent"] == 2
    assert len(log_path.read_text().splitlines()) == 5


async def _drive_cli_simulator(port: int, mo_path: Path) -> None:
    events: list[object] = []
    session = Session(SessionConfig(port=port, sp_id=SP_ID, secret=SECRET, version=V20), events.append)
    await session.connect()
    for _ in range(5):
        await session.submit(SubmitRequest(dest=["13912345678"], text="cli", registered_delivery=0))
    with mo_path.open("a") as handle:
        handle.write('13912345678 TD\n{"src": "13800138000", "text": "退订", "dest_id": "1069000199"}\n')
    deadline = time.monotonic() + 5
    while len(events) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await session.close()
    mos = [e for e in events if isinstance(e, DeliverMO)]
    assert [(m.src, m.text, m.dest_id) for m in mos] == [("13912345678", "TD", "10690001"),
                                                          ("13800138000", "退订", "1069000199")]
