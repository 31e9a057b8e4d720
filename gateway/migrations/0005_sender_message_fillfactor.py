# Room on each page of the message table, so that the sender's lease update (no indexed column changes)
# can be a heap-only (HOT) update on PostgreSQL: no index entries written. Affects pages written from now on.

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE gateway_message SET (fillfactor = 85)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE gateway_message RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ('gateway', '0004_api_message_fk_checks'),
    ]

    operations = [
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]
