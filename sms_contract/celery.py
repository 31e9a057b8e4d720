"""The Celery app. Settings come from Django's settings under the CELERY_ namespace."""

import os

from celery import Celery, signals
from django.db.utils import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sms_contract.settings.base")

app = Celery("sms_contract")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def keep_django_logging(**kwargs) -> None:
    """Worker and beat keep Django's LOGGING: Celery adds no handler of its own to the root logger, whose only
    handler masks mobile numbers (sms_contract.logging, 8.1). Task and worker messages propagate to it."""


class TryAgain(Exception):  # noqa: N818 - reads as what the worker should do
    """Raised by a task whose work is only partly done (a mail server refused some reminders): retry it later."""


# Every task retries what may pass by itself: the database gone for a moment, a network or mail error, or a task
# that asks to be tried again. Delays of 5, 10, 20 … s, capped at 120 s (below the broker's visibility timeout,
# CELERY_VISIBILITY_TIMEOUT, so a waiting retry is never handed to a second worker), with jitter; 8 retries
# span about 9 minutes. `@shared_task(name=..., **RETRY)`.
RETRY = {
    "autoretry_for": (OperationalError, InterfaceError, OSError, TryAgain),
    "retry_backoff": 5,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 8,
}
