"""Backups as the runbook says: pg_dump -Fc plus the media folder, kept 30 days plus every month's last, and a
restore into a fresh database that gives back the same rows and files."""

import hashlib
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ops.backups import DUMP, backup_list
from ops.rules import backups_to_prune

TZ = ZoneInfo("Asia/Shanghai")


def _at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 30, tzinfo=TZ)


def test_retention_keeps_thirty_days_and_every_months_last_backup():
    now = _at(date(2026, 3, 31), 3)
    nightly = [_at(date(2025, 12, 1) + timedelta(days=n)) for n in range(121)]  # 2025-12-01 .. 2026-03-31
    pruned = set(backups_to_prune(nightly, now=now, keep_days=30))
    kept = sorted(set(nightly) - pruned)
    month_ends = [_at(date(2025, 12, 31)), _at(date(2026, 1, 31)), _at(date(2026, 2, 28))]
    assert kept == month_ends + [t for t in nightly if t >= now - timedelta(days=30)]
    assert len(kept) == 3 + 30


def test_a_month_with_a_missed_last_night_keeps_its_latest_backup():
    now = _at(date(2026, 6, 30))
    taken = [_at(date(2026, 4, 27)), _at(date(2026, 4, 28))]  # nothing on 29-30 April
    assert backups_to_prune(taken, now=now, keep_days=30) == [_at(date(2026, 4, 27))]


def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("backups are pg_dump of PostgreSQL")


def _fingerprint(dsn: dict) -> dict[str, tuple[int, str]]:
    """Row count and an md5 over every row of every table in the public schema."""
    with psycopg2.connect(**dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        out = {}
        for (table,) in cur.fetchall():
            cur.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"
            )
            out[table] = cur.fetchone()
    conn.close()
    return out


def _dsn(name: str) -> dict:
    db = connection.settings_dict
    return {
        "dbname": name,
        "user": db["USER"],
        "password": db["PASSWORD"],
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
    }


@pytest.fixture
def scratch_database():
    _postgres()
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(**_dsn("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # pg_dump must see committed rows
def test_backup_restores_into_a_fresh_database_with_the_same_rows_and_files(
    contract, make_user, settings, tmp_path, scratch_database
):
    from billing.models import Statement
    from billing.services.statements import statement_pdf_store

    make_user("finance", "fin-backup")
    statement = Statement.objects.create(
        contract=contract,
        year=2025,
        month=10,
        number="JS-202510-0524-01",
        state=Statement.State.ISSUED,
        unit_price="0.0300",
        units=1_000_000,
        net_due_fen=1_800_000,
        due_on=date(2025, 11, 14),
    )
    statement = statement_pdf_store(statement=statement)  # a file in the media folder
    stored = Path(statement.pdf_file.path).read_bytes()

    today = datetime.now(TZ).date()
    older = [today.replace(day=1) - timedelta(days=d) for d in (60, 45, 40)]  # the last is its month's last kept
    for day in older:
        (tmp_path / "backups" / f"sms-{day:%Y%m%d}-023000").mkdir(parents=True)
        (tmp_path / "backups" / f"sms-{day:%Y%m%d}-023000" / "SHA256SUMS").write_text("")
    call_command("backup", dir=tmp_path / "backups", keep_days=30)
    *kept, backup = backup_list(tmp_path / "backups")
    assert [b.taken_at.date() for b in kept] == sorted(
        {max(d for d in older if d.month == m) for m in {o.month for o in older}}
    )
    assert (backup.path / DUMP).read_bytes().startswith(b"PGDMP")  # pg_dump's custom format

    restored_media = tmp_path / "restored-media"
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{scratch_database}"
    call_command("restore_backup", str(backup.path), database_url=url, media_root=restored_media)

    assert _fingerprint(_dsn(scratch_database)) == _fingerprint(_dsn(db["NAME"]))
    copy = restored_media / statement.pdf_file.name
    assert copy.read_bytes() == stored
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == statement.pdf_sha256


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # pg_dump must see committed rows
def test_a_damaged_backup_is_refused(contract, tmp_path, scratch_database):
    _postgres()
    call_command("backup", dir=tmp_path / "backups")
    (backup,) = backup_list(tmp_path / "backups")
    with (backup.path / DUMP).open("ab") as f:
        f.write(b"garbage")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{scratch_database}"
    with pytest.raises(CommandError, match="does not match its SHA-256"):
        call_command("restore_backup", str(backup.path), database_url=url, media_root=tmp_path / "m")


def test_health_of_backups_and_beat(settings, tmp_path):
    import os
    import time

    settings.BACKUP_DIR = tmp_path / "backups"
    with pytest.raises(CommandError, match="no complete backup"):
        call_command("health", "backup")
    old = settings.BACKUP_DIR / "sms-20200101-023000"
    old.mkdir(parents=True)
    (old / "SHA256SUMS").write_text("")
    with pytest.raises(CommandError, match="h old"):
        call_command("health", "backup")
    fresh = settings.BACKUP_DIR / f"sms-{datetime.now(TZ):%Y%m%d-%H%M%S}"
    fresh.mkdir()
    (fresh / "SHA256SUMS").write_text("")
    call_command("health", "backup")

    settings.CELERY_BEAT_HEARTBEAT_FILE = str(tmp_path / "beat.alive")
    with pytest.raises(CommandError, match="no heartbeat"):
        call_command("health", "beat")
    Path(settings.CELERY_BEAT_HEARTBEAT_FILE).touch()
    call_command("health", "beat")
    stale = time.time() - 300
    os.utime(settings.CELERY_BEAT_HEARTBEAT_FILE, (stale, stale))
    with pytest.raises(CommandError, match="last tick"):
        call_command("health", "beat")


def test_health_of_the_callback_worker_follows_its_passes(settings, tmp_path, db):
    """The compose health check of the callback worker: healthy once a pass ran, unhealthy when passes stop."""
    import os
    import time

    settings.GATEWAY_CALLBACK_HEARTBEAT_FILE = str(tmp_path / "callbacks.alive")
    with pytest.raises(CommandError, match="callbacks: no heartbeat"):
        call_command("health", "callbacks")
    call_command("runcallbacks", "--once")
    call_command("health", "callbacks")
    stale = time.time() - 300
    os.utime(settings.GATEWAY_CALLBACK_HEARTBEAT_FILE, (stale, stale))
    with pytest.raises(CommandError, match="callbacks: last tick"):
        call_command("health", "callbacks")
