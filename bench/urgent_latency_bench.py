"""Urgent notices through a bulk backlog (issue 15): with 200,000 bulk notices queued behind a 1,000/s node
limit, how long from an urgent notice's intake to its SUBMIT_RESP being recorded (status `submitted`)?

    .venv/bin/python bench/urgent_latency_bench.py                        # the run in docs/benchmarks.md
    .venv/bin/python bench/urgent_latency_bench.py --bulk 20000 --urgent 40   # quick

1. Creates the database `sms_bench_urgent` (BENCH_DB_NAME; dropped at the end unless --keep), migrates it, loads the
   seed contract and the gateway defaults (the `emergency` notice type defaults to urgent), an API client, and
   two carrier nodes limited to 500/s each (1,000/s in total).
2. Queues `--bulk` bulk notices (INSERT ... SELECT generate_series, priority bulk).
3. Starts two simulated nodes and one `runsender` (separate processes, production settings); waits until the
   sender runs at its limit.
4. Takes in `--urgent` urgent notices, one every `--every` seconds, through the intake service
   (`gateway.services.intake.messages_submit`: the code behind POST /api/v1/messages/, with its commit and
   wake-up of the sender; HTTP and HMAC are left out), and reads each one's submitted_at − created_at.
Writes bench/out/urgent_latency_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_DB_NAME", "sms_bench_urgent")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_e2e_bench import (  # noqa: E402
    DB_NAME,
    OUT,
    ROOT,
    acknowledged,
    django_setup,
    drop_database,
    env,
    free_port,
    psql,
    setup_nodes,
    start_simulators,
    stop_processes,
)


def queue_bulk(count: int, client_id: int) -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO gateway_message (contract_id, client_id, client_ref, mobile, content, src_id, units, segments,
                status, stat, created_at, valid_until, lease_owner, attempts, possible_duplicate, priority)
            SELECT (SELECT id FROM contracts_contract LIMIT 1), %s, '', '138' || lpad(g::text, 8, '0'),
                '【12123】您的机动车检验有效期即将届满，请按期检验。', '1065712123', 1, 1, 'queued', '', now(),
                now() + interval '3 days', '', 0, false, 2
            FROM generate_series(1, %s) AS g
            """,
            [client_id, count],
        )
        c.execute("ANALYZE gateway_message")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bulk", type=int, default=200_000)
    parser.add_argument("--urgent", type=int, default=200)
    parser.add_argument("--every", type=float, default=0.5, help="seconds between urgent notices")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    results: dict = {"bulk": args.bulk, "urgent": args.urgent, "node_limit_per_s": 1000}
    procs: list[subprocess.Popen] = []
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env(), check=True)
        django_setup()
        from contracts.services import contract_load_seed
        from gateway.models import Message
        from gateway.services.clients import api_client_create
        from gateway.services.intake import messages_submit
        from gateway.services.seed import gateway_seed_defaults

        contract = contract_load_seed()
        gateway_seed_defaults(contract=contract)
        client, _ = api_client_create(contract=contract, name="bench-platform")
        ports = [free_port(), free_port()]
        setup_nodes(ports, 500, 64)
        queue_bulk(args.bulk, client.pk)
        procs.extend(start_simulators("urgent", ports))
        log = (OUT / "sender-urgent.log").open("w")
        procs.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "runsender", "--metrics-port", "-1"],
                cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        while acknowledged() < 5000:  # the sender at its limit before the first urgent notice
            time.sleep(0.5)
        start_ack, started = acknowledged(), time.monotonic()
        ids = []
        for i in range(args.urgent):
            tick = time.monotonic()
            (outcome,) = messages_submit(
                client=client,
                raw_items=[
                    {
                        "mobile": f"139{i:08d}",
                        "template_code": "road_closure",
                        "params": {"road": "G30", "reason": "事故", "time": "10:00"},
                        "client_ref": f"urgent-{i}",
                    }
                ],
            )
            assert outcome.accepted, outcome
            ids.append(outcome.message_id)
            time.sleep(max(0.0, args.every - (time.monotonic() - tick)))
        results["bulk_rate_per_s"] = round((acknowledged() - start_ack) / (time.monotonic() - started))
        deadline = time.monotonic() + 30
        while Message.objects.filter(id__in=ids, submitted_at__isnull=True).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        rows = Message.objects.filter(id__in=ids).values_list("priority", "created_at", "submitted_at")
        assert all(r[0] == 0 for r in rows), "urgent by the notice type's default"
        latencies = [(s - c).total_seconds() for _, c, s in rows if s is not None]
        results["bulk_still_queued_at_end"] = Message.objects.filter(status="queued", priority=2).count()
        results["urgent_submitted"] = len(latencies)
        results["latency_s"] = {
            "median": round(statistics.median(latencies), 3),
            "p99": round(percentile(latencies, 0.99), 3),
            "max": round(max(latencies), 3),
        }
        print(json.dumps(results, indent=2), flush=True)
    finally:
        stop_processes(list(reversed(procs)))
        (OUT / "urgent_latency_bench.json").write_text(json.dumps(results, indent=2))
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
