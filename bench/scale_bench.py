"""Scale benchmark (issue 16): the partitioned message tables with a year of older traffic, on PostgreSQL.

    .venv/bin/python bench/scale_bench.py                                   # points 3M and 10M rows (see below)
    .venv/bin/python bench/scale_bench.py --points 20000,60000 --batches 5  # a quick run (a minute)
    .venv/bin/python bench/scale_bench.py --convert 1000000                 # partition_tables on 1M rows, intake on

1. Creates the database (`--db`, default `sms_bench_scale`; dropped at the end unless --keep), migrates it
   (the message tables are partitioned by the migration), loads the contract, seeds the gateway defaults,
   an API client, a node and 100,000 opt-outs, and creates the month partitions of the last 12 months.
2. For each point (a number of older messages): tops the tables up by INSERT … SELECT generate_series to that
   many finished messages spread evenly over the 12 finished months before this one, each with one segment
   (a Msg_Id) and its own client_ref, and the daily counts the sender would have written for them; ANALYZE.
   At 1.5M and 5M messages the tables hold 3M and 10M rows (messages + segments).
3. Measures at each point: intake (the intake service in-process, batches of 1,000 free-content messages,
   one thread: the web tier is `bench/gateway_intake_bench.py`'s), the claim of 1,000 (median of 30), the
   admin message list's first page (default range, all, a filter, two searches) through Django's test
   client, lookups by id / client_ref / mobile and day, the dashboard, the opt-out check of 1,000 numbers,
   the Msg_Id comparison stream of one month, close_month of the last finished month, and archiving one
   month (files + manifest, then drop; peak RSS of this process while it runs) and restoring it.
4. Prints one JSON line per point and a linear extrapolation of every figure to `--target` (50,000,000)
   messages from the two points: y(N) = y1 + (y2 - y1) / (N2 - N1) × (N - N1). For index lookups, whose cost
   grows with the logarithm of the size, the straight line is an upper bound.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = "postgres://postgres@127.0.0.1:5432"
MONTHS = 12
CMCC = ("139", "138", "137", "136", "135", "150", "151", "152", "157", "158", "159", "182", "187", "188", "198")


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{PG}/{db}", "-qc", sql], check=True)


def median_ms(fn, runs: int) -> tuple[float, float]:
    """(median, p95) in milliseconds of `runs` calls."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return round(statistics.median(times), 2), round(times[min(len(times) - 1, int(len(times) * 0.95))], 2)


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


class Bench:
    def __init__(self, args):
        self.args = args
        from django.utils import timezone

        from gateway.partitions import add_months, month_of

        self.this_month = month_of(timezone.now())
        self.first_month = add_months(self.this_month, -MONTHS)
        self.seeded = 0

    # ----------------------------------------------------------------- set-up
    def setup(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db import connection

        from contracts.models import Contract
        from gateway import partitions
        from gateway.crypto import encrypt_secret
        from gateway.models import ApiClient, CarrierNode, NoticeType
        from gateway.services.seed import gateway_seed_defaults

        self.contract = Contract.objects.get()
        gateway_seed_defaults(contract=self.contract)
        self.client = ApiClient.objects.create(
            contract=self.contract, name="12123", key_id="bench", secret_encrypted=encrypt_secret("x" * 32),
            allow_free_content=True,
        )  # fmt: skip
        self.node = CarrierNode.objects.create(
            contract=self.contract, name="A", host="127.0.0.1", port=7890, sp_id="123456", secret_encrypted="x"
        )
        self.notice_type = NoticeType.objects.order_by("id").first()
        self.user = get_user_model().objects.create_superuser("bench", "bench@example.org", "bench-pw-1")
        with connection.cursor() as cursor:
            for table in partitions.TABLES:
                have = partitions.month_partitions(cursor, table)
                for month in partitions.months_between(self.first_month, self.this_month):
                    if month not in have:
                        partitions.create_month(cursor, table, month)
            cursor.execute(
                "INSERT INTO gateway_optout (mobile, opted_out, since, source) "
                "SELECT '147' || lpad(i::text, 8, '0'), true, now(), 'mo' FROM generate_series(1, 100000) i"
            )

    def _columns_sql(self, model, known: dict[str, str]) -> tuple[list[str], list[str], list]:
        """Column names and SELECT expressions for every concrete field: `known` for the ones seeded here,
        the field's default (a parameter) for columns other migrations add."""
        columns, selects, params = [], [], []
        for f in model._meta.concrete_fields:
            if f.primary_key:
                continue
            columns.append(f.column)
            if f.column in known:
                selects.append(known[f.column])
            else:
                selects.append("%s")
                params.append(f.get_default())
        return columns, selects, params

    def seed_to(self, total: int) -> float:
        """Top the tables up to `total` older messages (and segments, daily counts). Returns seconds."""
        from django.db import connection, transaction

        from gateway.models import Message, MessageSegment
        from gateway.partitions import month_bounds

        start = month_bounds(self.first_month)[0]
        span = int((month_bounds(self.this_month)[0] - start).total_seconds())
        at = f"timestamptz '{start.isoformat()}' + ((i * 104729) %% {span}"  # spread evenly over the months
        content = "【12123】您的机动车苏C12345于11月1日8时在中山北路违反交通信号灯通行，请及时处理。"
        known = {
            "contract_id": str(self.contract.id),
            "client_id": str(self.client.id),
            "client_ref": "'old-' || i",
            "mobile": "'139' || lpad((i %% 100000000)::text, 8, '0')",
            "notice_type_id": str(self.notice_type.id),
            "template_id": "NULL",
            "content": f"'{content}'",
            "src_id": "'1065712123'",
            "units": "1",
            "segments": "1",
            "status": "'delivered'",
            "stat": "'DELIVRD'",
            "node_id": str(self.node.id),
            # A multiplicative hash of i spreads the rows over the 12 months, whatever the total.
            "created_at": f"{at}) * interval '1 second'",
            "valid_until": f"{at} + 86400) * interval '1 second'",
            "lease_owner": "''",
            "lease_until": "NULL",
            "attempts": "1",
            "possible_duplicate": "false",
            "submitted_at": f"{at} + 2) * interval '1 second'",
            "delivered_at": f"{at} + 9) * interval '1 second'",
            "finished_at": f"{at} + 9) * interval '1 second'",
        }
        m_cols, m_selects, m_params = self._columns_sql(Message, known)
        seg_known = {
            "message_id": "id",
            "pk_number": "1",
            "carrier_msg_id": "id",
            "node_id": "node_id",
            "result": "0",
            "submitted_at": "submitted_at",
            "stat": "'DELIVRD'",
            "reported_at": "delivered_at",
        }
        s_cols, s_selects, s_params = self._columns_sql(MessageSegment, seg_known)
        started = time.perf_counter()
        chunk = 1_000_000
        for low in range(self.seeded, total, chunk):
            high = min(total, low + chunk)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO gateway_message ({', '.join(m_cols)}) SELECT {', '.join(m_selects)} "  # noqa: S608
                    f"FROM generate_series(%s::bigint, %s::bigint) i",
                    [*m_params, low + 1, high],
                )
                cursor.execute("SELECT max(id) FROM gateway_message")
                top = cursor.fetchone()[0]
                cursor.execute(
                    f"INSERT INTO gateway_messagesegment ({', '.join(s_cols)}) "  # noqa: S608
                    f"SELECT {', '.join(s_selects)} FROM gateway_message WHERE id > %s AND id <= %s",
                    [*s_params, top - (high - low), top],
                )
            print(f"  seeded {high:,} older messages ({time.perf_counter() - started:.0f} s)", flush=True)
        self.seeded = total
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM gateway_dailycount")
            cursor.execute(
                """INSERT INTO gateway_dailycount (contract_id, day, notice_type_id, node_id, accepted_messages,
                       accepted_units, delivered_messages, delivered_units, failed_messages, refused_segments,
                       no_report_messages)
                   SELECT contract_id, (submitted_at AT TIME ZONE 'Asia/Shanghai')::date, notice_type_id, node_id,
                       count(*), sum(units), count(*), sum(units), 0, 0, 0
                   FROM gateway_message WHERE status = 'delivered' AND submitted_at IS NOT NULL GROUP BY 1, 2, 3, 4"""
            )
            cursor.execute("ANALYZE")
        return time.perf_counter() - started

    # ----------------------------------------------------------------- measurements
    def measure(self) -> dict:
        from django.db import connection
        from django.test import Client
        from django.utils import timezone

        from gateway.models import Message, OptOut
        from gateway.partitions import add_months, month_bounds
        from gateway.selectors import carrier_msg_ids
        from gateway.sender.store import message_claim_batch
        from gateway.services.intake import messages_submit
        from gateway.services.message_reads import client_ref_filter
        from portal.selectors import dashboard

        out: dict = {"older_messages": self.seeded}
        rng = random.Random(self.seeded)

        # Intake: batches of 1,000, in-process, one thread.
        batches = self.args.batches
        payloads = [
            [
                {
                    "mobile": f"{rng.choice(CMCC)}{rng.randrange(10**8):08d}",
                    "content": "您的机动车有未处理的交通违法记录，请及时处理。",
                    "client_ref": f"new-{self.seeded}-{b}-{k}",
                }
                for k in range(1000)
            ]
            for b in range(batches + 1)
        ]
        messages_submit(client=self.client, raw_items=payloads[0])  # warm-up
        started = time.perf_counter()
        for items in payloads[1:]:
            outcomes = messages_submit(client=self.client, raw_items=items)
            assert all(o.accepted for o in outcomes), [o for o in outcomes if not o.accepted][:3]
        out["intake_msg_per_s"] = round(batches * 1000 / (time.perf_counter() - started))

        # Claim of 1,000 from the queue just filled.
        claims = []
        now = timezone.now()
        for n in range(min(30, batches)):
            t0 = time.perf_counter()
            got = message_claim_batch(owner=f"bench-{n}", limit=1000, lease_seconds=600, now=now)
            claims.append((time.perf_counter() - t0) * 1000)
            assert len(got) == 1000
        out["claim_1000_ms_median"] = round(statistics.median(claims), 2)
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN SELECT id FROM gateway_message WHERE status = 'queued' AND (lease_until IS NULL OR "
                "lease_until < now()) ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED"
            )
            plan = [row[0] for row in cursor.fetchall()]
            out["claim_plan"] = " / ".join(line.strip().split("  (")[0] for line in plan[:4])
            cursor.execute("UPDATE gateway_message SET status = 'expired', lease_owner = '' WHERE status = 'queued'")

        # Admin list, first page.
        web = Client()
        web.force_login(self.user)
        sample = self._sample(rng, 20)
        first = sample[0]
        for label, query in [
            ("default", ""),
            ("all", "?created=all"),
            ("all_status_failed", "?created=all&status=failed"),
            ("search_client_ref", f"?q={first[1]}"),
            ("search_mobile", f"?q={first[2]}"),
        ]:
            url = "/admin/gateway/message/" + query

            def get(url=url):
                response = web.get(url)
                assert response.status_code == 200, response.status_code

            get()
            out[f"admin_list_{label}_ms"] = median_ms(get, 5)[0]

        # Lookups.
        ids = iter(sample * 3)
        out["lookup_id_ms"] = median_ms(lambda: Message.objects.get(pk=next(ids)[0]), 20)
        refs = iter(sample * 3)
        out["lookup_client_ref_ms"] = median_ms(
            lambda: list(Message.objects.filter(client=self.client, client_ref=next(refs)[1])), 20
        )
        refs = iter(sample * 3)
        out["lookup_client_ref_staff_ms"] = median_ms(
            lambda: list(Message.objects.filter(client_ref_filter(next(refs)[1]))), 20
        )
        days = iter(sample * 3)

        def by_mobile_day():
            _, _, mobile, created = next(days)
            day = timezone.localtime(created).replace(hour=0, minute=0, second=0, microsecond=0)
            list(Message.objects.filter(mobile=mobile, created_at__gte=day, created_at__lt=day + timedelta(days=1)))

        out["lookup_mobile_day_ms"] = median_ms(by_mobile_day, 20)
        out["dashboard_ms"] = median_ms(lambda: dashboard(contract=self.contract), 5)[0]
        numbers = [f"147{rng.randrange(1, 200000):08d}" for _ in range(1000)]
        out["optout_check_1000_ms"] = median_ms(
            lambda: set(OptOut.objects.filter(mobile__in=numbers, opted_out=True).values_list("mobile", flat=True)),
            20,
        )[0]

        # The carrier-bill Msg_Id comparison reads one month of Msg_Ids.
        month = add_months(self.this_month, -2)
        start, end = month_bounds(month)
        t0 = time.perf_counter()
        last_day = (end - timedelta(days=1)).astimezone(start.tzinfo).date()
        count = sum(1 for _ in carrier_msg_ids(contract_id=self.contract.id, start=start.date(), end=last_day))
        out["msgid_month_rows"] = count
        out["msgid_month_s"] = round(time.perf_counter() - t0, 2)

        out["close_month_s"] = self._close_month()
        out.update(self._archive_and_restore())
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent IN ('gateway_message'::regclass, 'gateway_messagesegment'::regclass)"
            )
            out["message_tables_bytes"] = int(cursor.fetchone()[0])
        return out

    def _sample(self, rng, n: int) -> list[tuple]:
        """n random older messages (by id, which is dense: the seeded ids run from 1)."""
        from gateway.models import Message

        rows = []
        while len(rows) < n:
            pk = rng.randrange(1, self.seeded + 1)
            row = Message.objects.filter(pk=pk).values_list("id", "client_ref", "mobile", "created_at").first()
            if row and row[1].startswith("old-"):
                rows.append(row)
        return rows

    def _close_month(self) -> float | str:
        from billing.services.statements import statement_close_month
        from gateway.partitions import add_months

        last = add_months(self.this_month, -1)
        try:
            for month in [add_months(self.this_month, -n) for n in range(MONTHS, 1, -1)]:
                statement_close_month(contract=self.contract, year=month.year, month=month.month)
            t0 = time.perf_counter()
            statement_close_month(contract=self.contract, year=last.year, month=last.month)
            return round(time.perf_counter() - t0, 3)
        except Exception as exc:  # noqa: BLE001 - reported, the other figures still count
            return f"not measured: {exc}"[:200]

    def _archive_and_restore(self) -> dict:
        from gateway.retention import archive_month, restore_month

        month = self.first_month
        folder = Path(tempfile.mkdtemp(prefix="scale-archive-"))
        reset_peak_rss()
        before = peak_rss_mb()
        t0 = time.perf_counter()
        result = archive_month(month=month, directory=folder, drop=True)
        seconds = time.perf_counter() - t0
        peak = peak_rss_mb()
        size = sum(p.stat().st_size for p in (folder / f"{month:%Y-%m}").iterdir())
        t0 = time.perf_counter()
        restore_month(month=month, directory=folder)
        restore_seconds = time.perf_counter() - t0
        subprocess.run(["rm", "-rf", str(folder)], check=True)
        return {
            "archive_month_messages": result.rows["gateway_message"],
            "archive_month_s": round(seconds, 2),
            "archive_peak_rss_mb": round(peak, 1),
            "archive_rss_before_mb": round(before, 1),
            "archive_bytes": size,
            "archive_matches_daily_counts": result.matches,
            "restore_month_s": round(restore_seconds, 2),
        }


class ConvertBench(Bench):
    """`manage.py partition_tables` on an unpartitioned message table of N rows while intake runs."""

    def unpartition(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE gateway_message_plain (LIKE gateway_message INCLUDING ALL)")
            cursor.execute(
                "CREATE UNIQUE INDEX message_client_ref_unique_plain ON gateway_message_plain (client_id, client_ref) "
                "WHERE client_ref <> ''"
            )
            cursor.execute("DROP TABLE gateway_message")
            cursor.execute("ALTER TABLE gateway_message_plain RENAME TO gateway_message")
            cursor.execute("ALTER INDEX message_client_ref_unique_plain RENAME TO message_client_ref_unique")

    def run(self, rows: int) -> dict:
        import threading

        from django.core.management import call_command
        from django.db import connection

        from gateway import partitions
        from gateway.services.intake import messages_submit

        self.unpartition()
        seeded = self.seed_to(rows)
        swaps = []
        real_swap = partitions.convert_swap

        def timed_swap(**kw):
            t0 = time.perf_counter()
            real_swap(**kw)
            swaps.append(time.perf_counter() - t0)

        partitions.convert_swap = timed_swap
        stop, done = threading.Event(), []

        def intake():
            rng = random.Random(1)
            n = 0
            while not stop.is_set():
                items = [
                    {
                        "mobile": f"{rng.choice(CMCC)}{rng.randrange(10**8):08d}",
                        "content": "您好",
                        "client_ref": f"c-{n}-{k}",
                    }
                    for k in range(1000)
                ]
                t0 = time.perf_counter()
                assert all(o.accepted for o in messages_submit(client=self.client, raw_items=items))
                done.append(time.perf_counter() - t0)
                n += 1
            connection.close()

        thread = threading.Thread(target=intake)
        thread.start()
        t0 = time.perf_counter()
        try:
            call_command("partition_tables", "--table", "gateway_message", "--batch", "5000", "--pause", "0")
        finally:
            stop.set()
            thread.join()
            partitions.convert_swap = real_swap
        seconds = time.perf_counter() - t0
        return {
            "convert_rows": rows,
            "seed_s": round(seeded),
            "convert_s": round(seconds, 1),
            "convert_rows_per_s": round(rows / seconds),
            "swap_ms": round(swaps[0] * 1000, 1) if swaps else None,
            "intake_batches_during": len(done),
            "intake_batch_ms_median_during": round(statistics.median(done) * 1000, 1) if done else None,
            "partitioned_after": partitions.is_partitioned_now(partitions.MESSAGES),
        }


# Figures that grow with the data (a month's rows, the table size) are extrapolated along the line through
# the two points; the others are page and lookup latencies, shown at both points.
GROWING = ("msgid_month_rows", "msgid_month_s", "archive_month_messages", "archive_month_s", "archive_bytes",
           "restore_month_s", "message_tables_bytes")  # fmt: skip


def extrapolate(a: dict, b: dict, target: int) -> dict:
    """y(N) = y1 + (y2 - y1) / (N2 - N1) × (N - N1) for each figure in GROWING."""
    n1, n2 = a["older_messages"], b["older_messages"]
    return {key: round(a[key] + (b[key] - a[key]) / (n2 - n1) * (target - n1), 2) for key in GROWING}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sms_bench_scale")
    parser.add_argument("--points", default="1500000,5000000", help="older messages at each point (two)")
    parser.add_argument("--batches", type=int, default=30, help="intake batches of 1,000 per point")
    parser.add_argument("--target", type=int, default=50_000_000)
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument(
        "--convert", type=int, default=0, help="instead: time partition_tables on an unpartitioned table of N rows"
    )
    args = parser.parse_args()
    points = [int(p) for p in args.points.split(",")]

    os.environ["DATABASE_URL"] = f"{PG}/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sms_contract.settings.test")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    psql(f"DROP DATABASE IF EXISTS {args.db}")
    psql(f"CREATE DATABASE {args.db}")
    for command in (["migrate", "-v", "0"], ["load_contract"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env={**os.environ}, check=True)
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the admin pages through the test client
    bench = ConvertBench(args) if args.convert else Bench(args)
    bench.setup()
    if args.convert:
        try:
            print(json.dumps(bench.run(args.convert)), flush=True)
        finally:
            finish(args)
        return
    results = []
    try:
        for point in points:
            seconds = bench.seed_to(point)
            print(f"seeded to {point:,} older messages in {seconds:.0f} s", flush=True)
            result = bench.measure()
            result["seed_s"] = round(seconds)
            results.append(result)
            print(json.dumps(result, ensure_ascii=False), flush=True)
        if len(results) == 2:
            print("extrapolated to", f"{args.target:,}", json.dumps(extrapolate(*results, args.target)), flush=True)
    finally:
        finish(args)


def finish(args) -> None:
    """Close the connections and drop the benchmark database (unless --keep)."""
    from django.db import connections

    connections.close_all()
    if not args.keep:
        psql(f"DROP DATABASE IF EXISTS {args.db}")


if __name__ == "__main__":
    main()
