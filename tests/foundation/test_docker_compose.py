"""The compose file, checked without a Docker engine: `docker-compose config` accepts it with a filled .env, every
service command names something that exists in the project, the app services wait for the migrations, health
checks cover every service, and the layout keeps what the runbook promises (scripts/compose_smoke.py runs it)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
APP_IMAGE = "sms-contract:latest"
LONG_RUNNING = {"postgres", "redis", "web", "worker", "beat", "sender", "backup", "proxy", "sim-node1", "sim-node2"}


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _variables_read_by_settings() -> set[str]:
    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "sms_contract" / "settings").glob("*.py"))
    return set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z_][A-Z0-9_]*)\"", text))


def _variables_read_by_gunicorn() -> set[str]:
    text = (ROOT / "sms_contract" / "gunicorn_conf.py").read_text(encoding="utf-8")
    return set(re.findall(r"os\.environ\.get\(\"([A-Z_][A-Z0-9_]*)\"", text))


def _variables_read_by_compose() -> set[str]:
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text(encoding="utf-8")))


def _app_services(compose: dict) -> dict:
    return {name: svc for name, svc in compose["services"].items() if svc.get("image") == APP_IMAGE}


def test_compose_has_the_production_services_each_with_a_health_check():
    compose = _compose()
    assert LONG_RUNNING | {"migrate"} <= set(compose["services"])
    assert {"pgdata", "redisdata", "media", "backups"} <= set(compose["volumes"])
    for name in LONG_RUNNING | {"migrate"}:
        assert "healthcheck" in compose["services"][name], name


def test_every_app_service_waits_for_the_migrations():
    services = _compose()["services"]
    for name, svc in _app_services(_compose()).items():
        if name == "migrate":
            assert "migrate" not in svc["depends_on"]
            continue
        assert svc["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert svc["depends_on"]["postgres"] == {"condition": "service_healthy"}, name
    assert services["proxy"]["depends_on"] == {"web": {"condition": "service_healthy"}}


def test_every_app_command_exists_in_the_project():
    commands = get_commands()
    for name, svc in _app_services(_compose()).items():
        cmd = svc["command"]
        if cmd[0] == "gunicorn":
            assert cmd[1:3] == ["-c", "python:sms_contract.gunicorn_conf"], name
            from sms_contract import gunicorn_conf

            module = gunicorn_conf.wsgi_app.partition(":")[0]
            assert (ROOT / (module.replace(".", "/") + ".py")).exists(), name
        elif cmd[0] == "celery":
            assert cmd[1] == "-A" and (ROOT / cmd[2] / "celery.py").exists(), name
            assert cmd[3] in {"worker", "beat"}, name
        elif cmd[:2] == ["python", "manage.py"]:
            assert cmd[2] in commands, f"{name}: manage.py {cmd[2]} does not exist"
        elif cmd[:2] == ["python", "-m"]:
            module = cmd[2].replace(".", "/")
            assert (ROOT / f"{module}.py").exists() or (ROOT / module / "__main__.py").exists(), name
        else:
            raise AssertionError(f"{name}: unknown command {cmd}")


def test_every_variable_the_app_services_set_is_read_by_settings():
    read = _variables_read_by_settings()
    for name, svc in _app_services(_compose()).items():
        for var in svc.get("environment", {}):
            assert var in read, f"{name} sets {var}, which no setting reads"


def test_env_example_documents_only_variables_that_are_read():
    read = _variables_read_by_settings() | _variables_read_by_compose() | _variables_read_by_gunicorn()
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert documented - read == set()
    assert {"SECRET_KEY", "SECRETS_ENCRYPTION_KEYS", "EMAIL_URL", "SITE_HOST", "POSTGRES_PASSWORD"} <= documented
    assert "REDIS_PASSWORD" in documented


def test_redis_has_a_password_a_memory_limit_and_separate_databases():
    compose = _compose()
    command = " ".join(compose["services"]["redis"]["command"])
    assert "--requirepass ${REDIS_PASSWORD" in command and "--maxmemory ${REDIS_MAXMEMORY" in command
    assert "--maxmemory-policy volatile-lru" in command  # queues have no expiry: never evicted
    env = compose["x-app"]["environment"]
    assert env["REDIS_URL"].endswith("/0") and env["CELERY_BROKER_URL"].endswith("/1")
    assert "CELERY_RESULT_BACKEND" not in env  # nothing reads results


def test_the_app_trusts_exactly_the_proxy_address():
    compose = _compose()
    proxy_address = compose["services"]["proxy"]["networks"]["backend"]["ipv4_address"]
    assert compose["x-app"]["environment"]["TRUSTED_PROXIES"] == proxy_address
    assert "ports" not in compose["services"]["web"]  # only the proxy faces the network


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_config_accepts_the_file_with_a_filled_env(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "SECRET_KEY=x\nSECRETS_ENCRYPTION_KEYS=y\nPOSTGRES_PASSWORD=p\nREDIS_PASSWORD=r\nSITE_HOST=sms.example.org\n"
        "EMAIL_URL=smtp://mail.example.org:25\n"
    )
    command = ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "--env-file", str(env_file)]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "ENV_FILE": str(env_file), "HOME": str(tmp_path)}
    result = subprocess.run([*command, "config", "-q"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    env_file.write_text("SECRET_KEY=x\n")  # a missing secret is refused by name
    result = subprocess.run([*command, "config", "-q"], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "set POSTGRES_PASSWORD in .env" in result.stderr
