"""Test settings: the base settings with fast hashing, locmem mail and eager Celery.

The database still comes from DATABASE_URL, so CI runs the suite on PostgreSQL.
"""

import os

# The suite never reads a development .env that `make run` left in the project folder.
os.environ.setdefault("DJANGO_READ_DOT_ENV_FILE", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("SECRETS_ENCRYPTION_KEYS", "kG6Y6wVqf8nq7Y1M4f2hJ0pX3cQ9rT5uW8zA1bC4dE0=")
os.environ.setdefault("EMAIL_URL", "memorymail://")

# Each xdist worker gets its own Redis database: tests clear the cache, and clearing a Redis cache flushes the
# whole database, which would wipe the other worker's counters mid-test.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if os.environ.get("REDIS_URL") and _worker.startswith("gw"):
    from urllib.parse import urlsplit, urlunsplit

    _parts = urlsplit(os.environ["REDIS_URL"])
    _db = int(_parts.path.lstrip("/") or 0) + int(_worker[2:])
    os.environ["REDIS_URL"] = urlunsplit(_parts._replace(path=f"/{_db}"))

from .base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
AXES_ENABLED = True
SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP; tests/foundation/test_front_door.py covers it
# Plain static names without collectstatic; WhiteNoise reads the app folders.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
