"""Celery tasks of the gateway: the message tables' partitions ahead and retention (ADRs 0115, 0117)."""

from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.utils import timezone

from gateway import partitions, retention
from sms_contract.celery import RETRY

PARTITIONS_TASK = "gateway.tasks.partitions_ensure_task"
PARTITIONS_SCHEDULE_NAME = "gateway: message table partitions created ahead (daily 03:10 Asia/Shanghai)"


@shared_task(name=PARTITIONS_TASK, **RETRY)
def partitions_ensure_task() -> list[str]:
    """Create the month partitions of the traffic tables up to PARTITION_AHEAD_MONTHS ahead (PostgreSQL)."""
    return partitions.partitions_ensure(now=timezone.now(), ahead=settings.PARTITION_AHEAD_MONTHS)


def ensure_partitions_schedule(crontab_model, periodic_task_model) -> None:
    """Create or update the daily beat entry (idempotent; called from a data migration)."""
    daily, _ = crontab_model.objects.get_or_create(
        minute="10", hour="3", day_of_month="*", month_of_year="*", day_of_week="*", timezone="Asia/Shanghai"
    )
    periodic_task_model.objects.update_or_create(
        name=PARTITIONS_SCHEDULE_NAME, defaults={"task": PARTITIONS_TASK, "crontab": daily, "enabled": True}
    )


RETENTION_TASK = "gateway.tasks.retention_task"
RETENTION_SCHEDULE_NAME = "gateway: archive and drop message months past retention (2nd of the month, 04:00)"


@shared_task(name=RETENTION_TASK, **RETRY)
def retention_task() -> list[str]:
    """Archive and drop the traffic tables' months past retention (PostgreSQL; gateway.retention)."""
    if connection.vendor != "postgresql":
        return []
    done = retention.archive_due(now=timezone.now(), directory=Path(settings.ARCHIVE_DIR))
    return [f"{r.month:%Y-%m}" for r in done]


def ensure_retention_schedule(crontab_model, periodic_task_model) -> None:
    monthly, _ = crontab_model.objects.get_or_create(
        minute="0", hour="4", day_of_month="2", month_of_year="*", day_of_week="*", timezone="Asia/Shanghai"
    )
    periodic_task_model.objects.update_or_create(
        name=RETENTION_SCHEDULE_NAME, defaults={"task": RETENTION_TASK, "crontab": monthly, "enabled": True}
    )
