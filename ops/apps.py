from django.apps import AppConfig

OUTBOX_RELAY_TASK = "ops.tasks.outbox_relay_task"
OUTBOX_RELAY_NAME = "ops: publish tasks kept while Redis was down"


def ensure_outbox_relay_schedule(**kwargs) -> None:
    """Create (or update) the beat entry of the outbox relay; safe to run after every migrate."""
    from django.conf import settings
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = settings.TASK_OUTBOX_RELAY_SECONDS
    schedule, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name=OUTBOX_RELAY_NAME, defaults={"task": OUTBOX_RELAY_TASK, "interval": schedule, "enabled": True}
    )


class OpsConfig(AppConfig):
    """Running the system: the task outbox, beat's heartbeat, health checks, backups."""

    name = "ops"
    verbose_name = "运维"

    def ready(self) -> None:
        from django.core import checks
        from django.db.models.signals import post_migrate

        from ops.checks import redis_databases_check

        post_migrate.connect(ensure_outbox_relay_schedule, sender=self, dispatch_uid="ops.outbox_relay_schedule")
        checks.register(redis_databases_check, checks.Tags.caches, deploy=True)
