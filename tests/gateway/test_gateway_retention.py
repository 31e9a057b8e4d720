"""Retention (PostgreSQL; ADR 0117): a month archived to checksummed files with a manifest whose per-day counts
match the daily counts, then dropped; restored by one command; counts and statements never dropped."""

import gzip
import hashlib
import json
from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from factories.gateway import ApiClientFactory, CarrierNodeFactory

from gateway import partitions, retention
from gateway.models import DailyCount, Message, MessageSegment, UnmatchedReport
from gateway.partitions import MESSAGES, SEGMENTS, SHANGHAI, TABLES

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

MONTH = date(2024, 3, 1)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("partitions are PostgreSQL's")


def _rows(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608
        return cursor.fetchall()


@pytest.fixture
def march(contract):
    """Three messages on two days of March 2024 (Asia/Shanghai), their segments, one unmatched report, and
    the daily counts the sender wrote for them."""
    node = CarrierNodeFactory(contract=contract)
    client = ApiClientFactory(contract=contract)
    days = [datetime(2024, 3, 1, 0, 30, tzinfo=SHANGHAI), datetime(2024, 3, 31, 23, 0, tzinfo=SHANGHAI)]
    plan = [(days[0], 1), (days[0], 2), (days[1], 1)]
    for n, (at, segments) in enumerate(plan):
        message = Message.objects.create(
            contract=contract, client=client, client_ref=f"m{n}", mobile="13912345678", content="【12123】x\n二行",
            units=segments, segments=segments, status="delivered", created_at=at, valid_until=at + timedelta(hours=24),
        )  # fmt: skip
        for k in range(1, segments + 1):
            MessageSegment.objects.create(
                message=message, pk_number=k, carrier_msg_id=-(n * 10 + k), node=node, submitted_at=at, stat="DELIVRD"
            )
    UnmatchedReport.objects.create(carrier_msg_id=99, stat="DELIVRD", node=node, received_at=days[1])
    DailyCount.objects.create(contract=contract, day=date(2024, 3, 1), node=node, accepted_messages=2)
    DailyCount.objects.create(contract=contract, day=date(2024, 3, 31), node=node, accepted_messages=1)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in TABLES:
            partitions.create_month(cursor, table, MONTH)  # the rows move in from the default partition
    return {table.name: _rows(table.partition(MONTH)) for table in TABLES}


def test_a_month_is_archived_with_its_manifest_then_dropped_and_restored_as_it_was(march, tmp_path):
    assert [len(rows) for rows in march.values()] == [3, 4, 1]

    result = retention.archive_month(month=MONTH, directory=tmp_path, drop=True)

    assert result.dropped and result.matches
    folder = tmp_path / "2024-03"
    manifest = json.loads((folder / "manifest.json").read_text())
    by_table = {t["table"]: t for t in manifest["tables"]}
    assert {name: t["rows"] for name, t in by_table.items()} == {name: len(rows) for name, rows in march.items()}
    for entry in manifest["tables"]:
        assert hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
        with gzip.open(folder / entry["file"]) as f:
            assert len(f.read().splitlines()) == entry["rows"]  # the newline in a content stays escaped
    assert by_table[MESSAGES.name]["rows_per_day"] == {"2024-03-01": 2, "2024-03-31": 1}
    assert manifest["accepted_messages_per_day"] == {
        "2024-03-01": {"accepted_archived": 2, "daily_count": 2},
        "2024-03-31": {"accepted_archived": 1, "daily_count": 1},
    }
    with connection.cursor() as cursor:
        assert all(MONTH not in partitions.month_partitions(cursor, t) for t in TABLES)
    assert not Message.objects.exists() and not MessageSegment.objects.exists()
    assert DailyCount.objects.count() == 2  # counts are never dropped

    call_command("restore_month", "2024-03", "--dir", str(tmp_path))

    assert {t.name: _rows(t.partition(MONTH)) for t in TABLES} == march
    assert Message.objects.get(client_ref="m1").segment_rows.count() == 2
    # A restored month is left alone by retention until dropped by hand.
    assert MONTH not in retention.months_due(now=datetime(2030, 1, 1, tzinfo=SHANGHAI), keep_months=36)
    call_command("archive_month", "2024-03", "--dir", str(tmp_path), "--drop")
    assert not Message.objects.exists()


def test_counts_that_differ_from_the_daily_counts_keep_the_month(march, tmp_path):
    DailyCount.objects.filter(day=date(2024, 3, 31)).update(accepted_messages=5)
    with pytest.raises(CommandError, match="differ from the daily counts"):
        call_command("archive_month", "2024-03", "--dir", str(tmp_path), "--drop")
    manifest = json.loads((tmp_path / "2024-03" / "manifest.json").read_text())
    assert manifest["matches"] is False
    assert manifest["accepted_messages_per_day"]["2024-03-31"] == {"accepted_archived": 1, "daily_count": 5}
    assert Message.objects.count() == 3


def test_a_damaged_archive_restores_nothing(march, tmp_path):
    retention.archive_month(month=MONTH, directory=tmp_path, drop=True)
    path = tmp_path / "2024-03" / f"{SEGMENTS.name}.copy.gz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="checksum differs"):
        call_command("restore_month", "2024-03", "--dir", str(tmp_path))
    assert not Message.objects.exists()


def test_months_past_retention_are_due_oldest_first(march, settings):
    with connection.cursor() as cursor:
        partitions.create_month(cursor, MESSAGES, date(2024, 4, 1))
    now = datetime(2027, 4, 15, tzinfo=SHANGHAI)
    assert retention.months_due(now=now, keep_months=36) == [MONTH]  # April ends 36 months before May 2027
    assert retention.months_due(now=now, keep_months=35) == [MONTH, date(2024, 4, 1)]
    settings.MESSAGE_RETENTION_MONTHS = 0
    assert retention.retention_months() == 12 + 24  # the seed contract's term plus 7.2's two years
    with pytest.raises(CommandError, match="month must be YYYY-MM"):
        call_command("archive_month", "2024-3")
