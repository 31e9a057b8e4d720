"""Reads of pages and reports from a PostgreSQL read replica, when DATABASE_REPLICA_URL is set
(docs/operations.md "A primary and a read replica", ADR 0118).

Only reads inside `replica_reads()` go to the replica: the GET pages matching REPLICA_PAGES (through
`ReplicaReadsMiddleware`) and report code that asks for it. Everything else — every write, every POST, the
intake, the sender, the monthly close — stays on the primary, and so do the reads of sessions, users,
permissions and login throttling, which must see a login or a logout at once (a replica lags by up to a second).
"""

import re
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
# Apps whose rows a request must read as just written: never from the replica.
PRIMARY_ONLY_APPS = frozenset({"sessions", "auth", "contenttypes", "axes", "knox", "admin", "django_celery_beat"})

_reading = ContextVar("replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads():
    """Reads in this block go to the replica (when one is configured)."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _reading.get() and replica_configured() and model._meta.app_label not in PRIMARY_ONLY_APPS:
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaReadsMiddleware:
    """GET and HEAD requests to the pages of REPLICA_PAGES (regular expressions on the path) read from the
    replica."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.pages = [re.compile(p) for p in getattr(settings, "REPLICA_PAGES", [])]

    def __call__(self, request):
        listed = any(p.search(request.path) for p in self.pages)
        if listed and request.method in ("GET", "HEAD") and replica_configured():
            with replica_reads():
                return self.get_response(request)
        return self.get_response(request)
