"""manage.py archive_month: archive one month of the traffic tables (files + manifest) and drop it."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gateway.partitions import parse_month
from gateway.retention import RetentionError, archive_month


class Command(BaseCommand):
    help = (
        "Write the month's partitions of messages, segments and unmatched reports to ARCHIVE_DIR/YYYY-MM/ "
        "(gzip'd COPY files, SHA-256 checksums, manifest.json with counts per day next to the daily counts); "
        "with --drop, then drop them if the counts match (--force drops anyway). PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="YYYY-MM")
        parser.add_argument("--dir", type=Path, default=None, help="default: ARCHIVE_DIR")
        parser.add_argument("--drop", action="store_true", help="drop the partitions once archived")
        parser.add_argument("--force", action="store_true", help="drop even if the per-day counts differ")

    def handle(self, *args, month, dir, drop, force, **options):
        try:
            result = archive_month(
                month=parse_month(month), directory=dir or Path(settings.ARCHIVE_DIR), drop=drop, force=force
            )
        except (ValueError, RetentionError) as exc:
            raise CommandError(str(exc)) from None
        rows = ", ".join(f"{table} {n}" for table, n in result.rows.items())
        state = "dropped" if result.dropped else "kept"
        match = "match" if result.matches else "DIFFER from"
        self.stdout.write(f"{month}: {rows} rows archived to {result.folder}; counts {match} the daily counts; {state}")
