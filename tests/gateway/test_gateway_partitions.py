"""Monthly partitions of the traffic tables (PostgreSQL; ADR 0115): the migration's result, partitions created
ahead (and rows parked in the default partition moved), the online conversion of an existing table with
writes going on, and client_ref uniqueness across a month boundary."""

from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from factories.gateway import ApiClientFactory, CarrierNodeFactory

from gateway import partitions
from gateway.models import Message, UnmatchedReport
from gateway.partitions import MESSAGES, SEGMENTS, SHANGHAI, UNMATCHED_REPORTS, add_months, month_of
from gateway.services import intake
from gateway.services.seed import gateway_seed_defaults

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("declarative partitioning is PostgreSQL's")


def _sql(query, params=None):
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall() if cursor.description else None


def _partition_of(table, row_id):
    return _sql(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [row_id])[0][0]


def test_migration_partitions_the_traffic_tables_with_the_queue_index_on_every_partition():
    this_month = month_of(timezone.now())
    for table in (MESSAGES, SEGMENTS, UNMATCHED_REPORTS):
        with connection.cursor() as cursor:
            assert partitions.is_partitioned(cursor, table.name)
            months = partitions.month_partitions(cursor, table)
        assert [add_months(this_month, n) for n in range(4)] == [m for m in months if m >= this_month][:4]
    (pk,) = _sql("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'gateway_message_pkey'")
    assert pk == ("PRIMARY KEY (id, created_at)",)
    # The queue's partial index (whatever its columns) has a child on every partition.
    queue_on = {
        name
        for (name,) in _sql(
            "SELECT t.relname FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid "
            "JOIN pg_class t ON t.oid = x.indrelid WHERE i.inhparent = 'message_queue_idx'::regclass"
        )
    }
    assert queue_on == {MESSAGES.default} | {MESSAGES.partition(add_months(this_month, n)) for n in range(4)}
    # The partitions keep the message table's fillfactor (migration 0005).
    assert _sql("SELECT reloptions FROM pg_class WHERE relname = %s", [MESSAGES.partition(this_month)]) == [
        (["fillfactor=85"],)
    ]


def test_partitions_ahead_are_created_and_rows_parked_in_the_default_partition_move_in(contract):
    later = add_months(month_of(timezone.now()), 9)
    node = CarrierNodeFactory(contract=contract)
    moment = datetime(later.year, later.month, 3, 12, tzinfo=SHANGHAI)
    parked = UnmatchedReport.objects.create(carrier_msg_id=7, stat="DELIVRD", node=node, received_at=moment)
    assert _partition_of(UNMATCHED_REPORTS.name, parked.id) == UNMATCHED_REPORTS.default

    created = partitions.partitions_ensure(now=moment - timedelta(days=40), ahead=2)

    assert UNMATCHED_REPORTS.partition(later) in created and MESSAGES.partition(later) in created
    assert _partition_of(UNMATCHED_REPORTS.name, parked.id) == UNMATCHED_REPORTS.partition(later)
    assert partitions.default_rows(UNMATCHED_REPORTS) == 0
    # Per-partition unique index copied onto the new message partition.
    unique = f"message_client_ref_unique_{later:%Y%m}"
    assert _sql("SELECT count(*) FROM pg_indexes WHERE indexname = %s", [unique]) == [(1,)]
    assert partitions.partitions_ensure(now=moment - timedelta(days=40), ahead=2) == []  # idempotent


def _unpartition(table):
    """Turn a partitioned table back into a plain one with its rows, as an existing database has it."""
    _sql("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own inserts leave deferred FK checks pending
    _sql(f"ALTER TABLE {table.name} RENAME TO {table.name}_was")
    _sql(
        f"CREATE TABLE {table.name} (LIKE {table.name}_was INCLUDING DEFAULTS INCLUDING IDENTITY "
        f"INCLUDING CONSTRAINTS) WITH (fillfactor = 85)"
    )
    _sql(f"INSERT INTO {table.name} SELECT * FROM {table.name}_was")
    _sql(f"DROP TABLE {table.name}_was CASCADE")
    _sql(f"ALTER TABLE {table.name} ADD PRIMARY KEY (id)")
    _sql(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))")


def test_an_existing_message_table_is_converted_in_batches_while_writes_go_on(contract):
    client = ApiClientFactory(contract=contract)
    now = timezone.now()
    base = dict(contract=contract, client=client, content="x", units=1, segments=1, valid_until=now)
    old = [
        Message.objects.create(**base, mobile=f"1391234{n:04d}", client_ref=f"r{n}", created_at=now - timedelta(days=n))
        for n in range(0, 95, 5)
    ]
    _unpartition(MESSAGES)
    _sql("CREATE INDEX message_queue_idx ON gateway_message (id) WHERE status = 'queued'")
    _sql(
        "CREATE UNIQUE INDEX message_client_ref_unique ON gateway_message (client_id, client_ref) "
        "WHERE client_ref <> ''"
    )
    assert not partitions.is_partitioned_now(MESSAGES)

    upto = partitions.convert_prepare(table=MESSAGES, now=now, ahead=2)
    assert upto == old[-1].id
    writes = []

    def during_copy(table, after, upto, copied):  # between batches, the system keeps working
        if writes:
            return
        writes.append(Message.objects.create(**base, mobile="13800000000", client_ref="new", created_at=now))
        Message.objects.filter(id=old[-1].id).update(status="delivered")  # not copied yet
        Message.objects.filter(id=old[0].id).update(status="failed")  # copied already
        Message.objects.filter(id=old[1].id).delete()

    copied = partitions.convert_copy(table=MESSAGES, upto=upto, batch=4, progress=during_copy)
    assert copied == len(old)  # the deleted row had been copied: the trigger took it out again
    assert partitions.convert_verify(table=MESSAGES) == (len(old), len(old))
    expected = sorted(_sql("SELECT * FROM gateway_message"))

    partitions.convert_swap(table=MESSAGES)

    assert partitions.is_partitioned_now(MESSAGES)
    assert sorted(_sql("SELECT * FROM gateway_message")) == expected
    assert Message.objects.get(id=old[-1].id).status == "delivered"
    assert Message.objects.get(id=old[0].id).status == "failed"
    assert not Message.objects.filter(id=old[1].id).exists()
    assert _partition_of(MESSAGES.name, old[-1].id) == MESSAGES.partition(month_of(old[-1].created_at))
    # Ids continue after the highest, in the partitioned table.
    fresh = Message.objects.create(**base, mobile="13800000001", created_at=now)
    assert fresh.id > writes[0].id
    # The queue index is the parent's again; client_ref stays unique per partition.
    assert _sql("SELECT count(*) FROM pg_class WHERE relname = 'message_queue_idx' AND relkind = 'I'") == [(1,)]
    assert _sql(
        "SELECT count(*) FROM pg_indexes WHERE indexname = %s", [f"message_client_ref_unique_{month_of(now):%Y%m}"]
    ) == [(1,)]
    assert _sql("SELECT to_regclass('gateway_message_unpartitioned') IS NOT NULL") == [(True,)]
    call_command("partition_tables", "--drop-old", "--table", MESSAGES.name)
    assert _sql("SELECT to_regclass('gateway_message_unpartitioned') IS NULL") == [(True,)]


def test_swap_refuses_while_the_copy_is_incomplete(contract):
    node = CarrierNodeFactory(contract=contract)
    now = timezone.now()
    for n in range(3):
        UnmatchedReport.objects.create(carrier_msg_id=n, stat="DELIVRD", node=node, received_at=now)
    _unpartition(UNMATCHED_REPORTS)
    upto = partitions.convert_prepare(table=UNMATCHED_REPORTS, now=now, ahead=1)
    partitions.convert_copy(table=UNMATCHED_REPORTS, upto=upto - 1, batch=10)
    with pytest.raises(partitions.PartitionError, match="copy not complete"):
        partitions.convert_swap(table=UNMATCHED_REPORTS)


def test_the_command_converts_and_refuses_unknown_tables(contract, capsys):
    node = CarrierNodeFactory(contract=contract)
    UnmatchedReport.objects.create(carrier_msg_id=1, stat="DELIVRD", node=node, received_at=timezone.now())
    _unpartition(UNMATCHED_REPORTS)
    call_command("partition_tables", "--table", UNMATCHED_REPORTS.name, "--batch", "1", "--pause", "0")
    assert "gateway_unmatchedreport: partitioned (1 rows copied" in capsys.readouterr().out
    assert UnmatchedReport.objects.count() == 1
    with pytest.raises(CommandError, match="unknown table"):
        call_command("partition_tables", "--table", "auth_user")


def test_a_client_ref_stays_unique_across_a_month_boundary(contract, monkeypatch):
    gateway_seed_defaults(contract=contract)
    client = ApiClientFactory(contract=contract, allow_free_content=True)
    boundary = datetime.combine(add_months(month_of(timezone.now()), 1), datetime.min.time(), SHANGHAI)
    item = {"mobile": "13912345678", "content": "x", "client_ref": "edge"}
    (first,) = intake.messages_submit(client=client, raw_items=[item], now=boundary - timedelta(minutes=1))
    # The second request's lookup misses the first (as if both ran at once); its row would land in the next
    # month's partition, whose unique index cannot see the first.
    real, calls = intake._existing_refs, []

    def late_lookup(client, refs):
        calls.append(refs)
        return {} if len(calls) == 1 else real(client, refs)

    monkeypatch.setattr(intake, "_existing_refs", late_lookup)
    (second,) = intake.messages_submit(client=client, raw_items=[item], now=boundary + timedelta(minutes=1))
    assert second.duplicate and second.message_id == first.message_id
    assert Message.objects.filter(client_ref="edge").count() == 1


def test_with_everything_partitioned_the_command_only_creates_partitions_ahead(capsys):
    call_command("partition_tables")
    assert "gateway_message: partitioned" in capsys.readouterr().out
    assert partitions.default_rows(MESSAGES) == 0


def test_health_reports_a_missing_month_and_rows_in_a_default_partition(contract):
    call_command("health", "partitions")  # the migration made the months ahead
    node = CarrierNodeFactory(contract=contract)
    far = datetime(2040, 1, 5, tzinfo=SHANGHAI)
    UnmatchedReport.objects.create(carrier_msg_id=1, stat="DELIVRD", node=node, received_at=far)
    with pytest.raises(CommandError, match="gateway_unmatchedreport_default holds 1 rows"):
        call_command("health", "partitions")
    problems = partitions.partitions_problems(now=far)
    assert f"{MESSAGES.partition(date(2040, 2, 1))} missing" in problems[0]
