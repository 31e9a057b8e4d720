"""Database calls off the sender's event loop: the sender's own worker threads (one on SQLite, which locks
whole tables), and whether the database answers. While it does not, the sender pauses sending."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError, close_old_connections, connection, connections
from django.utils import timezone

log = logging.getLogger("gateway.sender")

_T = TypeVar("_T")
POSTGRES_THREADS = 4
CLOSE_TIMEOUT_SECONDS = 5.0


class DbThreads:
    def __init__(self, *, on_reachable: Callable[[], None]) -> None:
        self.workers = 1 if connection.vendor == "sqlite" else POSTGRES_THREADS
        self.executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sender-db")
        self.ok = True  # False from a failed call (database unreachable) until the next one that works
        self.lost_at: datetime | None = None  # wall clock: when the last outage began
        self.back_at: float | None = None  # monotonic: when the database answered again
        self._on_reachable = on_reachable

    def call(self, func: Callable[..., _T], /, **kwargs: Any) -> asyncio.Future[_T]:
        """Run `func(**kwargs)` on a database thread; every call tells whether the database is reachable."""
        future = asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(_call, func, kwargs))
        future.add_done_callback(self._done)
        return future

    def _done(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is None:
            if not self.ok:
                self.ok = True
                self.back_at = time.monotonic()
                log.warning("database reachable again: sending resumes")
                self._on_reachable()
        elif isinstance(exc, OperationalError | InterfaceError) and self.ok:
            self.ok = False
            self.lost_at = timezone.now()
            log.error("database unreachable (%s): sending paused until it answers", exc)

    async def close(self) -> None:
        """Close every thread's database connection, then the threads."""
        barrier = threading.Barrier(self.workers, timeout=CLOSE_TIMEOUT_SECONDS)

        def close() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()  # one call per worker thread
            connections.close_all()

        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self.executor, close) for _ in range(self.workers)))
        self.executor.shutdown(wait=True)


def _call(func: Callable[..., _T], kwargs: dict[str, Any]) -> _T:
    close_old_connections()
    return func(**kwargs)
