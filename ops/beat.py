"""Beat's scheduler: django-celery-beat's, plus a heartbeat file for the container health check."""

import logging
from pathlib import Path

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)


class HeartbeatDatabaseScheduler(DatabaseScheduler):
    """Touches CELERY_BEAT_HEARTBEAT_FILE on every tick (at most every 5 s); `manage.py health beat` reads its age."""

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        try:
            Path(settings.CELERY_BEAT_HEARTBEAT_FILE).touch()
        except OSError as exc:  # a read-only /tmp must not stop the schedule
            logger.warning("beat: cannot touch the heartbeat file: %s", exc)
        return interval
