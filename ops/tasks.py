"""Celery tasks of the ops app."""

from celery import shared_task

from sms_contract.celery import RETRY


@shared_task(name="ops.tasks.outbox_relay_task", **RETRY)
def outbox_relay_task() -> int:
    """Publish tasks that were kept in PostgreSQL while Redis was down (beat, every TASK_OUTBOX_RELAY_SECONDS)."""
    from ops.services import outbox_relay

    published, _waiting = outbox_relay()
    return published


PARTITIONS_TASK = "ops.tasks.partitions_ensure_task"
PARTITIONS_SCHEDULE_NAME = "ops: message table partitions created ahead (daily 03:10 Asia/Shanghai)"


@shared_task(name=PARTITIONS_TASK, **RETRY)
def partitions_ensure_task() -> list[str]:
    """Create the month partitions of the traffic tables up to PARTITION_AHEAD_MONTHS ahead (PostgreSQL)."""
    from django.conf import settings
    from django.utils import timezone

    from gateway.partitions import partitions_ensure

    return partitions_ensure(now=timezone.now(), ahead=settings.PARTITION_AHEAD_MONTHS)


def ensure_partitions_schedule(crontab_model, periodic_task_model) -> None:
    """Create or update the daily beat entry (idempotent; called from a data migration)."""
    daily, _ = crontab_model.objects.get_or_create(
        minute="10", hour="3", day_of_month="*", month_of_year="*", day_of_week="*", timezone="Asia/Shanghai"
    )
    periodic_task_model.objects.update_or_create(
        name=PARTITIONS_SCHEDULE_NAME, defaults={"task": PARTITIONS_TASK, "crontab": daily, "enabled": True}
    )
