"""Celery tasks: thin, they receive ids and call one service."""

from celery import shared_task

from assessment import services
from sms_contract.celery import RETRY


@shared_task(name="assessment.tasks.sla_check_task", **RETRY)
def sla_check_task() -> int:
    """Record newly breached SLA clocks (beat, every ASSESSMENT_SLA_CHECK_MINUTES)."""
    return len(services.sla_check())


@shared_task(name=services.NOTIFY_TASK, **RETRY)
def sla_breach_notify_task(breach_id: int) -> bool:
    """E-mail police staff about one breach (once)."""
    return services.sla_breach_notify(breach_id=breach_id)
