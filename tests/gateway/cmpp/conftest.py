"""Fixtures for the CMPP tests: simulators on 127.0.0.1 (free ports) and sessions with small timeouts."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from cmpp_testkit import FAST, SECRET, SP_ID, MakeSession, MakeSim

from gateway.cmpp import Session, SessionConfig
from gateway.cmpp.simulator import Simulator, SimulatorConfig


@pytest.fixture
async def make_sim() -> AsyncIterator[MakeSim]:
    started: list[Simulator] = []

    async def _make(**overrides: Any) -> Simulator:
        options: dict[str, Any] = {"port": 0, "sp_id": SP_ID, "secret": SECRET, "report_delay": 0.02}
        options.update(overrides)
        sim = Simulator(SimulatorConfig(**options))
        await sim.start()
        started.append(sim)
        return sim

    yield _make
    for sim in started:
        await sim.stop()


@pytest.fixture
async def make_session() -> AsyncIterator[MakeSession]:
    sessions: list[Session] = []

    async def _make(sim: Simulator, connect: bool = True, on_deliver: Any = None, **overrides: Any) -> Session:
        options: dict[str, Any] = {
            "port": sim.port, "sp_id": SP_ID, "secret": SECRET, "response_timeout": 1.0, "max_sends": 3,
            "heartbeat_interval": 30.0, "connect_timeout": 2.0, "flow_control_backoff": FAST,
            "reconnect_backoff": FAST, "close_timeout": 1.0,
        }
        options.update(overrides)
        deliver_queue = options.pop("deliver_queue", None)
        on_state = options.pop("on_state", None)
        session = Session(SessionConfig(**options), on_deliver, deliver_queue=deliver_queue, on_state=on_state)
        sessions.append(session)
        if connect:
            await session.connect()
        return session

    yield _make
    for session in sessions:
        await session.close()
