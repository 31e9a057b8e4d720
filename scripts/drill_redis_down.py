"""Fault drill: Redis stops while a carrier uses the portal (production settings, gunicorn, a real worker and beat).

    .venv/bin/python scripts/drill_redis_down.py [--code DIR]      (about 3 minutes; docs/operations.md "Jobs")

The carrier answers a fault ticket late, which records an SLA breach whose e-mail to police staff is a Celery
task. With Redis stopped the page must answer at once and the task wait in the outbox (ops.PendingTask); with
Redis back, beat's relay publishes it, the worker mails the notice. `--code DIR` runs the web process from another
source tree (e.g. `git archive main | tar -x -C /tmp/main`) to see how an older version behaves.

Uses its own Redis (DRILL_REDIS_PORT, default 19391), web port (DRILL_WEB_PORT, 19392) and database
(DRILL_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/sms_drill_redis, created and migrated here).
"""

import argparse
import http.client
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "sms.drill.test"

SETUP = """
from datetime import timedelta
from django.contrib.auth.models import Group, User
from django.utils import timezone
from assessment.models import FaultTicket
from contracts.roles import sync_roles
from contracts.services import contract_load_seed
contract = contract_load_seed()
sync_roles()
carrier, _ = User.objects.get_or_create(username="drill-carrier")
carrier.set_password("drill-pass-123456"); carrier.save()
carrier.groups.add(Group.objects.get(name="carrier_staff")); contract.supplier.members.add(carrier)
police, _ = User.objects.get_or_create(username="drill-police", defaults={"email": "police@drill.test"})
police.groups.add(Group.objects.get(name="police_staff"))
ticket = FaultTicket.objects.create(contract=contract, severity="minor", description="drill: node 2 unreachable",
                                    reported_at=timezone.now() - timedelta(hours=3), reported_by="drill")
print("ticket", ticket.pk)
"""

STATE = """
from assessment.models import SlaBreach
try:
    from ops.models import PendingTask
    waiting = list(PendingTask.objects.values_list("task", "attempts", "last_error"))
except ImportError:
    waiting = "(no outbox in this version)"
print("breaches", list(SlaBreach.objects.values_list("clock", "emailed_at")))
print("outbox", waiting)
"""


class Browser:
    """Just enough of a browser behind the proxy: cookies, CSRF, the proxy's forwarded headers."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, form: dict | None = None, timeout: float = 60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            form = {**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            body = urlencode(form)
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "Referer": f"https://{HOST}{path}"})
        started = time.monotonic()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read()
        elapsed = time.monotonic() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response.status, elapsed, content.decode(errors="replace")


def _wait(predicate, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if predicate():
                return time.monotonic() - started
        except OSError:  # not listening yet
            pass
        time.sleep(0.5)
    raise SystemExit(f"drill failed: {what} within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", type=Path, default=ROOT, help="source tree the web process runs (default: this one)")
    code = parser.parse_args().code.resolve()
    redis_port = int(os.environ.get("DRILL_REDIS_PORT", "19391"))
    web_port = int(os.environ.get("DRILL_WEB_PORT", "19392"))
    db_url = os.environ.get("DRILL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sms_drill_redis")
    tmp = Path(tempfile.mkdtemp(prefix="drill-redis-down-"))
    password = secrets.token_hex(12)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sms_contract.settings.base",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECRETS_ENCRYPTION_KEYS": "kG6Y6wVqf8nq7Y1M4f2hJ0pX3cQ9rT5uW8zA1bC4dE0=",
        "DATABASE_URL": db_url,
        "EMAIL_URL": f"filemail:///{tmp / 'mail'}",  # django-environ drops one leading slash
        "ALLOWED_HOSTS": HOST,
        "TRUSTED_PROXIES": "127.0.0.1",
        "REDIS_URL": f"redis://:{password}@127.0.0.1:{redis_port}/0",
        "CELERY_BROKER_URL": f"redis://:{password}@127.0.0.1:{redis_port}/1",
        "TASK_OUTBOX_RELAY_SECONDS": "10",
        "CELERY_BEAT_HEARTBEAT_FILE": str(tmp / "beat.alive"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": str(code),
    }
    procs: dict[str, subprocess.Popen] = {}

    def start(name: str, argv: list[str], cwd: Path = ROOT) -> None:
        log = (tmp / f"{name}.log").open("ab")
        procs[name] = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # fmt: skip

    def manage(*args: str, cwd: Path = ROOT) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=cwd, env=env, check=True,
                              capture_output=True, text=True).stdout  # fmt: skip

    def redis_start() -> None:
        start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--requirepass", password,
                        "--save", "", "--appendonly", "no", "--dir", str(tmp)])  # fmt: skip
        time.sleep(0.5)

    def stop(name: str) -> None:
        proc = procs.pop(name)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)

    url = urlsplit(db_url)
    admin = url._replace(path="/postgres").geturl()
    name = url.path.lstrip("/")
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    print("migrating a fresh database ...", flush=True)
    manage("migrate", "--noinput", "-v", "0")
    ticket = int(re.search(r"ticket (\d+)", manage("shell", "-c", SETUP)).group(1))
    try:
        redis_start()
        bind = ["--bind", f"127.0.0.1:{web_port}", "--workers", "2"]
        if (code / "sms_contract" / "gunicorn_conf.py").exists():
            start("web", ["gunicorn", "-c", "python:sms_contract.gunicorn_conf", *bind], cwd=code)
        else:  # an older tree: gunicorn's defaults (its timeout is 30 s too)
            start("web", ["gunicorn", "sms_contract.wsgi:application", *bind], cwd=code)
        browser = Browser(web_port)
        _wait(lambda: browser.request("GET", "/healthz/")[0] == 200, 60, "web up")
        status, _, page = browser.request("GET", "/accounts/login/")
        status, _, _ = browser.request(
            "POST",
            "/accounts/login/",
            {"username": "drill-carrier", "password": "drill-pass-123456", "next": "/portal/"},
        )
        assert status == 302, f"login failed: {status}"

        stop("redis")
        print(f"Redis stopped; the carrier answers fault ticket {ticket} (3 h after it was reported) ...", flush=True)
        status, elapsed, _ = browser.request("POST", f"/portal/tickets/{ticket}/respond/", {"at": ""}, timeout=120)
        print(f"  POST /portal/tickets/{ticket}/respond/ -> HTTP {status} in {elapsed:.2f} s")
        health = browser.request("GET", "/healthz/")
        print(f"  GET /healthz/ -> HTTP {health[0]} in {health[1]:.2f} s")
        print("  " + manage("shell", "-c", STATE).strip().replace("\n", "\n  "))

        if not (code / "ops").exists():
            print("  this version has no outbox: nothing keeps the task while Redis is down")
            return 0
        redis_start()
        back = time.monotonic()
        print("Redis started again; worker and beat start ...", flush=True)
        start("worker", ["celery", "-A", "sms_contract", "worker", "--loglevel", "INFO", "--concurrency", "1",
                         "-n", "drill-redis@%h"])  # fmt: skip
        start("beat", ["celery", "-A", "sms_contract", "beat", "--loglevel", "INFO",
                       "--schedule", str(tmp / "beat-schedule")])  # fmt: skip
        mail = tmp / "mail"
        _wait(lambda: mail.exists() and any(mail.iterdir()), 300, "the breach notice mailed")
        print(f"  the breach notice was mailed {time.monotonic() - back:.0f} s after Redis came back:")
        message = next(mail.iterdir()).read_text(errors="replace")
        print("    " + "\n    ".join(line for line in message.splitlines() if line.startswith(("Subject", "To"))))
        time.sleep(2)
        print("  " + manage("shell", "-c", STATE).strip().replace("\n", "\n  "))
    finally:
        for proc_name in list(procs):
            stop(proc_name)
        subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=False)
    print(f"logs: {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
