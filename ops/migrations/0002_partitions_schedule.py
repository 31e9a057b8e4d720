"""Schedule the daily creation of message table partitions ahead in django-celery-beat (idempotent)."""

from django.db import migrations


def schedule(apps, schema_editor):
    from ops.tasks import ensure_partitions_schedule

    ensure_partitions_schedule(
        apps.get_model("django_celery_beat", "CrontabSchedule"), apps.get_model("django_celery_beat", "PeriodicTask")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
