"""Retention of the traffic tables (PostgreSQL; ADR 0117): a month of messages, segments and unmatched
status reports is kept MESSAGE_RETENTION_MONTHS after it ends (default: the contract's service term plus the
confidentiality years of 7.2), then archived to compressed files with a checksum and a manifest, and its
partitions are dropped. One command restores an archived month for an inquiry.

Only the month partitions of `gateway.partitions.TABLES` are ever dropped: daily counts, statements, bills,
assessments and the audit trail live in other tables and are never touched.

A month's folder under ARCHIVE_DIR (`YYYY-MM/`) holds one `<table>.copy.gz` per table (PostgreSQL COPY text
format, gzip) and `manifest.json`: per table its partition, file, SHA-256 of the compressed file, bytes,
rows, columns and rows per day; per day the messages accepted by the carrier according to the archived
segments next to `DailyCount.accepted_messages` of that day, and whether every day matches.
"""

# SQL here names partitions built from `Table` constants and validated months; values are parameters.
# ruff: noqa: S608

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from contracts.models import Contract
from gateway import partitions
from gateway.models import DailyCount
from gateway.partitions import SEGMENTS, TABLES, Table, add_months, month_bounds, month_of

MANIFEST = "manifest.json"
FORMAT = "PostgreSQL COPY text format, gzip"
COMPRESSLEVEL = 3  # about 4x on message rows, fast enough for a month of 4 million in well under 2 minutes
RESTORED_COMMENT = "restored from archive"


class RetentionError(Exception):
    """A retention step that cannot go on; nothing was dropped. The message says why and what to do."""


@dataclass(frozen=True)
class ArchiveResult:
    month: date
    folder: Path
    rows: dict[str, int]
    matches: bool
    dropped: bool


def retention_months(contract=None) -> int:
    """MESSAGE_RETENTION_MONTHS, or (0) the contract's service months plus 12 × its confidentiality years."""
    if settings.MESSAGE_RETENTION_MONTHS:
        return settings.MESSAGE_RETENTION_MONTHS
    if contract is None:
        contract = Contract.objects.order_by("signed_on").first()
    if contract is None:
        return 36
    return contract.service_months + 12 * contract.confidentiality_years


def months_due(*, now: datetime, keep_months: int) -> list[date]:
    """Month partitions (of any traffic table) whose month ended `keep_months` or more months before now's
    month began, oldest first; months restored for an inquiry are left alone."""
    limit = add_months(month_of(now), -keep_months)
    due: set[date] = set()
    with connection.cursor() as cursor:
        for table in TABLES:
            for month, name in partitions.month_partitions(cursor, table).items():
                if month < limit and not _is_restored(cursor, name):
                    due.add(month)
    return sorted(due)


def _is_restored(cursor, name: str) -> bool:
    cursor.execute("SELECT coalesce(obj_description(to_regclass(%s), 'pg_class'), '')", [name])
    return cursor.fetchone()[0].startswith(RESTORED_COMMENT)


class _Sink:
    """A file the compressed stream goes to, hashed (SHA-256) and counted on the way."""

    def __init__(self, raw):
        self.raw, self.sha256, self.bytes = raw, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


class _RowCounter:
    """What COPY writes, compressed on; counts the rows (one line each in COPY text format)."""

    def __init__(self, gz):
        self.gz, self.rows = gz, 0

    def write(self, data) -> int:
        if isinstance(data, str):
            data = data.encode()
        self.rows += data.count(b"\n")
        return self.gz.write(data)


def _month_folder(directory: Path, month: date) -> Path:
    return Path(directory) / f"{month:%Y-%m}"


def _accepted_per_day(cursor, partition: str) -> dict[str, int]:
    """Messages the carrier accepted per day (Asia/Shanghai) by the archived segments: a message whose
    segments of that day all had SUBMIT_RESP result 0, as the sender counts `accepted_messages`."""
    cursor.execute(
        f"""SELECT day, count(*) FROM (
                SELECT message_id, (submitted_at AT TIME ZONE 'Asia/Shanghai')::date AS day
                FROM {partition} GROUP BY 1, 2 HAVING bool_and(result = 0)
            ) accepted GROUP BY day ORDER BY day"""
    )
    return {day.isoformat(): n for day, n in cursor.fetchall()}


def _rows_per_day(cursor, partition: str, key: str) -> dict[str, int]:
    cursor.execute(
        f"SELECT ({key} AT TIME ZONE 'Asia/Shanghai')::date, count(*) FROM {partition} GROUP BY 1 ORDER BY 1"
    )
    return {day.isoformat(): n for day, n in cursor.fetchall()}


def _daily_counts(month: date) -> dict[str, int]:
    start, end = month_bounds(month)
    rows = (
        DailyCount.objects.filter(day__gte=start.date(), day__lt=end.date())
        .values("day")
        .annotate(n=Sum("accepted_messages"))
        .order_by("day")
    )
    return {row["day"].isoformat(): row["n"] or 0 for row in rows}


def archive_month(*, month: date, directory: Path, drop: bool, force: bool = False) -> ArchiveResult:
    """Write the month's partitions to `directory/YYYY-MM/` with their manifest; then, if `drop` and the
    per-day counts match the daily counts (or `force`), drop the partitions. Re-running for a month whose
    files are there already (a restored month) checks the rows against the manifest and only drops."""
    if not partitions.is_postgresql():
        raise RetentionError("archiving partitions needs PostgreSQL")
    folder = _month_folder(directory, month)
    manifest_path = folder / MANIFEST
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        rows = {t["table"]: t["rows"] for t in manifest["tables"]}
        if drop:
            _drop(month, rows)
        return ArchiveResult(month, folder, rows, manifest["matches"], drop)
    with transaction.atomic(), connection.cursor() as cursor:
        found = {t: partitions.month_partitions(cursor, t).get(month) for t in TABLES}
        present: dict[Table, str] = {t: name for t, name in found.items() if name}
        if not present:
            raise RetentionError(f"no partition of {month:%Y-%m} to archive")
        # Nothing may change a partition while it is read (writes to old months would be a bug anyway).
        cursor.execute(f"LOCK TABLE {', '.join(present.values())} IN SHARE MODE")
        folder.mkdir(parents=True, exist_ok=True)
        tables = []
        for table, name in present.items():
            tables.append(_archive_table(cursor, table, name, folder))
        accepted = _accepted_per_day(cursor, present[SEGMENTS]) if SEGMENTS in present else {}
    counted = _daily_counts(month)
    days = sorted(set(accepted) | set(counted))
    per_day = {day: {"accepted_archived": accepted.get(day, 0), "daily_count": counted.get(day, 0)} for day in days}
    matches = all(v["accepted_archived"] == v["daily_count"] for v in per_day.values())
    manifest = {
        "month": f"{month:%Y-%m}",
        "archived_at": timezone.now().isoformat(),
        "format": FORMAT,
        "tables": tables,
        "accepted_messages_per_day": per_day,
        "matches": matches,
    }
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    os.replace(tmp, manifest_path)
    rows = {t["table"]: t["rows"] for t in tables}
    if drop:
        if not matches and not force:
            raise RetentionError(
                f"{month:%Y-%m} archived to {folder}, not dropped: the accepted messages per day differ from the "
                f"daily counts (see {MANIFEST}); check, then run again with --force"
            )
        _drop(month, rows)
    return ArchiveResult(month, folder, rows, matches, drop)


def _archive_table(cursor, table: Table, name: str, folder: Path) -> dict:
    path = folder / f"{table.name}.copy.gz"
    columns = partitions.table_columns(cursor, name)
    with open(path, "wb") as raw:
        sink = _Sink(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=sink, compresslevel=COMPRESSLEVEL, mtime=0) as gz:
            counter = _RowCounter(gz)
            cursor.cursor.copy_expert(f"COPY (SELECT * FROM {name} ORDER BY id) TO STDOUT", counter)
        raw.flush()
        os.fsync(raw.fileno())
    return {
        "table": table.name,
        "partition": name,
        "file": path.name,
        "sha256": sink.sha256.hexdigest(),
        "bytes": sink.bytes,
        "rows": counter.rows,
        "columns": columns,
        "rows_per_day": _rows_per_day(cursor, name, table.key),
    }


def _drop(month: date, rows: dict[str, int]) -> None:
    """Drop the month's partitions, each after checking it still holds the archived number of rows."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '10s'")
        for table in TABLES:
            name = partitions.month_partitions(cursor, table).get(month)
            if not name:
                continue
            cursor.execute(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")
            cursor.execute(f"SELECT count(*) FROM {name}")
            now_rows = cursor.fetchone()[0]
            if now_rows != rows.get(table.name, -1):
                raise RetentionError(
                    f"{name} holds {now_rows} rows, the archive {rows.get(table.name)}: not dropped; archive again"
                )
            cursor.execute(f"DROP TABLE {name}")


def archive_due(*, now: datetime, directory: Path, keep_months: int | None = None) -> list[ArchiveResult]:
    """Archive and drop every month past retention, oldest first; stops at the first that cannot be dropped."""
    keep = retention_months() if keep_months is None else keep_months
    return [archive_month(month=m, directory=directory, drop=True) for m in months_due(now=now, keep_months=keep)]


def restore_month(*, month: date, directory: Path) -> dict[str, int]:
    """Load an archived month back as partitions (checksums checked first); returns rows per table. The
    partitions are marked restored, so retention leaves them until `archive_month --drop` for that month."""
    if not partitions.is_postgresql():
        raise RetentionError("restoring partitions needs PostgreSQL")
    folder = _month_folder(directory, month)
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise RetentionError(f"no archive of {month:%Y-%m} in {directory} ({manifest_path} missing)")
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["tables"]:
        digest = hashlib.sha256()
        with open(folder / entry["file"], "rb") as f:
            for block in iter(functools.partial(f.read, 1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != entry["sha256"]:
            raise RetentionError(f"{folder / entry['file']}: checksum differs from the manifest; nothing restored")
    by_name = {t.name: t for t in TABLES}
    restored = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for entry in manifest["tables"]:
            table = by_name[entry["table"]]
            if not partitions.is_partitioned(cursor, table.name):
                raise RetentionError(f"{table.name} is not partitioned; run manage.py partition_tables first")
            if month in partitions.month_partitions(cursor, table):
                raise RetentionError(f"{table.partition(month)} exists already; nothing restored")
            columns = ", ".join(entry["columns"])

            def fill(name, entry=entry, columns=columns):
                with gzip.open(folder / entry["file"], "rb") as data:
                    cursor.cursor.copy_expert(f"COPY {name} ({columns}) FROM STDIN", data)

            partitions.create_month(cursor, table, month, fill=fill)
            name = table.partition(month)
            cursor.execute(f"COMMENT ON TABLE {name} IS %s", [f"{RESTORED_COMMENT} {timezone.now():%Y-%m-%d}"])
            cursor.execute(f"SELECT count(*) FROM {name}")
            restored[table.name] = cursor.fetchone()[0]
            if restored[table.name] != entry["rows"]:
                raise RetentionError(f"{name}: {restored[table.name]} rows loaded, the manifest says {entry['rows']}")
    return restored
