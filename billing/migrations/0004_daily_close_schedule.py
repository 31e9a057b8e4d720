"""The close runs daily and catches up every month not yet closed (it ran on the 1st only)."""

from django.db import migrations


def schedule(apps, schema_editor):
    from billing.schedule import ensure_close_month_schedule

    ensure_close_month_schedule(
        apps.get_model("django_celery_beat", "CrontabSchedule"), apps.get_model("django_celery_beat", "PeriodicTask")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_audit_history"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
