"""On SQLite (the demo) nothing is partitioned: the commands say so and change nothing; the beat task is a no-op."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from gateway import partitions

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite demo's behaviour")


def test_the_partition_commands_refuse_on_sqlite():
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("partition_tables")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("archive_month", "2026-01")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("restore_month", "2026-01")
    assert partitions.partitions_ensure(now=timezone.now(), ahead=3) == []
    call_command("health", "partitions")  # nothing to check: healthy
