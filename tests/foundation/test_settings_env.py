"""Settings come from the environment; the embedded defaults need nothing running."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRINT = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "db = s.DATABASES['default']; "
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']),"
    "'eager': s.CELERY_TASK_ALWAYS_EAGER, 'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG,"
    "'hosts': s.ALLOWED_HOSTS, 'tz': s.TIME_ZONE, 'lang': s.LANGUAGE_CODE,"
    "'cache': s.CACHES['default']['BACKEND'], 'results': s.CELERY_RESULT_BACKEND,"
    "'email': s.EMAIL_BACKEND, 'ignore_result': s.CELERY_TASK_IGNORE_RESULT}))"
)


def _settings(**env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "DEBUG",
            "ALLOWED_HOSTS",
            "SECRETS_ENCRYPTION_KEYS",
            "EMAIL_URL",
            "CELERY_BROKER_URL",
            "CELERY_RESULT_BACKEND",
        }
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="sms_contract.settings.base")
    return subprocess.run([sys.executable, "-c", PRINT], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_embedded_defaults_are_sqlite_and_in_process_celery():
    import json

    result = _settings(DEBUG="true")
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout.strip().splitlines()[-1])
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["name"].endswith("db.sqlite3")
    assert s["eager"] is True and s["broker"] == "memory://"
    assert s["cache"].endswith("LocMemCache")
    assert (s["tz"], s["lang"]) == ("Asia/Shanghai", "zh-hans")
    assert s["email"].endswith("console.EmailBackend")  # `make run` prints mail instead of needing a server


def test_environment_selects_postgres_and_redis():
    import json

    result = _settings(
        DEBUG="false",
        SECRET_KEY="x" * 50,
        SECRETS_ENCRYPTION_KEYS="k",
        DATABASE_URL="postgres://u:p@db.internal:5432/sms",
        REDIS_URL="redis://:pw@cache:6379/0",
        CELERY_BROKER_URL="redis://:pw@cache:6379/1",
        EMAIL_URL="smtp+tls://mailer:pw@mail.example.org:587",
        ALLOWED_HOSTS="sms.example.org,localhost",
    )
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout.strip().splitlines()[-1])
    assert s["engine"] == "django.db.backends.postgresql"
    assert s["name"] == "sms"
    assert s["eager"] is False and s["broker"] == "redis://:pw@cache:6379/1"
    assert s["cache"].endswith("RedisCache")
    # nothing reads task results: no result backend for a call to wait on when Redis is down
    assert s["results"] is None and s["ignore_result"] is True
    assert s["email"].endswith("smtp.EmailBackend")
    assert s["hosts"] == ["sms.example.org", "localhost"]
    assert s["debug"] is False


def test_production_without_secret_key_refuses_to_start():
    result = _settings(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_without_email_url_refuses_to_start():
    """Reminders must not be 'sent' to the console in production."""
    result = _settings(DEBUG="false", SECRET_KEY="x" * 50, SECRETS_ENCRYPTION_KEYS="k")
    assert result.returncode != 0
    assert "EMAIL_URL must be set when DEBUG is off" in result.stderr
