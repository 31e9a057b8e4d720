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


RETENTION_TASK = "ops.tasks.retention_task"
RETENTION_SCHEDULE_NAME = "ops: archive and drop message months past retention (2nd of the month, 04:00)"


@shared_task(name=RETENTION_TASK, **RETRY)
def retention_task() -> list[str]:
    """Archive and drop the traffic tables' months past retention (PostgreSQL; ops.retention)."""
    from pathlib import Path

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from ops.retention import archive_due

    if connection.vendor != "postgresql":
        return []
    done = archive_due(now=timezone.now(), directory=Path(settings.ARCHIVE_DIR))
    return [f"{r.month:%Y-%m}" for r in done]


def ensure_retention_schedule(crontab_model, periodic_task_model) -> None:
    monthly, _ = crontab_model.objects.get_or_create(
        minute="0", hour="4", day_of_month="2", month_of_year="*", day_of_week="*", timezone="Asia/Shanghai"
    )
    periodic_task_model.objects.update_or_create(
        name=RETENTION_SCHEDULE_NAME, defaults={"task": RETENTION_TASK, "crontab": monthly, "enabled": True}
    )
