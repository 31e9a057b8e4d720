"""End-to-end benchmark of the sender on PostgreSQL: queued -> acknowledged by the carrier, per second.

    .venv/bin/python bench/gateway_e2e_bench.py                  # the run written up in docs/benchmarks.md
    .venv/bin/python bench/gateway_e2e_bench.py --older 200000 --messages 20000 --limited-messages 5000  # quick

1. Creates the database `sms_bench_e2e` (dropped at the end unless --keep), migrates it, loads the seed
   contract and inserts `--older` finished messages (default 4,000,000, a month of this contract) with one
   segment each, by INSERT ... SELECT generate_series.
2. Claim latency with the big table: `message_claim_batch` of 1,000 over `--messages` queued rows, repeated.
3. Unlimited: two simulated nodes (`python -m gateway.cmpp.simulator`, separate processes), `--senders`
   `runsender` processes; `--messages` queued messages; acknowledged (SUBMIT_RESP result 0 written back,
   status submitted or delivered) per second, measured from the database between 10% and 90% done.
4. Limited: each node's rate_limit set to 500/s (1,000/s in total); `--limited-messages` queued; same measure,
   and the busiest 10 s window (any alignment) per node and in total, from the segments' acknowledgement times:
   the limit holds when each node stays at or under 500/s (+1 %) in every 10 s window. The same window is also
   counted where the carrier counts it: at the nodes, from the time each segment arrived (the simulators'
   `--log`, field `at`); acknowledgement times add the jitter of the round trip.

BENCH_DB_NAME (default sms_bench_e2e) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/14) name the
database and the Redis the run uses.

The sender logs one INFO line per message as in production (to bench/out/sender-*.log).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DB_NAME = os.environ.get("BENCH_DB_NAME", "sms_bench_e2e")
PG = "postgres://postgres@127.0.0.1:5432"
# Node rate limits are shared by the sender processes through Redis (default: db 14 of the local Redis).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET = "bench-s3cret"


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{PG}/{db}", "-qc", sql], check=True)


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "DJANGO_SETTINGS_MODULE": "sms_contract.settings.base",  # production settings: INFO log per message
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
        "SECRETS_ENCRYPTION_KEYS": "kG6Y6wVqf8nq7Y1M4f2hJ0pX3cQ9rT5uW8zA1bC4dE0=",
        "EMAIL_URL": "dummymail://",  # production settings require a mail server; the bench sends none
        "LOG_LEVEL": "INFO",
        "GATEWAY_SENDER_POLL_SECONDS": "0.2",
        "REDIS_URL": REDIS_URL,
    }


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(env())
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill_older(count: int) -> tuple[float, int]:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as c:
        c.execute("SELECT id FROM contracts_contract LIMIT 1")
        contract_id = c.fetchone()[0]
        c.execute(
            """
            INSERT INTO gateway_message (contract_id, client_ref, mobile, content, src_id, units, segments, status,
                stat, created_at, valid_until, lease_owner, attempts, possible_duplicate, submitted_at, delivered_at,
                finished_at, node_id)
            SELECT %s, '', '139' || lpad((g %% 100000000)::text, 8, '0'),
                   '【12123】您的机动车有一条交通违法记录，请及时处理。', '1069121230', 1, 1, 'delivered', 'DELIVRD',
                   now() - interval '31 days' + g * interval '0.6 seconds', now() + interval '1 day', '', 1, false,
                   now() - interval '31 days' + g * interval '0.6 seconds',
                   now() - interval '31 days' + g * interval '0.6 seconds' + interval '5 seconds',
                   now() - interval '31 days' + g * interval '0.6 seconds' + interval '5 seconds', NULL
            FROM generate_series(1, %s) AS g
            """,
            [contract_id, count],
        )
        c.execute("SELECT min(id) FROM gateway_message")
        first = c.fetchone()[0]
    return time.perf_counter() - started, first


def fill_segments(first_message_id: int, node_id: int) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO gateway_messagesegment (message_id, pk_number, carrier_msg_id, node_id, result, submitted_at,
                stat, reported_at)
            SELECT id, 1, (id * 7919) - 4611686018427387904, %s, 0, submitted_at, 'DELIVRD', delivered_at
            FROM gateway_message WHERE id >= %s
            """,
            [node_id, first_message_id],
        )
        c.execute("ANALYZE gateway_message")
        c.execute("ANALYZE gateway_messagesegment")
    return time.perf_counter() - started


def queue(count: int) -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT id FROM contracts_contract LIMIT 1")
        contract_id = c.fetchone()[0]
        c.execute(
            """
            INSERT INTO gateway_message (contract_id, client_ref, mobile, content, src_id, units, segments, status,
                stat, created_at, valid_until, lease_owner, attempts, possible_duplicate)
            SELECT %s, '', '138' || lpad(g::text, 8, '0'), '【12123】您的机动车有一条交通违法记录，请及时处理。',
                   '1069121230', 1, 1, 'queued', '', now(), now() + interval '1 day', '', 0, false
            FROM generate_series(1, %s) AS g
            """,
            [contract_id, count],
        )
        c.execute("ANALYZE gateway_message")


def connection_cursor():
    from django.db import connection

    return connection.cursor()


def claim_latency(rounds: int = 30) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    from gateway.models import Message
    from gateway.sender.store import _claim_postgresql, message_claim_batch

    times, single = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        claimed = message_claim_batch(owner="bench", limit=1000, lease_seconds=60, now=timezone.now())
        times.append((time.perf_counter() - started) * 1000)
        assert len(claimed) == 1000
        Message.objects.filter(lease_owner="bench").update(lease_owner="", lease_until=None, attempts=0)
        # The same moment's baseline: one statement over the queue index, as the claim was before priorities.
        started = time.perf_counter()
        now = timezone.now()
        with transaction.atomic():
            lease_until = now + timedelta(seconds=60)
            rows = _claim_postgresql(
                owner="bench", rank=1, limit=1000, lease_until=lease_until, now=now, takeover_before=now
            )
        single.append((time.perf_counter() - started) * 1000)
        assert len(rows) == 1000
        Message.objects.filter(lease_owner="bench").update(lease_owner="", lease_until=None, attempts=0)
    with connection.cursor() as c:
        c.execute(
            "EXPLAIN SELECT id FROM gateway_message WHERE status = 'queued' AND not_before IS NULL AND priority = 1 "
            "AND (lease_until IS NULL OR lease_until < now()) ORDER BY priority, id LIMIT 1000 FOR UPDATE SKIP LOCKED"
        )
        plan = [row[0] for row in c.fetchall()]
    times.sort()
    single.sort()
    return {
        "claims": rounds,
        "batch": 1000,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "one_statement_median_ms": round(statistics.median(single), 1),
        "one_statement_p95_ms": round(single[int(len(single) * 0.95) - 1], 1),
        "plan": plan,
    }


def setup_nodes(ports: list[int], rate_limit: int, window: int) -> list[int]:
    from contracts.models import Contract
    from gateway.crypto import encrypt_secret
    from gateway.models import CarrierNode

    contract = Contract.objects.first()
    ids = []
    for i, port in enumerate(ports, 1):
        node, _ = CarrierNode.objects.update_or_create(
            name=f"bench-node{i}",
            defaults={
                "contract": contract,
                "host": "127.0.0.1",
                "port": port,
                "version": 0x30,
                "sp_id": "901234",
                "secret_encrypted": encrypt_secret(SECRET),
                "service_id": "JTXX12123",
                "source_number": "1069121230",
                "window": window,
                "rate_limit": rate_limit,
                "weight": 1,
                "enabled": True,
            },
        )
        ids.append(node.id)
    return ids


def acknowledged() -> int:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "SELECT count(*) FROM gateway_message WHERE created_at > now() - interval '1 hour' "
            "AND status IN ('submitted', 'delivered')"
        )
        return c.fetchone()[0]


def max_window(since_message_id: int, seconds: int = 10) -> dict:
    """The busiest window of `seconds` (starting at any acknowledged segment, so every alignment counts): segments
    acknowledged in it, per node and for both nodes together, as a rate per second."""
    from django.db import connection

    span = f"{int(seconds)} seconds"
    with connection.cursor() as c:
        c.execute(
            f"""
            SELECT node_id, max(n) FROM (
                SELECT node_id, count(*) OVER (PARTITION BY node_id ORDER BY submitted_at
                    RANGE BETWEEN CURRENT ROW AND INTERVAL '{span}' FOLLOWING) AS n
                FROM gateway_messagesegment WHERE message_id > %s AND result = 0) w
            GROUP BY node_id ORDER BY node_id
            """,
            [since_message_id],
        )
        per_node = [n / seconds for _, n in c.fetchall()]
        c.execute(
            f"""
            SELECT max(n) FROM (
                SELECT count(*) OVER (ORDER BY submitted_at
                    RANGE BETWEEN CURRENT ROW AND INTERVAL '{span}' FOLLOWING) AS n
                FROM gateway_messagesegment WHERE message_id > %s AND result = 0) w
            """,
            [since_message_id],
        )
        together = c.fetchone()[0] / seconds
    return {"window_seconds": seconds, "max_per_second_per_node": per_node, "max_per_second_total": together}


def last_message_id() -> int:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT coalesce(max(id), 0) FROM gateway_message")
        return c.fetchone()[0]


def busiest_at_nodes(name: str, nodes: int, seconds: float = 10.0) -> list[float]:
    """Per node, the most segments it accepted in any window of `seconds` (its log's `at`), per second."""
    rates = []
    for i in range(1, nodes + 1):
        times = sorted(json.loads(line)["at"] for line in (OUT / f"submits-{name}-{i}.jsonl").open())
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= seconds:
                lo += 1
            best = max(best, hi - lo + 1)
        rates.append(best / seconds)
    return rates


def start_simulators(name: str, ports: list[int]) -> list[subprocess.Popen]:
    """One simulated carrier node per port (separate processes, reports after 0.5 s), logs in bench/out/."""
    procs = []
    for i, port in enumerate(ports, 1):
        log = (OUT / f"sim-{name}-{i}.log").open("w")
        submits = OUT / f"submits-{name}-{i}.jsonl"
        submits.unlink(missing_ok=True)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "gateway.cmpp.simulator", "--port", str(port), "--sp-id", "901234",
                 "--secret", SECRET, "--node-id", str(i), "--report-delay", "0.5", "--quiet", "--log", str(submits)],
                cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
    time.sleep(1)
    return procs


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """SIGTERM in the order given, then wait (30 s each, then kill)."""
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")


def run_phase(name: str, total: int, ports: list[int], senders: int, timeout: float) -> dict:
    """Start the simulators and senders, wait until `total` new messages are acknowledged, stop them."""
    OUT.mkdir(parents=True, exist_ok=True)
    base = acknowledged()
    procs = start_simulators(name, ports)
    for i in range(senders):
        log = (OUT / f"sender-{name}-{i}.log").open("w")
        procs.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "runsender", "--metrics-port", "-1", "--batch", "2000"],
                cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            done = acknowledged() - base
            samples.append((time.monotonic(), done))
            if done >= total:
                break
            time.sleep(0.25)
    finally:
        stop_processes(procs[len(ports) :] + procs[: len(ports)])
    lo, hi = total * 0.1, total * 0.9
    t_lo = next(t for t, n in samples if n >= lo)
    t_hi, n_hi = next((t, n) for t, n in samples if n >= hi)
    n_lo = next(n for t, n in samples if n >= lo)
    first = next(t for t, n in samples if n > 0)
    last_t, last_n = samples[-1]
    return {
        "phase": name,
        "messages": total,
        "acknowledged": last_n,
        "per_second_10_to_90": round((n_hi - n_lo) / (t_hi - t_lo)),
        "per_second_overall": round(last_n / max(1e-9, last_t - first)),
        "seconds": round(last_t - first, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--older", type=int, default=4_000_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--limited-messages", type=int, default=30_000)
    parser.add_argument("--senders", type=int, default=1, help="runsender processes")
    parser.add_argument("--window", type=int, default=64, help="each node's CMPP window")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--skip-limited", action="store_true")
    parser.add_argument("--skip-unlimited", action="store_true")
    args = parser.parse_args()

    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    results = {"cpu_count": os.cpu_count()}
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env(), check=True)
        subprocess.run(
            [sys.executable, "manage.py", "load_contract"], cwd=ROOT, env=env(), check=True, capture_output=True
        )
        django_setup()
        ports = [free_port(), free_port()]
        node_ids = setup_nodes(ports, 0, args.window)
        seconds, first = fill_older(args.older)
        seg_seconds = fill_segments(first, node_ids[0])
        results["older_messages"] = args.older
        results["older_insert_seconds"] = round(seconds, 1)
        results["older_segments_insert_seconds"] = round(seg_seconds, 1)
        print(json.dumps(results), flush=True)

        queue(args.messages)
        results["claim_latency"] = claim_latency()
        print(json.dumps(results["claim_latency"]), flush=True)
        if not args.skip_unlimited:
            results["unlimited"] = run_phase("unlimited", args.messages, ports, args.senders, timeout=600)
            print(json.dumps(results["unlimited"]), flush=True)
        else:
            with connection_cursor() as c:
                c.execute("UPDATE gateway_message SET status = 'failed' WHERE status = 'queued'")

        if not args.skip_limited:
            setup_nodes(ports, 500, args.window)
            since = last_message_id()
            queue(args.limited_messages)
            results["limited_500_per_node"] = run_phase(
                "limited", args.limited_messages, ports, args.senders, timeout=600
            )
            results["limited_500_per_node"]["busiest_10s"] = max_window(since, 10)
            results["limited_500_per_node"]["busiest_10s_at_the_nodes"] = busiest_at_nodes("limited", len(ports))
            print(json.dumps(results["limited_500_per_node"]), flush=True)
        (OUT / "gateway_e2e_bench.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
        print(json.dumps(results, indent=2, ensure_ascii=False))
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            psql(f"DROP DATABASE IF EXISTS {DB_NAME}")


if __name__ == "__main__":
    main()
