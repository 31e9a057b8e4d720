"""Backups: a `pg_dump -Fc` of the database and a tar of the media folder, checked by SHA-256 (docs/operations.md).

    <BACKUP_DIR>/sms-20261130-023000/database.dump   pg_dump custom format (pg_restore reads it)
                                      media.tar.gz    MEDIA_ROOT: carrier bills, stored statement PDFs
                                      SHA256SUMS      `sha256sum -c` format

A backup is written under a `.partial-` name and renamed when complete, so an interrupted one is never taken for
a good one.
"""

import hashlib
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

TZ = ZoneInfo("Asia/Shanghai")
PREFIX = "sms-"
STAMP = "%Y%m%d-%H%M%S"
DUMP, MEDIA, SUMS = "database.dump", "media.tar.gz", "SHA256SUMS"


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_at: datetime


@dataclass(frozen=True)
class Database:
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    @classmethod
    def current(cls) -> "Database":
        db = settings.DATABASES["default"]
        if connection.vendor != "postgresql":
            raise BackupError("Backups need PostgreSQL (for the SQLite demo, copy db.sqlite3 while nothing runs).")
        return cls(
            db["NAME"], db.get("USER") or "", db.get("PASSWORD") or "", db.get("HOST") or "", str(db.get("PORT") or "")
        )

    @classmethod
    def from_url(cls, url: str) -> "Database":
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql", "pgsql"):
            raise BackupError(f"Not a PostgreSQL URL: {parts.scheme}://…")
        return cls(
            unquote(parts.path.lstrip("/")),
            unquote(parts.username or ""),
            unquote(parts.password or ""),
            parts.hostname or "",
            str(parts.port or ""),
        )

    def env(self) -> dict[str, str]:
        """libpq's variables: the password never appears on a command line."""
        env = {**os.environ, "PGDATABASE": self.name}
        for key, value in (("PGUSER", self.user), ("PGPASSWORD", self.password), ("PGHOST", self.host)):
            if value:
                env[key] = value
        if self.port:
            env["PGPORT"] = self.port
        return env


def backup_list(directory: Path) -> list[Backup]:
    """Complete backups in `directory`, oldest first."""
    out = []
    for path in Path(directory).glob(f"{PREFIX}*"):
        try:
            taken = datetime.strptime(path.name[len(PREFIX) :], STAMP).replace(tzinfo=TZ)
        except ValueError:
            continue
        if path.is_dir() and (path / SUMS).exists():
            out.append(Backup(path, taken))
    return sorted(out, key=lambda b: b.taken_at)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True)  # noqa: S603 - fixed programs, no shell
    if result.returncode != 0:
        raise BackupError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def backup_create(*, directory: Path, now: datetime | None = None) -> Backup:
    """Dump the database and archive the media folder into a new backup folder."""
    now = (now or datetime.now(TZ)).astimezone(TZ)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{PREFIX}{now.strftime(STAMP)}"
    partial = directory / f".partial-{final.name}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        db = Database.current()
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={partial / DUMP}"], db.env())
        media = Path(settings.MEDIA_ROOT)
        with tarfile.open(partial / MEDIA, "w:gz") as tar:
            if media.is_dir():
                tar.add(media, arcname="media")
        sums = "".join(f"{_sha256(partial / name)}  {name}\n" for name in (DUMP, MEDIA))
        (partial / SUMS).write_text(sums, encoding="utf-8")
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return Backup(final, now)


def backup_verify(path: Path) -> None:
    """Every file of the backup matches its SHA-256."""
    path = Path(path)
    try:
        lines = (path / SUMS).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BackupError(f"{path} has no {SUMS}: not a complete backup.") from None
    for line in lines:
        digest, name = line.split(maxsplit=1)
        if not (path / name).exists() or _sha256(path / name) != digest:
            raise BackupError(f"{path / name} does not match its SHA-256: the backup is damaged.")


def backup_restore(*, path: Path, database: Database, media_root: Path) -> None:
    """Restore a backup into `database` (its tables are replaced) and `media_root` (files extracted over it).
    Stop web, worker, beat and the sender first."""
    path = Path(path)
    backup_verify(path)
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={database.name}",
            str(path / DUMP),
        ],
        database.env(),
    )
    media_root = Path(media_root)
    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path / MEDIA, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.name == "media" or m.name.startswith("media/")]
        for member in members:
            member.name = member.name[len("media") :].lstrip("/") or "."
        tar.extractall(media_root, members=members, filter="data")
