"""Monthly range partitions of the traffic tables on PostgreSQL (ADR 0115). SQLite: nothing here applies.

Each table in `TABLES` is partitioned by month (Asia/Shanghai boundaries) on one timestamp column: messages
by `created_at`, segments by `submitted_at`, unmatched status reports by `received_at`. A partition is named
`<table>_pYYYYMM`; `<table>_default` catches rows outside every month partition (it stays empty while the
partitions are created ahead; `partitions_ensure` moves whatever it holds into the month it creates).

On a partitioned table the primary key must include the partition key, so the database key is (id, key); the
Django models keep `id` as their primary key (ids come from one identity sequence and stay unique). A unique
index that does not include the key cannot span partitions: it is kept on every partition instead (the
default partition holds the template; see `_local_index_defs`), which makes `(client, client_ref)` unique
within a month; the intake closes the gap at a month boundary (`client_ref_guard`).

Converting an existing table runs while the system works (`convert_*`, `manage.py partition_tables`): a
partitioned shadow `<table>_new` is created, a row trigger on the old table mirrors every write into it, the
old rows are copied in bounded batches (each batch locks its rows FOR SHARE for the few milliseconds of the
copy), and one short transaction swaps the names. The old table stays as `<table>_unpartitioned` until
`--drop-old`. Empty and small tables (fresh installs, tests) are converted by the migration itself.
"""

# SQL here names tables and columns from the `Table` constants and catalog reads, never from input; every
# value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Table:
    """A table partitioned by month on `key` (a timestamp column that never changes once written)."""

    name: str
    key: str

    @property
    def shadow(self) -> str:
        return f"{self.name}_new"

    @property
    def unpartitioned(self) -> str:
        return f"{self.name}_unpartitioned"

    @property
    def default(self) -> str:
        return f"{self.name}_default"

    def partition(self, month: date) -> str:
        return f"{self.name}_p{month:%Y%m}"


MESSAGES = Table("gateway_message", "created_at")
SEGMENTS = Table("gateway_messagesegment", "submitted_at")
UNMATCHED_REPORTS = Table("gateway_unmatchedreport", "received_at")
# The traffic tables, in the order they are converted and archived. A new table (e.g. the callback outbox by
# `created_at`) joins with one line here and a migration calling `convert_small_or_defer` for it.
TABLES: tuple[Table, ...] = (MESSAGES, SEGMENTS, UNMATCHED_REPORTS)


class PartitionError(Exception):
    """A partition operation that cannot go on; the message says what to do."""


# ----------------------------------------------------------------------------- months


def month_of(moment: datetime | date) -> date:
    """The first day of the month (Asia/Shanghai) a moment belongs to."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(SHANGHAI).date()
    return moment.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a month as aware datetimes at Asia/Shanghai midnight."""
    start = datetime(month.year, month.month, 1, tzinfo=SHANGHAI)
    nxt = add_months(month, 1)
    return start, datetime(nxt.year, nxt.month, 1, tzinfo=SHANGHAI)


def months_between(first: date, last: date) -> Iterator[date]:
    month = month_of(first)
    while month <= last:
        yield month
        month = add_months(month, 1)


def parse_month(text: str) -> date:
    """`YYYY-MM` → the first of that month; ValueError with the expected form otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"month must be YYYY-MM, got {text!r}")
    return date(int(match[1]), int(match[2]), 1)


# ----------------------------------------------------------------------------- catalog


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _exists(cursor, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return cursor.fetchone()[0]


def is_partitioned(cursor, name: str) -> bool:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [name])
    return cursor.fetchone()[0]


def month_partitions(cursor, table: Table) -> dict[date, str]:
    """The month partitions attached to `table`, by month."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
        [table.name],
    )
    found = {}
    for (name,) in cursor.fetchall():
        match = re.fullmatch(re.escape(table.name) + r"_p(\d{4})(\d{2})", name)
        if match:
            found[date(int(match[1]), int(match[2]), 1)] = name
    return dict(sorted(found.items()))


def table_columns(cursor, name: str) -> list[str]:
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
        [name],
    )
    return [row[0] for row in cursor.fetchall()]


def _indexes(cursor, name: str) -> list[tuple[str, str, bool, bool, list[str]]]:
    """(index name, definition, unique, primary, columns) of the indexes of a table."""
    cursor.execute(
        """SELECT ic.relname, pg_get_indexdef(x.indexrelid), x.indisunique, x.indisprimary,
                  ARRAY(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey))
           FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
           WHERE x.indrelid = to_regclass(%s) ORDER BY ic.relname""",
        [name],
    )
    return [(n, d, u, p, list(c)) for n, d, u, p, c in cursor.fetchall()]


def _storage(cursor, name: str) -> str:
    """` WITH (fillfactor=85)` for a table with storage parameters (partitions take them one by one)."""
    cursor.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)", [name])
    row = cursor.fetchone()
    return f" WITH ({', '.join(row[0])})" if row and row[0] else ""


def _retarget(definition: str, old_name: str, new_index: str, new_table: str) -> str:
    """An index definition from pg_get_indexdef moved to another index name and table."""
    definition = re.sub(r"INDEX \S+ ON ", f"INDEX {new_index} ON ", definition, count=1)
    return re.sub(r" ON (ONLY )?(\S+\.)?" + re.escape(old_name) + " ", f" ON {new_table} ", definition, count=1)


def _local_index_defs(cursor, table: Table) -> list[tuple[str, str]]:
    """(base name, definition on the default partition) of the per-partition unique indexes: the indexes of
    the default partition not attached to an index of the parent."""
    cursor.execute(
        """SELECT ic.relname, pg_get_indexdef(x.indexrelid)
           FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
           WHERE x.indrelid = to_regclass(%s)
             AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = x.indexrelid)
           ORDER BY ic.relname""",
        [table.default],
    )
    return [(name.removesuffix("_default"), definition) for name, definition in cursor.fetchall()]


# ----------------------------------------------------------------------------- partitions ahead


def create_month(cursor, table: Table, month: date, fill: Callable[[str], None] | None = None) -> int:
    """Create and attach the partition of `month` (rows of that month waiting in the default partition are
    moved into it first; `fill(name)` may load rows into the new table before it is attached, as a restore
    does). Returns how many rows were moved from the default partition."""
    with transaction.atomic():
        return _create_month(cursor, table, month, fill)


def _create_month(cursor, table: Table, month: date, fill: Callable[[str], None] | None) -> int:
    name = table.partition(month)
    start, end = month_bounds(month)
    storage = _storage(cursor, table.default)
    cursor.execute(f"CREATE TABLE {name} (LIKE {table.name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS){storage}")
    if fill:
        fill(name)
    moved = 0
    if _exists(cursor, table.default):
        cursor.execute(f"LOCK TABLE {table.default} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {table.default} WHERE {table.key} >= %s AND {table.key} < %s RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved",
            [start, end],
        )
        moved = cursor.rowcount
    # The CHECK lets ATTACH skip its validation scan; it is dropped once attached.
    cursor.execute(
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_bounds CHECK ({table.key} IS NOT NULL AND "
        f"{table.key} >= %s AND {table.key} < %s)",
        [start, end],
    )
    cursor.execute(f"ALTER TABLE {table.name} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end])
    cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bounds")
    if _exists(cursor, table.default):
        for base, definition in _local_index_defs(cursor, table):
            cursor.execute(_retarget(definition, table.default, f"{base}_{month:%Y%m}", name))
    return moved


def partitions_ensure(*, now: datetime, ahead: int, tables: tuple[Table, ...] = TABLES) -> list[str]:
    """Create the month partitions from this month (Asia/Shanghai) to `ahead` months after it, for every
    partitioned table. Idempotent; returns the names created. Tables not (yet) partitioned are skipped."""
    if not is_postgresql():
        return []
    created = []
    this_month = month_of(now)
    with connection.cursor() as cursor:
        for table in tables:
            if not is_partitioned(cursor, table.name):
                continue
            have = month_partitions(cursor, table)
            for month in months_between(this_month, add_months(this_month, ahead)):
                if month in have:
                    continue
                create_month(cursor, table, month)
                created.append(table.partition(month))
    return created


def default_rows(table: Table) -> int:
    """Rows in the default partition (0 while partitions are created ahead); -1 when not partitioned."""
    with connection.cursor() as cursor:
        if not is_postgresql() or not _exists(cursor, table.default):
            return -1
        cursor.execute(f"SELECT count(*) FROM {table.default}")
        return cursor.fetchone()[0]


# ----------------------------------------------------------------------------- conversion


def _incoming_foreign_keys(cursor, name: str) -> list[str]:
    cursor.execute(
        "SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint "
        "WHERE contype = 'f' AND confrelid = to_regclass(%s) AND conrelid <> confrelid",
        [name],
    )
    return [row[0] for row in cursor.fetchall()]


def _mirror_sql(table: Table) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {table.name}_mirror() RETURNS trigger LANGUAGE plpgsql AS $mirror$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM {table.shadow} WHERE id = OLD.id AND {table.key} = OLD.{table.key};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO {table.shadow} SELECT (NEW).*;
    END IF;
    RETURN NULL;
END
$mirror$;
CREATE TRIGGER {table.name}_mirror AFTER INSERT OR UPDATE OR DELETE ON {table.name}
    FOR EACH ROW EXECUTE FUNCTION {table.name}_mirror();
"""


def convert_prepare(*, table: Table, now: datetime, ahead: int) -> int:
    """Create the partitioned shadow of `table` (months from its oldest row to `ahead` months after now, and
    the default partition, with every index and check of the old table) and start mirroring writes into it.
    Returns the highest id to copy. Idempotent: a shadow already there is kept."""
    with transaction.atomic(), connection.cursor() as cursor:
        if is_partitioned(cursor, table.name):
            raise PartitionError(f"{table.name} is already partitioned")
        if _exists(cursor, table.shadow):
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table.name}")
            return cursor.fetchone()[0]
        incoming = _incoming_foreign_keys(cursor, table.name)
        if incoming:
            raise PartitionError(
                f"foreign keys reference {table.name} ({', '.join(incoming)}): a partitioned table's key is "
                f"(id, {table.key}); declare them db_constraint=False (ADR 0115) and migrate first"
            )
        # The oldest row before the lock (the key may have no index: a scan); rows written meanwhile are new.
        cursor.execute(f"SELECT min({table.key}) FROM {table.name}")
        oldest = cursor.fetchone()[0]
        # Writers wait for the few statements below, so no row is written between the snapshot of max(id)
        # and the trigger.
        cursor.execute(f"LOCK TABLE {table.name} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table.name}")
        upto = cursor.fetchone()[0]
        cursor.execute(
            f"CREATE TABLE {table.shadow} (LIKE {table.name} INCLUDING DEFAULTS INCLUDING IDENTITY "
            f"INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING STORAGE) PARTITION BY RANGE ({table.key})"
        )
        cursor.execute(f"ALTER TABLE {table.shadow} ADD CONSTRAINT {table.shadow}_pkey PRIMARY KEY (id, {table.key})")
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND conrelid = "
            "to_regclass(%s)",
            [table.name],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {table.shadow} ADD CONSTRAINT {name} {definition}")
        storage = _storage(cursor, table.name)  # the message table's fillfactor (migration 0005)
        cursor.execute(f"CREATE TABLE {table.default} PARTITION OF {table.shadow} DEFAULT{storage}")
        for name, definition, unique, primary, columns in _indexes(cursor, table.name):
            if primary:
                continue
            if unique and table.key not in columns:
                # Cannot span partitions: one per partition, the default partition's being the template.
                cursor.execute(_retarget(definition, table.name, f"{name}_default", table.default))
            else:
                cursor.execute(_retarget(definition, table.name, f"{name}_p", table.shadow))
        # Partitions are created on the shadow, under the final table's name.
        first = month_of(oldest) if oldest else month_of(now)
        for month in months_between(first, add_months(month_of(now), ahead)):
            cursor.execute(
                f"CREATE TABLE {table.partition(month)} PARTITION OF {table.shadow} FOR VALUES FROM (%s) TO (%s)"
                + storage,
                list(month_bounds(month)),
            )
            for base, definition in _local_index_defs(cursor, table):
                cursor.execute(_retarget(definition, table.default, f"{base}_{month:%Y%m}", table.partition(month)))
        cursor.execute(_mirror_sql(table))
        return upto


def convert_copy(
    *, table: Table, upto: int, batch: int = 5000, pause: Callable[[], None] | None = None, progress=None
) -> int:
    """Copy the old rows with id ≤ `upto` into the shadow, `batch` rows per transaction (resuming after the
    highest id already copied). Rows written meanwhile are mirrored by the trigger. Returns rows copied."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table.shadow} WHERE id <= %s", [upto])
        after = cursor.fetchone()[0]
    copied = 0
    while after < upto:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"WITH picked AS (SELECT * FROM ONLY {table.name} WHERE id > %s AND id <= %s ORDER BY id LIMIT %s "
                f"FOR SHARE), ins AS (INSERT INTO {table.shadow} SELECT * FROM picked ON CONFLICT DO NOTHING) "
                f"SELECT max(id), count(*) FROM picked",
                [after, upto, batch],
            )
            last, count = cursor.fetchone()
        if not count:
            break
        after, copied = last, copied + count
        if progress:
            progress(table, after, upto, copied)
        if pause:
            pause()
    return copied


def convert_verify(*, table: Table) -> tuple[int, int]:
    """(rows in the old table, rows in the shadow): equal once the copy is done."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT (SELECT count(*) FROM {table.name}), (SELECT count(*) FROM {table.shadow})")
        return cursor.fetchone()


def convert_swap(*, table: Table, drop_old: bool = False) -> None:
    """One short transaction: stop mirroring, rename the old table (and its indexes) out of the way and the
    shadow (and its indexes) into place, continue the id sequence. Refuses if the copy is not complete."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table.name}, {table.shadow} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(
            f"SELECT (SELECT coalesce(max(id), 0) FROM ONLY {table.name}), "
            f"(SELECT coalesce(max(id), 0) FROM {table.shadow})"
        )
        old_max, new_max = cursor.fetchone()
        if old_max != new_max:
            raise PartitionError(f"{table.name}: copy not complete (old max id {old_max}, shadow {new_max})")
        cursor.execute(f"DROP TRIGGER {table.name}_mirror ON {table.name}")
        cursor.execute(f"DROP FUNCTION {table.name}_mirror()")
        cursor.execute("SELECT last_value, is_called FROM " + _sequence(cursor, table.name))
        last_value, is_called = cursor.fetchone()
        indexes = _indexes(cursor, table.name)
        cursor.execute(f"ALTER TABLE {table.name} RENAME TO {table.unpartitioned}")
        for name, _definition, _unique, primary, _columns in indexes:
            if primary:
                cursor.execute(f"ALTER TABLE {table.unpartitioned} RENAME CONSTRAINT {name} TO {name}_old")
            else:
                cursor.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
        cursor.execute(f"ALTER TABLE {table.shadow} RENAME TO {table.name}")
        cursor.execute(f"ALTER TABLE {table.name} RENAME CONSTRAINT {table.shadow}_pkey TO {table.name}_pkey")
        for name, _definition, _unique, primary, _columns in indexes:
            if not primary and _exists(cursor, f"{name}_p"):
                cursor.execute(f"ALTER INDEX {name}_p RENAME TO {name}")
        cursor.execute(
            f"SELECT setval('{_sequence(cursor, table.name)}', greatest(%s, %s, 1), %s)",
            [last_value, new_max, bool(is_called or new_max)],
        )
        if drop_old:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no DROP with deferred FK checks pending
            cursor.execute(f"DROP TABLE {table.unpartitioned}")


def _sequence(cursor, name: str) -> str:
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [name])
    return cursor.fetchone()[0]


def drop_unpartitioned(*, table: Table) -> bool:
    with connection.cursor() as cursor:
        if not _exists(cursor, table.unpartitioned):
            return False
        cursor.execute(f"DROP TABLE {table.unpartitioned}")
        return True


def convert_small_or_defer(*, table: Table, now: datetime, ahead: int, inline_rows: int) -> bool:
    """For a migration: convert `table` at once when it holds at most `inline_rows` rows (fresh installs and
    tests: none); otherwise leave it as it is (everything works unpartitioned) for `manage.py
    partition_tables`. Returns whether it was converted."""
    if not is_postgresql():
        return False
    with connection.cursor() as cursor:
        if is_partitioned(cursor, table.name):
            return False
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table.name} LIMIT %s) x", [inline_rows + 1])
        if cursor.fetchone()[0] > inline_rows:
            return False
    upto = convert_prepare(table=table, now=now, ahead=ahead)
    convert_copy(table=table, upto=upto, batch=max(inline_rows, 1))
    convert_swap(table=table, drop_old=True)
    return True


def is_partitioned_now(table: Table) -> bool:
    if not is_postgresql():
        return False
    with connection.cursor() as cursor:
        return is_partitioned(cursor, table.name)


# ----------------------------------------------------------------------------- client_ref across months

# Requests this close to a month boundary (by their `now`) check their client_refs under a per-client lock.
BOUNDARY_GUARD = timedelta(minutes=10)
_CLIENT_REF_LOCK_CLASS = 0x1216


def client_ref_guard(*, client_id: int, refs: set[str], now: datetime) -> None:
    """Inside the intake's INSERT transaction: `(client, client_ref)` is unique per month partition only, so
    two requests with one client_ref on either side of a month boundary could both be stored. Near a
    boundary the request takes a per-client advisory lock (held to COMMIT) and looks for its refs in every
    partition; a hit raises IntegrityError, which the intake answers as it answers a unique violation (with
    the stored message). Elsewhere in the month this costs nothing."""
    if not refs or not is_postgresql():
        return
    start, end = month_bounds(month_of(now))
    if now - start >= BOUNDARY_GUARD and end - now >= BOUNDARY_GUARD:
        return
    with connection.cursor() as cursor:
        if not is_partitioned(cursor, MESSAGES.name):
            return
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_CLIENT_REF_LOCK_CLASS, client_id])
        cursor.execute(
            "SELECT 1 FROM gateway_message WHERE client_id = %s AND client_ref = ANY(%s) AND client_ref <> '' LIMIT 1",
            [client_id, sorted(refs)],
        )
        if cursor.fetchone():
            raise IntegrityError("client_ref already stored in another month's partition")


def partitions_problems(*, now: datetime, tables: tuple[Table, ...] = TABLES) -> list[str]:
    """What `manage.py health partitions` reports: next month's partition missing, rows parked in a default
    partition. Empty when all is well (and on SQLite, and for tables not partitioned yet)."""
    if not is_postgresql():
        return []
    problems = []
    next_month = add_months(month_of(now), 1)
    with connection.cursor() as cursor:
        for table in tables:
            if not is_partitioned(cursor, table.name):
                continue
            if next_month not in month_partitions(cursor, table):
                problems.append(f"{table.partition(next_month)} missing (beat's partitions_ensure_task not running?)")
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table.default} LIMIT 1000) x")
            parked = cursor.fetchone()[0]
            if parked:
                problems.append(f"{table.default} holds {parked}{'+' if parked == 1000 else ''} rows")
    return problems
