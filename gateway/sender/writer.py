"""Writing what the sender learnt: submit outcomes and status reports, in batches, by one task.

Outcomes are written every `flush_interval` (after the journal is synced, so an acknowledgement survives a
power cut before the database has it). Reports are written the same way; a report whose SUBMIT_RESP is not in
the database yet (it can overtake it) is tried again for `report_grace_seconds`, then matched to an earlier
copy or kept as unmatched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.utils import timezone

from gateway import metrics
from gateway.sender import journal, store
from gateway.sender.store import WRITE_CHUNK, Outcome, ReportIn

log = logging.getLogger("gateway.sender")

REPORT_RETRY_SECONDS = 1.0  # an unmatched report is tried again this much later, until its grace is over
WRITE_FAILED_PAUSE_SECONDS = 1.0


class Writer:
    def __init__(
        self,
        *,
        db: Callable[..., Awaitable[Any]],
        owner: str,
        journal: journal.Journal | None,
        held: set[int],
        report_grace_seconds: float,
        flush_interval: float,
    ) -> None:
        self._db = db
        self.owner = owner
        self.journal = journal
        self.held = held  # the sender's leases to renew: what is written is no longer held
        self.report_grace_seconds = report_grace_seconds
        self.flush_interval = flush_interval
        self.outcomes: list[Outcome] = []
        self.reports: list[tuple[ReportIn, asyncio.Future[None] | None]] = []
        self.retry_reports: list[tuple[float, float, ReportIn]] = []  # (first seen, next try, report)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def report(self, report: ReportIn) -> asyncio.Future[None]:
        """Queue a report; the future completes once it is written (then the carrier may hear it arrived)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.reports.append((report, done))
        return done

    async def loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                # Concurrently: a report that overtakes its answer's write is simply retried a moment later.
                results = await asyncio.gather(self.flush(), self.flush_reports(), return_exceptions=True)
                for result in results:
                    if isinstance(result, BaseException):
                        raise result
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("writing results failed; retrying")
                await asyncio.sleep(WRITE_FAILED_PAUSE_SECONDS)

    async def flush(self) -> None:
        while self.outcomes:
            batch, self.outcomes = self.outcomes[:WRITE_CHUNK], self.outcomes[WRITE_CHUNK:]
            try:
                if self.journal is not None:  # the acknowledgements survive a power cut before the DB has them
                    await asyncio.get_running_loop().run_in_executor(None, self.journal.sync)
                await self._db(store.results_record, outcomes=batch, owner=self.owner, now=timezone.now())
            except BaseException:
                self.outcomes[:0] = batch
                raise
            ids = [out.message.id for out in batch]
            self.held.difference_update(ids)
            if self.journal is not None:
                self.journal.settled(ids)

    async def flush_reports(self, final: bool = False) -> None:
        """Write the reports received since the last round plus unmatched ones due for another try. A report
        still unmatched after the grace period is kept in the unmatched table."""
        now = time.monotonic()
        due = [entry for entry in self.retry_reports if final or now >= entry[1]]
        fresh, self.reports = self.reports, []
        if not fresh and not due:
            return
        self.retry_reports = [entry for entry in self.retry_reports if not (final or now >= entry[1])]
        first_seen = {id(report): first for first, _, report in due}
        batch = [report for report, _ in fresh] + [report for _, _, report in due]
        try:
            unmatched = await self._db(store.reports_record, reports=batch, now=timezone.now())
        except Exception:
            # Not written (database away): kept and tried again next round; their DELIVERs stay unacknowledged
            # until then (a carrier that tires of waiting resends them, which is harmless).
            self.reports[:0] = fresh
            self.retry_reports.extend(due)
            raise
        for _, fut in fresh:
            if fut is not None and not fut.done():
                fut.set_result(None)
        keep = []
        for report in unmatched:
            first = first_seen.get(id(report), now)
            if final or now - first >= self.report_grace_seconds:
                keep.append(report)
            else:
                self.retry_reports.append((first, now + REPORT_RETRY_SECONDS, report))
        if keep:
            keep = await self._db(store.reports_match_copies, reports=keep, now=timezone.now())
        if keep:
            metrics.UNMATCHED_REPORTS.inc(len(keep))
            await self._db(store.unmatched_reports_keep, reports=keep, now=timezone.now())
