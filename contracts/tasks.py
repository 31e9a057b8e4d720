"""Celery tasks of the contracts app: thin, they call one service."""

from datetime import date

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from contracts.services import deadline_reminders_send
from sms_contract.celery import RETRY, TryAgain

REMINDER_TASK = "contracts.tasks.deadline_reminders_task"
REMINDER_SCHEDULE_NAME = "contracts: deadline reminders (daily 08:30 Asia/Shanghai)"


@shared_task(name=REMINDER_TASK, **RETRY)
def deadline_reminders_task(today_iso: str | None = None) -> int:
    """E-mail the groups concerned before the renewal decision, bill due, bond refund and service end dates.
    While some due reminder is undelivered the task is retried with back-off (then beat runs it again tomorrow)."""

    today = date.fromisoformat(today_iso) if today_iso else timezone.localdate()
    sent, unsent = deadline_reminders_send(
        today=today,
        offsets=tuple(settings.CONTRACTS_REMINDER_DAYS),
        kinds=tuple(settings.CONTRACTS_REMINDER_KINDS),
    )
    if unsent:
        raise TryAgain(f"{len(sent)} reminder(s) delivered, {len(unsent)} not yet (admin: 合同 › 期限提醒)")
    return len(sent)


def ensure_reminder_schedule(crontab_model, periodic_task_model) -> None:
    """Create or update the daily beat entry (idempotent; called from a data migration)."""
    daily, _ = crontab_model.objects.get_or_create(
        minute="30", hour="8", day_of_month="*", month_of_year="*", day_of_week="*", timezone="Asia/Shanghai"
    )
    periodic_task_model.objects.update_or_create(
        name=REMINDER_SCHEDULE_NAME, defaults={"task": REMINDER_TASK, "crontab": daily, "enabled": True}
    )
