"""Deploy checks (`manage.py check --deploy`) for the Redis layout."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Warning as CheckWarning


def _redis(url: str) -> tuple[str, int, str] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return None
    return f"{parts.hostname}:{parts.port or 6379}", int(parts.path.lstrip("/") or 0), parts.password or ""


def redis_databases_check(app_configs=None, **kwargs):
    """The broker has its own Redis database (clearing the cache flushes the whole database), and Redis a password."""
    errors = []
    cache, broker = _redis(settings.REDIS_URL or ""), _redis(settings.CELERY_BROKER_URL or "")
    results = _redis(settings.CELERY_RESULT_BACKEND or "")
    used = [(name, r) for name, r in (("cache", cache), ("broker", broker), ("results", results)) if r is not None]
    places = [(r[0], r[1]) for _, r in used]
    if len(set(places)) != len(places):
        errors.append(
            CheckWarning(
                "REDIS_URL, CELERY_BROKER_URL and CELERY_RESULT_BACKEND share a Redis database.",
                hint="Give each its own database number (compose: /0 cache, /1 broker); clearing the cache "
                "empties its whole database, queued tasks included.",
                id="ops.W001",
            )
        )
    if any(not r[2] for _, r in used):
        errors.append(
            CheckWarning(
                "A Redis URL has no password.",
                hint="Start Redis with --requirepass and put the password in the URLs: redis://:PASSWORD@redis:6379/0.",
                id="ops.W002",
            )
        )
    return errors
