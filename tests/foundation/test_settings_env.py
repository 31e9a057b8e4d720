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
            "DJANGO_READ_DOT_ENV_FILE",
            "SMS_DEV_ENV",
        }
    }
    # never the project folder's own .env (a developer's `make run` may have written one)
    clean["DJANGO_DOT_ENV_FILE"] = str(ROOT / "tests" / "no-such.env")
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


# --- The development .env of `make run` (issue 12: the README's second terminal) ----------------------------

SHOW = "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY)"


def _show(dot_env: Path, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "SECRET_KEY",
            "DEBUG",
            "SECRETS_ENCRYPTION_KEYS",
            "EMAIL_URL",
            "DJANGO_READ_DOT_ENV_FILE",
            "SMS_DEV_ENV",
        }
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="sms_contract.settings.base", DJANGO_DOT_ENV_FILE=str(dot_env))
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=clean, capture_output=True, text=True)


DEV_ENV = "# written by make run\nSMS_DEV_ENV=1\nDEBUG=true\nSECRET_KEY=generated-dev-key-123\n"


def test_a_fresh_shell_reads_the_development_env_that_make_run_wrote(tmp_path):
    dot_env = tmp_path / ".env"
    dot_env.write_text(DEV_ENV)
    result = _show(dot_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "generated-dev-key-123"]


def test_the_development_env_is_refused_with_debug_off(tmp_path):
    dot_env = tmp_path / ".env"
    dot_env.write_text(DEV_ENV)
    result = _show(dot_env, DEBUG="false", SECRET_KEY="x" * 50, SECRETS_ENCRYPTION_KEYS="k", EMAIL_URL="smtp://m:25")
    assert result.returncode != 0
    assert "SMS_DEV_ENV=1" in result.stderr and "DEBUG is off" in result.stderr


def test_a_production_env_file_is_not_read_unless_asked(tmp_path):
    dot_env = tmp_path / ".env"
    dot_env.write_text("DEBUG=true\nSECRET_KEY=from-a-production-file\n")
    assert _show(dot_env).returncode != 0  # not read: DEBUG off and no SECRET_KEY
    result = _show(dot_env, DJANGO_READ_DOT_ENV_FILE="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "from-a-production-file"]


def test_the_development_env_is_never_read_when_reading_is_switched_off(tmp_path):
    dot_env = tmp_path / ".env"
    dot_env.write_text(DEV_ENV)
    result = _show(dot_env, DJANGO_READ_DOT_ENV_FILE="false")
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
