"""Status callbacks on PostgreSQL: delivery rate, and a receiver that is down for a minute (issue 15).

    .venv/bin/python bench/callbacks_bench.py                              # the run in docs/benchmarks.md
    .venv/bin/python bench/callbacks_bench.py --events 20000 --down-seconds 10   # quick

1. Creates the database `sms_bench_callbacks` (BENCH_DB_NAME; dropped at the end unless --keep), migrates it, loads
   the seed contract and creates an API client whose callback URL is a local receiver: the bundled client's
   `serve_callbacks` in this process, which verifies every request's signature with `verify_callback`.
2. Rate: `--events` delivered messages of that client and their events (written by the outbox's own
   `events_record`); then `manage.py runcallbacks` (a separate process, production settings) pushes them.
   Events/s from its start (process start-up included) to the last event received, and from the first request
   received to the last (the worker's steady rate).
3. Receiver down: the receiver is stopped (its port closed) for `--down-seconds`; meanwhile new events are
   written at `--rate` per second; then it comes back. The bench waits until every event arrived and counts,
   by event_id, lost events (must be 0) and duplicates (at-least-once allows a few), and the time it took
   after the receiver came back.
Writes bench/out/callbacks_bench.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("BENCH_DB_NAME", "sms_bench_callbacks")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_e2e_bench import DB_NAME, OUT, ROOT, django_setup, drop_database, env, free_port, psql  # noqa: E402


class Receiver:
    """Counts event_ids as they arrive; can be stopped and started again on the same port."""

    def __init__(self, api, port: int) -> None:
        self.api, self.port = api, port
        self.ids: list[int] = []
        self.requests = 0
        self.last_at = 0.0
        self.first_at = 0.0
        self.lock = threading.Lock()
        self.server = None

    def _take(self, events) -> None:
        with self.lock:
            self.ids.extend(int(e["event_id"]) for e in events)
            self.requests += 1
            self.last_at = time.perf_counter()
            self.first_at = self.first_at or self.last_at

    def start(self) -> None:
        from gateway.apiclient import serve_callbacks

        self.server = serve_callbacks(self.api, "127.0.0.1", self.port, self._take)
        self.sockets = []
        accept = self.server.get_request

        def get_request():  # remember each connection, so stop() can cut the kept-alive ones too
            conn, addr = accept()
            self.sockets.append(conn)
            return conn, addr

        self.server.get_request = get_request
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down as a crashed server is: the port closed and every open connection cut."""
        self.server.shutdown()
        self.server.server_close()
        for conn in self.sockets:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def count(self) -> int:
        with self.lock:
            return len(self.ids)


def write_events(client_id: int, count: int) -> list[int]:
    """`count` delivered messages of the client and their events, through the outbox's events_record."""
    from django.db import connection, transaction
    from django.utils import timezone

    from gateway.callbacks.outbox import events_record

    with transaction.atomic(), connection.cursor() as c:
        c.execute(
            """
            INSERT INTO gateway_message (contract_id, client_id, client_ref, mobile, content, src_id, units, segments,
                status, stat, created_at, valid_until, lease_owner, attempts, possible_duplicate, finished_at)
            SELECT (SELECT id FROM contracts_contract LIMIT 1), %s, '', '139' || lpad(g::text, 8, '0'),
                '【12123】您好', '1069121230', 1, 1, 'delivered', 'DELIVRD', now(), now() + interval '1 day', '', 1,
                false, now()
            FROM generate_series(1, %s) AS g RETURNING id
            """,
            [client_id, count],
        )
        ids = [row[0] for row in c.fetchall()]
        events_record(ids, at=timezone.now())
    return ids


def wait_for(receiver: Receiver, total: int, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while receiver.count() < total and time.perf_counter() < deadline:
        time.sleep(0.05)
    return receiver.count() >= total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--down-seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=1000, help="events written per second while the receiver is down")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    django_setup()
    from django.core.management import call_command

    from contracts.services import contract_load_seed
    from gateway.apiclient import SmsApiClient
    from gateway.models import MessageEvent
    from gateway.services.clients import api_client_create

    call_command("migrate", verbosity=0)
    contract = contract_load_seed()
    port = free_port()
    client, creds = api_client_create(
        contract=contract, name="bench-platform", callback_url=f"http://127.0.0.1:{port}/sms/callbacks"
    )
    receiver = Receiver(SmsApiClient("http://127.0.0.1:1", creds.key, creds.secret), port)
    receiver.start()
    results: dict = {"events": args.events}
    write_events(client.pk, args.events)
    log = open(OUT / "callbacks-worker.log", "w")  # noqa: SIM115 - closed at the end
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "runcallbacks"], cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        started = time.perf_counter()
        if not wait_for(receiver, args.events, 600):
            raise SystemExit(f"only {receiver.count()} of {args.events} events arrived")
        elapsed = receiver.last_at - started
        steady = receiver.last_at - receiver.first_at
        results["rate"] = {
            "seconds": round(elapsed, 2),
            "events_per_s": round(args.events / elapsed),
            "events_per_s_first_to_last": round((args.events - 500) / steady) if steady else None,
            "requests": receiver.requests,
            "duplicates": receiver.count() - len(set(receiver.ids)),
        }
        print("rate:", results["rate"], flush=True)

        # Receiver down: new events keep coming while nobody answers.
        receiver.stop()
        down_at = time.perf_counter()
        written = 0
        while time.perf_counter() - down_at < args.down_seconds:
            tick = time.perf_counter()
            written += len(write_events(client.pk, args.rate // 10))
            time.sleep(max(0.0, 0.1 - (time.perf_counter() - tick)))
        receiver.start()
        back_at = time.perf_counter()
        total = args.events + written
        arrived = wait_for(receiver, total, 900)
        unique = set(receiver.ids)
        expected = set(MessageEvent.objects.filter(client_id=client.pk).values_list("id", flat=True))
        results["receiver_down"] = {
            "down_seconds": args.down_seconds,
            "written_while_down": written,
            "all_arrived": arrived,
            "lost": len(expected - unique),
            "duplicates": len(receiver.ids) - len(unique),
            "seconds_to_drain_after_back": round(receiver.last_at - back_at, 1),
            "dead_letters": MessageEvent.objects.filter(delivery="dead").count(),
        }
        print("receiver down:", results["receiver_down"], flush=True)
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
        receiver.stop()
        (OUT / "callbacks_bench.json").write_text(json.dumps(results, indent=2))
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
