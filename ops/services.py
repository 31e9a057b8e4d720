"""The task outbox: queue Celery tasks durably, publish them after the commit, republish what Redis refused."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from ops.models import PendingTask
from sms_contract import celery as project_celery

logger = logging.getLogger("ops.outbox")

# What a publish raises when the broker is down or slow (kombu wraps most of them in its OperationalError).
BROKER_ERRORS = (KombuOperationalError, RedisError, OSError)
# The relay leaves young rows to the publish that follows their commit.
RELAY_GRACE = timedelta(seconds=30)
RELAY_BATCH = 500


def task_enqueue(task, *args, **kwargs) -> PendingTask:
    """Queue `task` (a Celery task or its name) with these arguments, durably.

    The row commits with the caller's transaction; right after the commit the task is published (the broker
    gets about a second, CELERY_BROKER_CONNECTION_TIMEOUT) and the row deleted. When Redis does not answer the
    row stays and `outbox_relay` publishes it later: the caller's action succeeds either way. Arguments must be
    JSON (ids, ISO dates). Tasks may run twice (after a relay), so they are idempotent."""
    name = task if isinstance(task, str) else task.name
    row = PendingTask.objects.create(task=name, args=list(args), kwargs=kwargs)
    transaction.on_commit(lambda: _publish_committed(row.pk), robust=True)
    return row


def _celery_task(name: str):
    """The registered task of that name. Services queue tasks by name (so they need not import their tasks
    module); the apps' tasks modules are imported on first need, as a worker does at start."""
    task = project_celery.app.tasks.get(name)
    if task is None:
        project_celery.app.loader.import_default_modules()
        task = project_celery.app.tasks.get(name)
    return task


def _publish_committed(pk: int) -> None:
    with transaction.atomic():
        row = PendingTask.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if row is not None:
            pending_task_publish(row=row)


def pending_task_publish(*, row: PendingTask) -> bool:
    """Hand one row to the broker and delete it; on a broker error keep it with the error. Returns success."""
    task = _celery_task(row.task)
    if project_celery.app.conf.task_always_eager:  # no broker (development, tests): run it here, as .delay() would
        PendingTask.objects.filter(pk=row.pk).delete()
        if task is None:
            project_celery.app.send_task(row.task, args=row.args, kwargs=row.kwargs)
        else:
            task.apply_async(args=row.args, kwargs=row.kwargs)
        return True
    try:
        if task is None:
            project_celery.app.send_task(row.task, args=row.args, kwargs=row.kwargs)
        else:
            task.apply_async(args=row.args, kwargs=row.kwargs)
    except BROKER_ERRORS as exc:
        PendingTask.objects.filter(pk=row.pk).update(
            attempts=F("attempts") + 1,
            last_attempt_at=timezone.now(),
            last_error=f"{type(exc).__name__}: {exc}"[:500],
        )
        logger.warning("outbox: %s #%s kept for later, the broker refused it: %s", row.task, row.pk, exc)
        return False
    PendingTask.objects.filter(pk=row.pk).delete()
    return True


def outbox_relay(*, now=None, limit: int = RELAY_BATCH) -> tuple[int, int]:
    """Publish the rows left behind (older than RELAY_GRACE), oldest first. Returns (published, still waiting).
    Several relays may run at once: each takes rows the others have not locked."""
    now = now or timezone.now()
    published = kept = 0
    with transaction.atomic():
        rows = list(
            PendingTask.objects.select_for_update(skip_locked=True)
            .filter(created_at__lte=now - RELAY_GRACE)
            .order_by("created_at", "pk")[:limit]
        )
        for row in rows:
            if pending_task_publish(row=row):
                published += 1
            else:
                kept += 1
                break  # the broker is still down: leave the rest for the next run
    if published or kept:
        logger.info("outbox: published %s waiting task(s), %s still waiting", published, kept)
    return published, PendingTask.objects.count()
