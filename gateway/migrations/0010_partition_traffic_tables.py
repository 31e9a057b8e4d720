"""PostgreSQL: messages, segments and unmatched status reports partitioned by month (ADR 0115).

Segments lose their database FK to messages (a partitioned table's key is (id, created_at)); Django still
cascades. Tables with at most PARTITION_INLINE_ROWS rows (fresh installs, tests) are converted here; larger
ones stay as they are, fully working, until `manage.py partition_tables` moves their rows in bounded batches
while the system runs (docs/operations.md "Partitions"). SQLite: only the FK change.

Columns added by later migrations reach every partition (ALTER TABLE on the partitioned parent propagates).
"""

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from gateway import partitions

    for table in partitions.TABLES:
        converted = partitions.convert_small_or_defer(
            table=table,
            now=timezone.now(),
            ahead=settings.PARTITION_AHEAD_MONTHS,
            inline_rows=settings.PARTITION_INLINE_ROWS,
        )
        if not converted and not partitions.is_partitioned_now(table):
            print(f"\n  {table.name} is large: run `manage.py partition_tables` to partition it online.")


class Migration(migrations.Migration):
    dependencies = [("gateway", "0009_merge_labels_no_report_masking")]

    operations = [
        migrations.AlterField(
            model_name="messagesegment",
            name="message",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=models.deletion.CASCADE,
                related_name="segment_rows",
                to="gateway.message",
                verbose_name="短信",
            ),
        ),
        migrations.RunPython(partition, migrations.RunPython.noop, elidable=False),
    ]
