"""manage.py health beat|callbacks|backup|partitions: the compose health checks of the services that answer no
HTTP, and the message table partitions."""

import time
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops.backups import TZ, backup_list
from ops.health import CHECKS


class Command(BaseCommand):
    help = (
        "Exit 0 when the service is healthy. beat: its heartbeat file (CELERY_BEAT_HEARTBEAT_FILE) was touched "
        "within --max-age seconds (default 60). callbacks: the callback worker's heartbeat file "
        "(GATEWAY_CALLBACK_HEARTBEAT_FILE, touched after every pass) likewise. backup: the newest complete "
        "backup is younger than --max-age seconds (default 26 h). partitions: next month's partition of every "
        "message table exists and no row waits in a default partition (PostgreSQL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("service", choices=["beat", "callbacks", "backup", *sorted(CHECKS)])
        parser.add_argument("--max-age", type=int, default=None, help="seconds")

    def handle(self, *args, service, max_age=None, **options):
        if service in CHECKS:  # contributed by an app above ops (gateway: partitions)
            problems = CHECKS[service]()
            if problems:
                raise CommandError(f"{service}: " + "; ".join(problems))
            self.stdout.write(f"{service}: ready")
            return
        if service in ("beat", "callbacks"):
            limit = max_age or 60
            name = (
                settings.CELERY_BEAT_HEARTBEAT_FILE if service == "beat" else settings.GATEWAY_CALLBACK_HEARTBEAT_FILE
            )
            try:
                age = time.time() - Path(name).stat().st_mtime
            except FileNotFoundError:
                raise CommandError(f"{service}: no heartbeat file {name}") from None
            if age > limit:
                raise CommandError(f"{service}: last tick {age:.0f} s ago (limit {limit} s)")
            self.stdout.write(f"{service}: last tick {age:.0f} s ago")
            return
        limit = max_age or 26 * 3600
        backups = backup_list(Path(settings.BACKUP_DIR)) if Path(settings.BACKUP_DIR).exists() else []
        if not backups:
            raise CommandError(f"backup: no complete backup in {settings.BACKUP_DIR}")
        age = (datetime.now(TZ) - backups[-1].taken_at).total_seconds()
        if age > limit:
            raise CommandError(f"backup: newest is {backups[-1].path.name}, {age / 3600:.1f} h old (limit {limit} s)")
        self.stdout.write(f"backup: newest is {backups[-1].path.name}")
