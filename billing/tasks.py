"""Celery tasks of the billing app: thin, they call one service each."""

import logging
from datetime import date

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing.services.reminders import bond_refund_remind
from billing.services.statements import statement_close_month, statements_close_due
from billing.services.uploads import PROCESS_TASK, billing_upload_process
from contracts.models import Contract
from sms_contract.celery import RETRY, TryAgain

logger = logging.getLogger(__name__)

BOND_REMINDER_DAYS = 30


@shared_task(name="billing.tasks.close_month_task", **RETRY)
def close_month_task(year: int | None = None, month: int | None = None, contract_id: int | None = None) -> list[str]:
    """Without a month (beat, daily): close every finished month not yet closed, of every contract. With one:
    create or recompute that month's statement for every contract in force (or one), as `close_month` does."""

    if year is None or month is None:
        statements = statements_close_due(today=timezone.localdate())
    else:
        contracts = (
            Contract.objects.filter(pk=contract_id) if contract_id else Contract.objects.filter(terminated_on=None)
        )
        # only contracts signed by the end of that month
        contracts = contracts.filter(signed_on__lt=date(year + month // 12, month % 12 + 1, 1))
        statements = [statement_close_month(contract=c, year=year, month=month) for c in contracts]
    for statement in statements:
        logger.info(
            "billing: closed %s for %s: %s (%s)",
            statement.period,
            statement.contract.number,
            statement.number,
            statement.state,
        )
    return [statement.number for statement in statements]


@shared_task(name="billing.tasks.bond_refund_reminder_task", **RETRY)
def bond_refund_reminder_task(today_iso: str | None = None) -> int:
    """E-mail the finance group (and log) when a bond's refund date is within BOND_REMINDER_DAYS; retried with
    back-off while a reminder could not be delivered."""

    today = date.fromisoformat(today_iso) if today_iso else timezone.localdate()
    sent, unsent = bond_refund_remind(today=today, within_days=BOND_REMINDER_DAYS)
    if unsent:
        raise TryAgain(f"{unsent} bond refund reminder(s) not delivered (admin: 履约保证金)")
    return sent


@shared_task(
    name=PROCESS_TASK,
    time_limit=settings.BILLING_UPLOAD_TASK_TIME_LIMIT,
    soft_time_limit=settings.BILLING_UPLOAD_TASK_TIME_LIMIT - 30,
    **RETRY,
)
def billing_upload_process_task(upload_id: int) -> str:
    """Read one stored bill or success-count file (billing.services.uploads); its state is on the upload."""

    upload = billing_upload_process(upload_id=upload_id)
    return upload.state if upload else "missing"
