"""Benchmark: importing a 1,000,000-row detail carrier bill, as CSV and as XLSX, on PostgreSQL.

    .venv/bin/python bench/billing_bill_import.py            # generate files, create DB, run, drop DB

Creates the database `sms_bench_billing` (dropped at the end unless --keep), generates
/tmp/billing_bench_1m.csv and .xlsx (kept for reruns), and runs each import in a fresh child process
so that its peak RSS is the import's own. Our side's Msg_Ids for the reconciliation are 1,000,000
ids (999,000 shared with the bill), fed through the gateway selector the service calls.
Targets: CSV < 20 s, XLSX < 120 s, peak RSS < 300 MB.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_DB_NAME", "sms_bench_billing")
PG = "postgres://postgres@127.0.0.1:5432"
ROWS = 1_000_000
CSV_PATH = Path("/tmp/billing_bench_1m.csv")
XLSX_PATH = Path("/tmp/billing_bench_1m.xlsx")
FIRST_ID = 7_000_000_000_000_000_000  # above 2^62: real Msg_Ids use the high bits


def detail_row(i: int):
    at = datetime(2025, 10, 1) + timedelta(seconds=i * 2)  # 1M rows over ~23 days
    return str(FIRST_ID + i), f"138{i % 100_000_000:08d}", at, 1 if i % 10 else 2, "DELIVRD"


def generate() -> None:
    if not CSV_PATH.exists():
        started = time.perf_counter()
        with CSV_PATH.open("w", encoding="utf-8") as out:
            out.write("msg_id,mobile,submitted_at,units,status\n")
            for i in range(ROWS):
                msg_id, mobile, at, units, status = detail_row(i)
                out.write(f"{msg_id},{mobile},{at:%Y-%m-%d %H:%M:%S},{units},{status}\n")
        print(f"generated {CSV_PATH} in {time.perf_counter() - started:.1f} s")
    if not XLSX_PATH.exists():
        import openpyxl

        started = time.perf_counter()
        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(["消息ID", "手机号码", "提交时间", "计费条数", "状态"])
        for i in range(ROWS):
            sheet.append(list(detail_row(i)))
        workbook.save(XLSX_PATH)
        print(f"generated {XLSX_PATH} in {time.perf_counter() - started:.1f} s")


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"{PG}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sms_contract.settings.test")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def backend_cpu_seconds(pid: int) -> float:
    """CPU time of the PostgreSQL backend serving us (the server runs on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_one(path: Path) -> None:
    """Child process: import one file and print seconds and peak RSS as JSON."""
    django_setup()
    from django.utils import timezone

    import gateway.selectors
    from billing.services.bills import carrier_bill_upload
    from contracts.models import Contract

    def ours(*, contract_id, start, end):
        yield from range(FIRST_ID + 1000, FIRST_ID + ROWS + 1000)  # the bill's first 1000 ids are not ours

    gateway.selectors.carrier_msg_ids = ours
    contract = Contract.objects.get()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    backend_before = backend_cpu_seconds(backend)
    started = time.perf_counter()
    with path.open("rb") as handle:
        bill = carrier_bill_upload(
            contract=contract,
            period=(2025, 10),
            uploaded_by=None,
            file=handle,
            filename=path.name,
            now=timezone.now(),
        )
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024
    result = {
        "file": path.name,
        "rows": bill.record_count,
        "units": bill.total_units,
        "missing_ours": bill.missing_ours_count,
        "missing_theirs": bill.missing_theirs_count,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "process_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "postgres_backend_cpu_seconds": round(backend_cpu_seconds(backend) - backend_before, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result))


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-qc", sql], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--csv-only", action="store_true")
    args = parser.parse_args()
    if args.run:
        run_one(args.run)
        return
    generate()
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    try:
        env = {**os.environ, "DATABASE_URL": f"{PG}/{DB_NAME}", "DJANGO_SETTINGS_MODULE": "sms_contract.settings.test"}
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([python, "manage.py", "load_contract"], cwd=ROOT, env=env, check=True, capture_output=True)
        for path in [CSV_PATH] if args.csv_only else [CSV_PATH, XLSX_PATH]:
            out = subprocess.run(
                [python, __file__, "--run", str(path)], cwd=ROOT, env=env, check=True, capture_output=True, text=True
            )
            print(out.stdout.strip().splitlines()[-1])
    finally:
        if not args.keep:
            psql(f"DROP DATABASE IF EXISTS {DB_NAME}")


if __name__ == "__main__":
    main()
