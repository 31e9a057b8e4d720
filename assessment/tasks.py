"""Celery tasks: thin, they receive ids and call one service."""

from celery import shared_task

from assessment import services


@shared_task(name="assessment.tasks.sla_check_task")
def sla_check_task() -> int:
    """Record newly breached SLA clocks (beat, every ASSESSMENT_SLA_CHECK_MINUTES)."""
    return len(services.sla_check())


@shared_task(name="assessment.tasks.sla_breach_notify_task", autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def sla_breach_notify_task(breach_id: int) -> bool:
    """E-mail police staff about one breach (once)."""
    return services.sla_breach_notify(breach_id=breach_id)
