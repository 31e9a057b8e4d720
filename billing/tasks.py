"""Celery tasks of the billing app: thin, they call one service each."""

import logging
from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)

BOND_REMINDER_DAYS = 30


def previous_month(today: date) -> tuple[int, int]:
    first = today.replace(day=1) - timedelta(days=1)
    return first.year, first.month


@shared_task(name="billing.tasks.close_month_task")
def close_month_task(year: int | None = None, month: int | None = None, contract_id: int | None = None) -> list[str]:
    """Close the given month (default: the previous month in Asia/Shanghai) for every contract or one."""
    from billing.services.statements import statement_close_month
    from contracts.models import Contract

    if year is None or month is None:
        year, month = previous_month(timezone.localdate())
    contracts = Contract.objects.filter(pk=contract_id) if contract_id else Contract.objects.filter(terminated_on=None)
    # only contracts signed by the end of that month
    contracts = contracts.filter(signed_on__lt=date(year + month // 12, month % 12 + 1, 1))
    numbers = []
    for contract in contracts:
        statement = statement_close_month(contract=contract, year=year, month=month)
        logger.info(
            "billing: closed %s-%02d for %s: %s (%s)", year, month, contract.number, statement.number, statement.state
        )
        numbers.append(statement.number)
    return numbers


@shared_task(name="billing.tasks.bond_refund_reminder_task")
def bond_refund_reminder_task(today_iso: str | None = None) -> int:
    """E-mail the finance group (and log) when a bond's refund date is within BOND_REMINDER_DAYS."""
    from billing.services.reminders import bond_refund_remind

    today = date.fromisoformat(today_iso) if today_iso else timezone.localdate()
    return bond_refund_remind(today=today, within_days=BOND_REMINDER_DAYS)
