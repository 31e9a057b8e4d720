"""Schedule the daily creation of message table partitions ahead and the monthly retention run in
django-celery-beat (idempotent)."""

from django.db import migrations


def schedule(apps, schema_editor):
    from ops.tasks import ensure_partitions_schedule, ensure_retention_schedule

    models = apps.get_model("django_celery_beat", "CrontabSchedule"), apps.get_model("django_celery_beat", "PeriodicTask")
    ensure_partitions_schedule(*models)
    ensure_retention_schedule(*models)


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
