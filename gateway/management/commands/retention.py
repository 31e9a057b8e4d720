"""manage.py retention: archive and drop every month of the traffic tables past retention."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gateway.retention import RetentionError, archive_due, months_due, retention_months


class Command(BaseCommand):
    help = (
        "Archive (ARCHIVE_DIR) and drop the month partitions older than the retention period "
        "(MESSAGE_RETENTION_MONTHS, default the service term plus 7.2's two years). --dry-run lists them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=None, help="default: ARCHIVE_DIR")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, dir, dry_run, **options):
        keep = retention_months()
        if dry_run:
            due = months_due(now=timezone.now(), keep_months=keep)
            self.stdout.write(f"keeping {keep} months; due: " + (", ".join(f"{m:%Y-%m}" for m in due) or "none"))
            return
        try:
            results = archive_due(now=timezone.now(), directory=dir or Path(settings.ARCHIVE_DIR), keep_months=keep)
        except RetentionError as exc:
            raise CommandError(str(exc)) from None
        for r in results:
            self.stdout.write(f"{r.month:%Y-%m}: archived to {r.folder} and dropped")
        if not results:
            self.stdout.write(f"keeping {keep} months; nothing due")
