"""manage.py backup: one backup now, or (--daily-at HH:MM) the compose `backup` service's nightly loop."""

import shutil
import signal
import threading
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops.backups import TZ, BackupError, backup_create, backup_list
from ops.rules import backups_to_prune


def next_run(now: datetime, at: str) -> datetime:
    hour, minute = (int(p) for p in at.split(":"))
    run = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return run if run > now else run + timedelta(days=1)


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump -Fc) and the media folder into BACKUP_DIR, then delete backups older than "
        "BACKUP_KEEP_DAYS except each month's last. --daily-at HH:MM keeps running and backs up every night "
        "(and at once when the newest backup is more than a day old)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=None, help="default: BACKUP_DIR")
        parser.add_argument("--keep-days", type=int, default=None, help="default: BACKUP_KEEP_DAYS")
        parser.add_argument("--daily-at", default=None, help="HH:MM Asia/Shanghai; run as a service")

    def handle(self, *args, dir=None, keep_days=None, daily_at=None, **options):
        directory = dir or Path(settings.BACKUP_DIR)
        keep = settings.BACKUP_KEEP_DAYS if keep_days is None else keep_days
        if daily_at is None:
            self._once(directory, keep)
            return
        try:
            next_run(datetime.now(TZ), daily_at)
        except ValueError:
            raise CommandError(f"--daily-at must be HH:MM, not {daily_at!r}") from None
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        self.stdout.write(f"backup: every day at {daily_at} Asia/Shanghai into {directory}, keeping {keep} days")
        while not stop.is_set():
            newest = backup_list(directory)[-1:] if directory.exists() else []
            if not newest or datetime.now(TZ) - newest[0].taken_at > timedelta(days=1):
                self._once(directory, keep, fail_quietly=True)
            wake = next_run(datetime.now(TZ), daily_at)
            if stop.wait((wake - datetime.now(TZ)).total_seconds()):
                break
            self._once(directory, keep, fail_quietly=True)

    def _once(self, directory: Path, keep_days: int, fail_quietly: bool = False) -> None:
        try:
            backup = backup_create(directory=directory)
        except BackupError as exc:
            if not fail_quietly:
                raise CommandError(str(exc)) from exc
            self.stderr.write(f"backup FAILED: {exc}")  # the health check reports the stale backup
            return
        size = sum(f.stat().st_size for f in backup.path.iterdir())
        self.stdout.write(f"backup: {backup.path} ({size:,} bytes)")
        backups = {b.taken_at: b for b in backup_list(directory)}
        for taken in backups_to_prune(backups, now=datetime.now(TZ), keep_days=keep_days):
            self.stdout.write(f"backup: deleting {backups[taken].path.name} (older than {keep_days} days)")
            shutil.rmtree(backups[taken].path)
