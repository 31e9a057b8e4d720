"""Celery tasks of the ops app."""

from celery import shared_task

from ops.services import outbox_relay
from sms_contract.celery import RETRY


@shared_task(name="ops.tasks.outbox_relay_task", **RETRY)
def outbox_relay_task() -> int:
    """Publish tasks that were kept in PostgreSQL while Redis was down (beat, every TASK_OUTBOX_RELAY_SECONDS)."""

    published, _waiting = outbox_relay()
    return published
