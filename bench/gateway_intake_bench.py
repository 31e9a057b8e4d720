"""Intake benchmark on PostgreSQL: messages committed per second through the real API, in batches of 1,000.

    .venv/bin/python bench/gateway_intake_bench.py                       # the run written up in docs/benchmarks.md
    .venv/bin/python bench/gateway_intake_bench.py --older 200000 --batches 20   # quick

1. Creates the database `sms_bench_intake` (dropped at the end unless --keep), migrates it, seeds the demo
   contract with the gateway defaults, creates an API client, and inserts `--older` finished messages of that
   client (default 4,000,000, a month of this contract), each with its own client_ref so the unique
   (client, client_ref) index is as large as in production, by INSERT ... SELECT generate_series.
2. Starts gunicorn (`--workers`, default 2) on loopback with production settings (DEBUG off, Redis db 13 for
   nonces and the daily counters, as in production).
3. `--threads` client threads, each with the bundled `SmsApiClient` (HMAC signing, keep-alive), send
   `--batches` batches of 1,000 template messages, built before the clock starts (distinct numbers across
   China Mobile segments, unique client_refs). Each answer comes after the commit; the rate is rows committed
   (counted in the database) per second of wall time, first request to last answer. Two warm-up batches are
   not counted.
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
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.apiclient import SmsApiClient  # noqa: E402 - after the path is set

DB_NAME = "sms_bench_intake"
PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/13"
SEGMENTS = ("139", "138", "137", "136", "135", "150", "151", "152", "157", "158", "159", "182", "187", "188", "198")


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{PG}/{db}", "-qc", sql], check=True)


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": REDIS,
        "DJANGO_SETTINGS_MODULE": "sms_contract.settings.base",
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
        "SECRETS_ENCRYPTION_KEYS": "kG6Y6wVqf8nq7Y1M4f2hJ0pX3cQ9rT5uW8zA1bC4dE0=",
        "EMAIL_URL": "dummymail://",  # production settings require a mail server; the bench sends none
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback, no proxy in front
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "600",
    }


def manage(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env(), check=True, capture_output=True, text=True
    ).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(sql: str, params=()) -> tuple:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/{DB_NAME}")
    conn.autocommit = True
    try:
        with conn.cursor() as c:
            c.execute(sql, params)
            return c.fetchone() if c.description else ()
    finally:
        conn.close()


def fill_older(count: int, client_key: str) -> float:
    started = time.perf_counter()
    client_id, contract_id = query("SELECT id, contract_id FROM gateway_apiclient WHERE key_id = %s", [client_key])
    template_id, notice_type_id = query(
        "SELECT id, notice_type_id FROM gateway_messagetemplate WHERE code = 'licence_score'"
    )
    query(
        """
            INSERT INTO gateway_message (contract_id, client_id, client_ref, mobile, notice_type_id, template_id,
                content, src_id, units, segments, status, stat, created_at, valid_until, lease_owner, attempts,
                possible_duplicate, submitted_at, delivered_at, finished_at, node_id)
            SELECT %s, %s, 'old-' || g, '139' || lpad((g %% 100000000)::text, 8, '0'), %s, %s,
                   '【12123】您的驾驶证本周期已记3分，请注意安全驾驶。', '1065712123', 1, 1, 'delivered', 'DELIVRD',
                   now() - interval '31 days' + g * interval '0.6 seconds', now() - interval '30 days', '', 1, false,
                   now() - interval '31 days' + g * interval '0.6 seconds',
                   now() - interval '31 days' + g * interval '0.6 seconds' + interval '5 seconds',
                   now() - interval '31 days' + g * interval '0.6 seconds' + interval '5 seconds', NULL
            FROM generate_series(1, %s) AS g
            """,
        [contract_id, client_id, notice_type_id, template_id, count],
    )
    query("VACUUM ANALYZE gateway_message")
    return time.perf_counter() - started


def committed_since(marker: int) -> int:
    return query("SELECT count(*) FROM gateway_message WHERE id > %s", [marker])[0]


def max_id() -> int:
    return query("SELECT coalesce(max(id), 0) FROM gateway_message")[0]


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes (Linux /proc), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def server_pids(gunicorn_pid: int) -> tuple[list[int], list[int]]:
    """(the gunicorn master and workers, the PostgreSQL backends serving the bench database)."""
    children = Path(f"/proc/{gunicorn_pid}/task/{gunicorn_pid}/children").read_text().split()
    import psycopg2

    conn = psycopg2.connect(f"{PG}/{DB_NAME}")
    try:
        with conn.cursor() as c:
            c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [DB_NAME])
            backends = [row[0] for row in c.fetchall()]
    finally:
        conn.close()
    return [gunicorn_pid, *map(int, children)], backends


def batch(run: str, number: int, size: int) -> list[dict]:
    base = number * size
    return [
        {
            "mobile": SEGMENTS[(base + i) % len(SEGMENTS)] + f"{(base + i) // len(SEGMENTS):08d}",
            "template_code": "licence_score",
            "params": {"points": str((base + i) % 12 + 1)},
            "client_ref": f"{run}-{base + i}",
        }
        for i in range(size)
    ]


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/healthz/", timeout=2).read()
            return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--older", type=int, default=4_000_000)
    parser.add_argument("--batches", type=int, default=100, help="measured batches of 1,000")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database (and skip filling it next time)")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database")
    args = parser.parse_args()

    if not args.reuse:
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
        psql(f"CREATE DATABASE {DB_NAME}")
        t0 = time.perf_counter()
        manage("migrate", "-v", "0")
        manage("seed_demo")
        print(f"migrated and seeded in {time.perf_counter() - t0:.1f} s", flush=True)
    name = f"bench-{int(time.time())}"
    creds = json.loads(manage("create_api_client", name, "--json"))
    if not args.reuse and args.older:
        print(f"inserting {args.older:,} older messages ...", flush=True)
        print(f"  done in {fill_older(args.older, creds['key']):.1f} s", flush=True)
    subprocess.run(["redis-cli", "-n", "13", "FLUSHDB"], check=True, capture_output=True)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "sms_contract.wsgi", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
         "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT, env=env(), start_new_session=True,
    )  # fmt: skip
    try:
        wait_ready(url)
        warm = SmsApiClient(url, creds["key"], creds["secret"])
        for n in range(2):
            result = warm.send_batch(batch(name + "w", n, args.batch_size))
            assert not result["rejected"], result["rejected"][:3]
        warm.close()

        marker = max_id()
        latencies: list[float] = []
        rejected = []
        lock = threading.Lock()
        # The payloads are built before the clock starts: the 12123 side's CPU is not what is measured.
        payloads = [batch(name, n, args.batch_size) for n in range(args.batches)]
        numbers = iter(range(args.batches))

        def worker() -> None:
            api = SmsApiClient(url, creds["key"], creds["secret"], timeout=120)
            while True:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    break
                t = time.perf_counter()
                result = api.send_batch(payloads[n])
                with lock:
                    latencies.append(time.perf_counter() - t)
                    rejected.extend(result["rejected"])
            api.close()

        threads = [threading.Thread(target=worker) for _ in range(args.threads)]
        web_pids, db_pids = server_pids(server.pid)
        web_before, db_before = cpu_seconds(web_pids), cpu_seconds(db_pids)
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        web_cpu, db_cpu = cpu_seconds(web_pids) - web_before, cpu_seconds(db_pids) - db_before
        cpu_used = web_cpu + db_cpu
        committed = committed_since(marker)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    latencies.sort()
    report = {
        "older_messages": args.older,
        "batches": args.batches,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "gunicorn_workers": args.workers,
        "committed": committed,
        "rejected": len(rejected),
        "seconds": round(elapsed, 2),
        "messages_per_second": round(committed / elapsed),
        "batch_latency_ms_median": round(statistics.median(latencies) * 1000),
        "batch_latency_ms_p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000),
        # CPU spent by gunicorn and the PostgreSQL backends, whatever else runs on the machine; with
        # `cores` dedicated cores the intake could not go faster than cores / (CPU seconds per message).
        "server_cpu_seconds_per_1000": round(cpu_used / committed * 1000, 3),
        "of_which_gunicorn": round(web_cpu / committed * 1000, 3),
        "of_which_postgresql": round(db_cpu / committed * 1000, 3),
        "cpu_bound_messages_per_second_on_2_cores": round(2 * committed / cpu_used),
        "load_average_1min_after": os.getloadavg()[0],
    }
    print(json.dumps(report, indent=2))
    if not args.keep:
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")


if __name__ == "__main__":
    main()
