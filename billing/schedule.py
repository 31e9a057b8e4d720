"""The django-celery-beat entries of the billing app, created by a data migration (idempotent)."""

CLOSE_MONTH_TASK = "billing.tasks.close_month_task"
CLOSE_MONTH_NAME = "billing: close every finished month not yet closed (daily 02:00 Asia/Shanghai)"
OLD_CLOSE_MONTH_NAMES = ("billing: close the previous month (1st, 02:00 Asia/Shanghai)",)
BOND_REMINDER_TASK = "billing.tasks.bond_refund_reminder_task"
BOND_REMINDER_NAME = "billing: performance bond refund reminder (daily 08:00)"


def ensure_close_month_schedule(crontab_model, periodic_task_model) -> None:
    """The close runs daily and catches up every month not yet closed (billing.services.statements_close_due);
    on the 1st that is the month just finished."""
    periodic_task_model.objects.filter(name__in=OLD_CLOSE_MONTH_NAMES).delete()
    nightly, _ = crontab_model.objects.get_or_create(
        minute="0", hour="2", day_of_month="*", month_of_year="*", day_of_week="*", timezone="Asia/Shanghai"
    )
    periodic_task_model.objects.update_or_create(
        name=CLOSE_MONTH_NAME, defaults={"task": CLOSE_MONTH_TASK, "crontab": nightly, "enabled": True}
    )
    daily, _ = crontab_model.objects.get_or_create(
        minute="0", hour="8", day_of_month="*", month_of_year="*", day_of_week="*", timezone="Asia/Shanghai"
    )
    periodic_task_model.objects.update_or_create(
        name=BOND_REMINDER_NAME, defaults={"task": BOND_REMINDER_TASK, "crontab": daily, "enabled": True}
    )
