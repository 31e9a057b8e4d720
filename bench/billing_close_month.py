"""Benchmark: closing a month on PostgreSQL with 4,000,000 messages that month among 20,000,000.

    .venv/bin/python bench/billing_close_month.py           # create DB, fill, measure, drop DB
    .venv/bin/python bench/billing_close_month.py --raw     # also time a plain per-day sum over 20M raw rows

The statement reads the gateway's maintained daily counts (`gateway.selectors.daily_success_units` over
`gateway_dailycount`), never the message table. So the data that matters is the daily-count table: it is
filled for five months (2025-08 .. 2025-12, 4,000,000 messages a month = 20,000,000), per day and notice type
(10 types), the shape the sender maintains. With --raw the script also fills an UNLOGGED side table with
20,000,000 (contract, created_at, units) rows and times the plain per-day sum over October's 4,000,000, to
show what the daily counts save. Database `sms_bench_billing_close`, dropped at the end unless --keep.
Target: close_month < 3 s.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "sms_bench_billing_close"
PG = "postgres://postgres@127.0.0.1:5432"
MONTHS = ["2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]
PER_MONTH = 4_000_000
NOTICE_TYPES = 10


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{PG}/{db}", "-qc", sql], check=True)


def fill(cursor, contract_id: int) -> None:
    cursor.execute("SELECT id FROM gateway_noticetype ORDER BY id")
    types = [row[0] for row in cursor.fetchall()]
    for month in MONTHS:
        # 4,000,000 messages over the month's days and 10 notice types; units = messages × 1.1
        cursor.execute(
            """
            WITH days AS (
                SELECT d::date AS day FROM generate_series(%s::date, (%s::date + interval '1 month - 1 day'), '1 day') d
            ), cells AS (
                SELECT day, t, count(*) OVER () AS n FROM days CROSS JOIN unnest(%s::bigint[]) AS t
            )
            INSERT INTO gateway_dailycount (contract_id, day, notice_type_id, node_id, accepted_messages,
                accepted_units, delivered_messages, delivered_units, failed_messages, refused_segments)
            SELECT %s, day, t, NULL, %s / n, (%s / n) * 11 / 10, (%s / n) * 97 / 100, (%s / n) * 107 / 100, 0, 0
            FROM cells
            """,
            [f"{month}-01", f"{month}-01", types, contract_id] + [PER_MONTH] * 4,
        )


def fill_raw(cursor, contract_id: int) -> float:
    cursor.execute("CREATE UNLOGGED TABLE bench_raw_messages (contract_id int, created_at timestamptz, units int)")
    cursor.execute(
        """
        INSERT INTO bench_raw_messages
        SELECT %s, timestamptz '2025-08-01 00:00+08' + (i * interval '1 second') * (153.0 * 86400 / 20000000),
               1 + (i %% 10 = 0)::int
        FROM generate_series(0, 19999999) i
        """,
        [contract_id],
    )
    cursor.execute("CREATE INDEX bench_raw_created ON bench_raw_messages (created_at)")
    cursor.execute("ANALYZE bench_raw_messages")
    started = time.perf_counter()
    cursor.execute(
        """
        SELECT (created_at AT TIME ZONE 'Asia/Shanghai')::date AS day, sum(units) FROM bench_raw_messages
        WHERE contract_id = %s AND created_at >= '2025-10-01 00:00+08' AND created_at < '2025-11-01 00:00+08'
        GROUP BY 1
        """,
        [contract_id],
    )
    cursor.fetchall()
    return time.perf_counter() - started


def measure(raw: bool) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sms_contract.settings.test")
    import django

    django.setup()
    from django.db import connection

    from billing.models import Statement
    from billing.services.statements import statement_close_month
    from contracts.models import Contract
    from gateway.models import NoticeType

    contract = Contract.objects.get()
    NoticeType.objects.bulk_create(
        [NoticeType(code=f"bench-{i}", name=f"通知{i}") for i in range(NOTICE_TYPES)], ignore_conflicts=True
    )
    with connection.cursor() as cursor:
        started = time.perf_counter()
        fill(cursor, contract.pk)
        cursor.execute("ANALYZE gateway_dailycount")
        cursor.execute("SELECT count(*), sum(accepted_messages) FROM gateway_dailycount")
        rows, messages = cursor.fetchone()
        print(f"daily counts: {rows} rows for {messages:,} messages, filled in {time.perf_counter() - started:.1f} s")
    for month in (8, 9):
        statement_close_month(contract=contract, year=2025, month=month)
    timings = []
    for attempt in range(3):
        started = time.perf_counter()
        statement = statement_close_month(contract=contract, year=2025, month=10)
        timings.append(time.perf_counter() - started)
        print(
            f"close_month 2025-10 run {attempt + 1}: {timings[-1] * 1000:.0f} ms ({statement.number}, "
            f"units {statement.units:,}, {Statement.objects.count()} statements)"
        )
    print(f"close_month 2025-10: best {min(timings) * 1000:.0f} ms, worst {max(timings) * 1000:.0f} ms")
    if raw:
        with connection.cursor() as cursor:
            started = time.perf_counter()
            seconds = fill_raw(cursor, contract.pk)
            print(
                f"raw side table: 20,000,000 rows filled in {time.perf_counter() - started:.0f} s; plain per-day "
                f"sum over October's rows: {seconds:.2f} s"
            )
    print(f"load average: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--raw", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.raw)
        return
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    env = {**os.environ, "DATABASE_URL": f"{PG}/{DB_NAME}", "DJANGO_SETTINGS_MODULE": "sms_contract.settings.test"}
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([sys.executable, "manage.py", "load_contract"], cwd=ROOT, env=env, check=True)
        measure_args = [sys.executable, __file__, "--measure"] + (["--raw"] if args.raw else [])
        subprocess.run(measure_args, cwd=ROOT, env=env, check=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", "close_month", "2025-10"], cwd=ROOT, env=env, check=True)
        print(f"`manage.py close_month 2025-10` wall time incl. Django start-up: {time.perf_counter() - started:.2f} s")
    finally:
        if not args.keep:
            psql(f"DROP DATABASE IF EXISTS {DB_NAME}")


if __name__ == "__main__":
    main()
