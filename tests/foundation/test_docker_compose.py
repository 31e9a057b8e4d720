"""No Docker engine runs here, so the compose file is checked statically: it parses, every
service command names something that exists in the project, and every variable the app
services set is one the settings read."""

import re
from pathlib import Path

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
APP_IMAGE = "sms-contract:latest"


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _variables_read_by_settings() -> set[str]:
    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "sms_contract" / "settings").glob("*.py"))
    return set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z_][A-Z0-9_]*)\"", text))


def _app_services(compose: dict) -> dict:
    return {name: svc for name, svc in compose["services"].items() if svc.get("image") == APP_IMAGE}


def test_compose_parses_and_has_the_production_services():
    compose = _compose()
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(compose["services"])
    assert {"pgdata", "redisdata"} <= set(compose["volumes"])
    for name in ("postgres", "redis", "web"):
        assert "healthcheck" in compose["services"][name], name


def test_every_app_command_exists_in_the_project():
    commands = get_commands()
    for name, svc in _app_services(_compose()).items():
        cmd = svc["command"]
        if cmd[0] == "gunicorn":
            module, _, attr = cmd[1].partition(":")
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
    read = _variables_read_by_settings() | {"POSTGRES_PASSWORD"}  # the last one is for compose itself
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert documented - read == set()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "DEBUG"} <= documented
