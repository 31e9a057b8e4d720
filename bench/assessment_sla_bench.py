"""Benchmark: the SLA sweep and recording a month's sheet on PostgreSQL.

    .venv/bin/python bench/assessment_sla_bench.py                  # 5,000 tickets + 5,000 complaints
    .venv/bin/python bench/assessment_sla_bench.py --rows 1000      # quick

Fills `--rows` fault tickets and as many complaints over the last 40 days (a third recovered late, a
third in time, a third still open; complaints passed late, in time or not at all), then times:
1. the first `sla_check` (records every breach, one row each; the mail tasks are counted, not run: a worker
   sends them);
2. a second `sla_check` (nothing new: the steady state of the beat task every 5 minutes);
3. `assessment_record` for the busiest month (suggestions from that month's tickets and complaints);
4. `complaint_list_overdue` (the admin filter).
Database `sms_bench_assessment`, dropped at the end unless --keep. Target: steady sweep < 2 s at 5,000 + 5,000.
"""

import argparse
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "sms_bench_assessment"
PG = "postgres://postgres@127.0.0.1:5432"


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-qc", sql], check=True)


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:<48} {time.perf_counter() - start:8.3f} s")
    return result


def run(rows: int) -> None:
    os.environ["DATABASE_URL"] = f"{PG}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sms_contract.settings.test")
    import django

    django.setup()
    from django.utils import timezone

    import assessment.services
    from assessment.models import Complaint, FaultTicket, SlaBreach
    from assessment.selectors import complaint_list_overdue
    from assessment.services import assessment_record, sla_check
    from contracts.services import contract_load_seed

    queued = []
    assessment.services._queue_notify = queued.append  # a worker sends the mails; here we count them
    contract = contract_load_seed()
    now = timezone.now()
    tickets, complaints = [], []
    for i in range(rows):
        reported = now - timedelta(days=39) + timedelta(seconds=i * (39 * 86400 // rows))
        kind = i % 3
        recovered = None if kind == 2 else reported + timedelta(hours=5 if kind == 0 else 1)
        tickets.append(FaultTicket(contract=contract, reported_at=reported, reported_by="bench", severity="minor",
                                   description=f"节点{i}中断", responded_at=reported + timedelta(minutes=5),
                                   on_site_at=recovered, recovered_at=recovered))  # fmt: skip
        passed = None if kind == 2 else reported + timedelta(minutes=90 if kind == 0 else 20)
        complaints.append(Complaint(contract=contract, received_at=reported, received_by="police", subject="bench",
                                    responsible_side="carrier", complainant_mobile="13912345678",
                                    passed_at=passed))  # fmt: skip
    FaultTicket.objects.bulk_create(tickets, batch_size=2000)
    Complaint.objects.bulk_create(complaints, batch_size=2000)
    print(f"{rows} tickets + {rows} complaints over 40 days")
    timed("sla_check, first run", lambda: sla_check(now=now))
    print(f"{'  breaches recorded / notices queued':<48} {SlaBreach.objects.count():8d} / {len(queued)}")
    timed("sla_check, steady state (nothing new)", lambda: sla_check(now=now + timedelta(minutes=5)))
    month = (now - timedelta(days=20)).astimezone(timezone.get_current_timezone())
    scores = {"sending": 30, "ops_timeliness": 0, "ops_compliance": 20, "emergency": 0}
    timed(
        f"assessment_record {month:%Y-%m} (suggestions)",
        lambda: assessment_record(
            contract=contract,
            year=month.year,
            month=month.month,
            scores=scores,
            reasons={"ops_timeliness": "bench", "emergency": "bench"},
        ),  # fmt: skip
    )
    timed("complaint_list_overdue", lambda: len(complaint_list_overdue(now=now)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        run(args.rows)
        return
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    env = {**os.environ, "DATABASE_URL": f"{PG}/{DB_NAME}", "DJANGO_SETTINGS_MODULE": "sms_contract.settings.test"}
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([sys.executable, __file__, "--inner", "--rows", str(args.rows)], cwd=ROOT, env=env, check=True)
    finally:
        if not args.keep:
            psql(f"DROP DATABASE IF EXISTS {DB_NAME}")


if __name__ == "__main__":
    main()
