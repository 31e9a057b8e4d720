"""manage.py partition_tables: partition the traffic tables of an existing PostgreSQL database online."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gateway import partitions


class Command(BaseCommand):
    help = (
        "Partition the message tables by month (PostgreSQL) while the system runs: a partitioned shadow "
        "mirrors every write through a trigger, existing rows are copied --batch rows per transaction, then the "
        "names are swapped in one short transaction. Resumable; the old table is kept as "
        "<table>_unpartitioned until --drop-old. Without a conversion to do, creates the partitions ahead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=5000, help="rows per transaction (default 5000)")
        parser.add_argument("--pause", type=float, default=0.05, help="seconds between batches (default 0.05)")
        parser.add_argument("--table", action="append", default=None, help="only this table (repeatable)")
        parser.add_argument("--drop-old", action="store_true", help="drop the <table>_unpartitioned copies")

    def handle(self, *args, batch, pause, table, drop_old, **options):
        if not partitions.is_postgresql():
            raise CommandError("partition_tables: PostgreSQL only (SQLite tables are never partitioned)")
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        known = {t.name: t for t in partitions.TABLES}
        unknown = sorted(set(table or ()) - set(known))
        if unknown:
            raise CommandError(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(known)}")
        chosen = [known[name] for name in table] if table else list(partitions.TABLES)
        for t in chosen:
            if drop_old:
                if partitions.drop_unpartitioned(table=t):
                    self.stdout.write(f"{t.name}: dropped {t.unpartitioned}")
                continue
            if partitions.is_partitioned_now(t):
                self.stdout.write(f"{t.name}: partitioned")
                continue
            self._convert(t, batch, pause)
        if not drop_old:
            created = partitions.partitions_ensure(
                now=timezone.now(), ahead=settings.PARTITION_AHEAD_MONTHS, tables=tuple(chosen)
            )
            for name in created:
                self.stdout.write(f"created {name}")

    def _convert(self, table, batch, pause):
        started = time.monotonic()
        try:
            upto = partitions.convert_prepare(table=table, now=timezone.now(), ahead=settings.PARTITION_AHEAD_MONTHS)
        except partitions.PartitionError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{table.name}: mirroring writes into {table.shadow}; copying ids up to {upto}")

        def progress(t, after, upto, copied):
            if copied % (batch * 20) < batch:
                self.stdout.write(f"{t.name}: {copied} rows copied (id {after} of {upto})")

        copied = partitions.convert_copy(
            table=table, upto=upto, batch=batch, pause=(lambda: time.sleep(pause)) if pause else None, progress=progress
        )
        old, new = partitions.convert_verify(table=table)
        if old != new:
            raise CommandError(f"{table.name}: {old} rows in the table, {new} in {table.shadow}; run again")
        try:
            partitions.convert_swap(table=table)
        except partitions.PartitionError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{table.name}: partitioned ({copied} rows copied in {time.monotonic() - started:.1f} s); "
            f"the old table is {table.unpartitioned} until --drop-old"
        )
