"""Schedule the daily deadline reminders in django-celery-beat (idempotent)."""

from django.db import migrations


def schedule(apps, schema_editor):
    from contracts.tasks import ensure_reminder_schedule

    ensure_reminder_schedule(
        apps.get_model("django_celery_beat", "CrontabSchedule"), apps.get_model("django_celery_beat", "PeriodicTask")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0002_notices"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
