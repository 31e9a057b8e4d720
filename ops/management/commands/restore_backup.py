"""manage.py restore_backup PATH: put a backup back (database and media). Stop the app services first."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops.backups import BackupError, Database, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup folder made by `manage.py backup`: checks its SHA-256 sums, replaces the tables of the "
        "database (pg_restore --clean, one transaction) and extracts the media files. Stop web, worker, beat and "
        "sender first. --database-url/--media-root restore elsewhere (a scratch database to check a backup)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="e.g. /backups/sms-20261130-023000")
        parser.add_argument("--database-url", default=None, help="default: this system's database")
        parser.add_argument("--media-root", type=Path, default=None, help="default: MEDIA_ROOT")
        parser.add_argument("--yes", action="store_true", help="do not ask before replacing this system's data")

    def handle(self, *args, path, database_url=None, media_root=None, yes=False, **options):
        try:
            database = Database.from_url(database_url) if database_url else Database.current()
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        target = media_root or Path(settings.MEDIA_ROOT)
        if not yes and database_url is None:
            answer = input(f"Replace every table of database {database.name!r} and extract media into {target}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing restored.")
        try:
            backup_restore(path=path, database=database, media_root=target)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"restored {path} into database {database.name!r} and {target}")
