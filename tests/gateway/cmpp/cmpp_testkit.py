"""Shared constants and fixture types of the CMPP tests (a uniquely named module: test files import it
directly, which is safe where ``from conftest import ...`` is not)."""

from collections.abc import Awaitable, Callable

from gateway.cmpp import Backoff, Session
from gateway.cmpp.simulator import Simulator

SP_ID = "901234"
SECRET = "s3cret"
FAST = Backoff(base=0.02, factor=2, cap=0.2, jitter=0)

MakeSim = Callable[..., Awaitable[Simulator]]
MakeSession = Callable[..., Awaitable[Session]]
