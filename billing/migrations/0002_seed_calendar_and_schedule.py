"""Seed the working-day calendar and schedule the monthly close (both idempotent)."""

from django.db import migrations


def seed(apps, schema_editor):
    from billing.calendar_seed import seed_calendar

    seed_calendar(apps.get_model("billing", "CalendarYear"), apps.get_model("billing", "CalendarDay"))


def schedule(apps, schema_editor):
    from billing.schedule import ensure_close_month_schedule

    ensure_close_month_schedule(
        apps.get_model("django_celery_beat", "CrontabSchedule"), apps.get_model("django_celery_beat", "PeriodicTask")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(schedule, migrations.RunPython.noop),
    ]
