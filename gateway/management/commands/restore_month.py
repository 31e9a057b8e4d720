"""manage.py restore_month: load an archived month back for an inquiry."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gateway.partitions import parse_month
from gateway.retention import RetentionError, restore_month


class Command(BaseCommand):
    help = (
        "Load ARCHIVE_DIR/YYYY-MM/ back as that month's partitions (checksums checked first). Retention leaves "
        "a restored month alone; `archive_month YYYY-MM --drop` drops it again. PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="YYYY-MM")
        parser.add_argument("--dir", type=Path, default=None, help="default: ARCHIVE_DIR")

    def handle(self, *args, month, dir, **options):
        try:
            rows = restore_month(month=parse_month(month), directory=dir or Path(settings.ARCHIVE_DIR))
        except (ValueError, RetentionError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{month}: restored " + ", ".join(f"{table} {n}" for table, n in rows.items()))
