"""Run docker-compose.yml's services natively, the way compose would, and check them (`make smoke`, CI).

No Docker engine is needed. `docker-compose config` resolves the file with a generated .env (the same file every
service reads through `env_file`), and each service's own command is started with that service's own environment,
in compose's order (`depends_on`: healthy / completed successfully). Then:

- every healthcheck command of every service passes (run as written in the file);
- beat fires entries and the worker runs them: the nightly close (its crontab set to every minute for the run)
  closes every finished month since the contract was signed, with the right figures for a month with traffic;
  the SLA sweep, the deadline reminders (mailed to a sink run here, recorded once it took them) and the outbox
  relay run too;
- through the proxy: HTTP → HTTPS, HSTS, hashed static files, an unknown host refused, mobile numbers masked in
  gunicorn's access log; `check --deploy` is clean; the broker and the cache sit in their own Redis databases,
  behind a password and a memory limit;
- everything is stopped, and the database and role made for the run are dropped.

What differs from containers, and only this: service names used as host names become 127.0.0.1 and 0.0.0.0
becomes 127.0.0.1; volume paths become folders under a temporary directory (or the bind-mounted source); the
image's WORKDIR /app is the repository and `python` the virtualenv's; the image's build step (collectstatic) runs
first; PostgreSQL is the server at SMOKE_PG_ADMIN_URL, where a role and database are created for the run.

Settings (environment, all optional):
  SMOKE_PORT_BASE        first of eight consecutive ports (default 19300): web, redis, proxy http, proxy https,
                         sender metrics, sim node 1, sim node 2, the mail server (a sink run here)
  SMOKE_WEB_PORT, SMOKE_REDIS_PORT, SMOKE_HTTP_PORT, SMOKE_HTTPS_PORT, SMOKE_SENDER_PORT, SMOKE_SIM1_PORT,
  SMOKE_SIM2_PORT, SMOKE_SMTP_PORT    one port each instead
  SMOKE_PG_ADMIN_URL     a superuser connection (default postgres://postgres@127.0.0.1:5432/postgres)
  SMOKE_DB               the role and database made for the run (default sms_smoke)
  SMOKE_KEEP=1           keep the temporary directory (logs, rendered configs) even when everything passed
"""

import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import django
import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
WORKDIR = "/app"  # the image's WORKDIR
SITE_HOST = "sms.smoke.test"
MOBILE = "13912345678"
TZ = ZoneInfo("Asia/Shanghai")  # months finish in Asia/Shanghai, as the app counts them


def log(message: str) -> None:
    print(f"[smoke {time.strftime('%H:%M:%S')}] {message}", flush=True)


class SmokeFailure(AssertionError):
    pass


# --- the resolved compose file ------------------------------------------------------------------------------------


def ports() -> dict[str, int]:
    base = int(os.environ.get("SMOKE_PORT_BASE", "19300"))
    names = ["WEB", "REDIS", "HTTP", "HTTPS", "SENDER", "SIM1", "SIM2", "SMTP"]
    chosen = {name: int(os.environ.get(f"SMOKE_{name}_PORT", base + i)) for i, name in enumerate(names)}
    for name, port in chosen.items():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                raise SmokeFailure(f"port {port} ({name}) is taken: set SMOKE_PORT_BASE or SMOKE_{name}_PORT") from None
    return chosen


def write_env_file(tmp: Path, port: dict[str, int], pg: dict) -> Path:
    from cryptography.fernet import Fernet

    db = os.environ.get("SMOKE_DB", "sms_smoke")
    values = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SITE_HOST": SITE_HOST,
        "POSTGRES_USER": db,
        "POSTGRES_DB": db,
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "POSTGRES_PORT": str(pg["port"]),
        "REDIS_PASSWORD": secrets.token_hex(16),
        "REDIS_PORT": str(port["REDIS"]),
        "REDIS_MAXMEMORY": "64mb",
        "EMAIL_URL": f"smtp://127.0.0.1:{port['SMTP']}",  # MailSink below
        "CONTRACTS_REMINDER_DAYS": "60,30,7,1",  # some deadline is always within 60 days: a reminder is due
        "WEB_PORT": str(port["WEB"]),
        "SENDER_METRICS_PORT": str(port["SENDER"]),
        "SIM_NODE1_PORT": str(port["SIM1"]),
        "SIM_NODE2_PORT": str(port["SIM2"]),
        "PROXY_HTTP_PORT": str(port["HTTP"]),
        "PROXY_HTTPS_PORT": str(port["HTTPS"]),
        "PROXY_ADDRESS": "127.0.0.1",  # natively the proxy talks to gunicorn from loopback
        "TLS_CERT_DIR": str(tmp / "certs"),
        "TASK_OUTBOX_RELAY_SECONDS": "5",
        "ASSESSMENT_SLA_CHECK_MINUTES": "1",
        "LOG_LEVEL": "INFO",
    }
    path = tmp / ".env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return path


def compose_config(env_file: Path, *extra: str) -> dict:
    """`docker-compose config` with nothing from this shell but PATH and HOME (no stray REDIS_URL & co.)."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "ENV_FILE": str(env_file)}  # noqa: S108
    result = subprocess.run(
        [
            "docker-compose",
            "--project-directory",
            str(ROOT),
            "-f",
            str(ROOT / "docker-compose.yml"),
            "--env-file",
            str(env_file),
            "--profile",
            "simulator",
            "config",
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise SmokeFailure(f"docker-compose config failed:\n{result.stderr}")
    return yaml.safe_load(result.stdout) if not extra else {}


def start_order(services: dict) -> list[str]:
    order, seen = [], set()

    def visit(name: str, path: tuple = ()) -> None:
        if name in seen:
            return
        if name in path:
            raise SmokeFailure(f"depends_on cycle: {' -> '.join((*path, name))}")
        for dep in services[name].get("depends_on", {}):
            visit(dep, (*path, name))
        seen.add(name)
        order.append(name)

    for name in services:
        visit(name)
    return order


def dockerfile_env() -> dict[str, str]:
    env = {}
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


class Native:
    """How a container's names and paths look on this machine."""

    def __init__(self, services: dict, tmp: Path):
        self.hosts = sorted(services, key=len, reverse=True)
        self.paths: dict[str, str] = {WORKDIR: str(ROOT)}
        for svc in services.values():
            for volume in svc.get("volumes", []):
                source, target = _volume(volume)
                if source.startswith("/"):
                    self.paths[target] = source
                else:  # a named volume: one folder for every service that mounts it
                    folder = tmp / "volumes" / source
                    folder.mkdir(parents=True, exist_ok=True)
                    self.paths[target] = str(folder)
        self.host_re = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, self.hosts)) + r")(?=:\d)")

    def __call__(self, value: str) -> str:
        value = self.host_re.sub("127.0.0.1", value).replace("0.0.0.0", "127.0.0.1")  # noqa: S104
        for target in sorted(self.paths, key=len, reverse=True):
            if value == target or value.startswith(target + "/"):
                return self.paths[target] + value[len(target) :]
        return value


def _volume(spec) -> tuple[str, str]:
    if isinstance(spec, dict):
        return str(spec["source"]), str(spec["target"])
    parts = spec.split(":")
    return parts[0], parts[1]


# --- processes ----------------------------------------------------------------------------------------------------


class Stack:
    def __init__(self, config: dict, tmp: Path, pg_admin: dict):
        self.services = config["services"]
        self.tmp = tmp
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.native = Native(self.services, tmp)
        self.pg_admin = pg_admin
        self.procs: dict[str, subprocess.Popen] = {}
        self.healthy: set[str] = set()
        self.completed: set[str] = set()
        self.base_env = {
            **dockerfile_env(),
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
            "HOME": str(tmp / "home"),
            "LANG": "C.UTF-8",
            "HOSTNAME": socket.gethostname(),
        }
        (tmp / "home").mkdir()
        self.machine_local = {  # what each container has to itself
            "STATIC_ROOT": str(tmp / "static"),
            "CELERY_BEAT_HEARTBEAT_FILE": str(tmp / "beat.alive"),
        }

    def env(self, name: str) -> dict[str, str]:
        env = dict(self.base_env)
        for key, value in (self.services[name].get("environment") or {}).items():
            env[key] = self.native(str(value if value is not None else ""))
        if self.services[name].get("image") == "sms-contract:latest":
            env.update(self.machine_local)
        return env

    def command(self, name: str) -> list[str]:
        return [self.native(str(arg).replace("$$", "$")) for arg in self.services[name]["command"]]

    def start(self, name: str, argv: list[str], env: dict, cwd: Path = ROOT) -> None:
        log(f"start {name}: {shlex.join(argv)}")
        out = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def run(self, name: str, argv: list[str], env: dict | None = None, timeout: float = 300) -> str:
        result = subprocess.run(
            argv, env=env or self.env(name), cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise SmokeFailure(f"{name}: {shlex.join(argv)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def healthcheck(self, name: str) -> subprocess.CompletedProcess | None:
        check = self.services[name].get("healthcheck")
        if not check:
            return None
        test = [str(t).replace("$$", "$") for t in check["test"]]
        env = self.env(name)
        if name == "postgres":  # the server is not in a container: reach it over TCP
            env.update(PGHOST=self.pg_admin["host"], PGPORT=str(self.pg_admin["port"]))
        shell = test[0] == "CMD-SHELL"
        argv = ["/bin/sh", "-c", self.native(test[1])] if shell else [self.native(t) for t in test[1:]]
        try:
            return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(argv, 124, "", f"timed out: {exc}")

    def wait_healthy(self, name: str, timeout: float = 180) -> None:
        if name in self.healthy:
            return
        deadline = time.monotonic() + timeout
        while True:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise SmokeFailure(f"{name} exited ({proc.returncode}); log: {self.logs / (name + '.log')}")
            result = self.healthcheck(name)
            if result is None or result.returncode == 0:
                log(f"{name} healthy")
                self.healthy.add(name)
                return
            if time.monotonic() > deadline:
                raise SmokeFailure(f"{name} never healthy: {result.stdout}{result.stderr}")
            time.sleep(2)

    def wait_completed(self, name: str, timeout: float = 600) -> None:
        if name in self.completed:
            return
        proc = self.procs[name]
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise SmokeFailure(f"{name} still running after {timeout} s") from None
        if code != 0:
            raise SmokeFailure(f"{name} exited {code}; log: {self.logs / (name + '.log')}")
        log(f"{name} completed successfully")
        self.completed.add(name)

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                log(f"stop {name}")
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(45)
            except subprocess.TimeoutExpired:
                log(f"{name} ignored SIGTERM: SIGKILL")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


# --- services without our image -----------------------------------------------------------------------------------


def pg_admin_from_env() -> dict:
    url = urlsplit(os.environ.get("SMOKE_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    return {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "password": url.password or "",
        "dbname": url.path.lstrip("/") or "postgres",
    }


def pg_execute(admin: dict, *statements: str) -> None:
    import psycopg2

    conn = psycopg2.connect(**admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)
    conn.close()


def start_postgres(stack: Stack) -> None:
    """Instead of the postgres container: its role and database on the existing server, from its environment."""
    env = stack.services["postgres"]["environment"]
    user, db, password = env["POSTGRES_USER"], env["POSTGRES_DB"], env["POSTGRES_PASSWORD"]
    log(f"postgres: role and database {db!r} on {stack.pg_admin['host']}:{stack.pg_admin['port']}")
    pg_execute(
        stack.pg_admin,
        f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)',
        f'DROP ROLE IF EXISTS "{user}"',
        f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'",
        f'CREATE DATABASE "{db}" OWNER "{user}"',
    )


def drop_postgres(stack: Stack) -> None:
    env = stack.services["postgres"]["environment"]
    pg_execute(
        stack.pg_admin,
        f'DROP DATABASE IF EXISTS "{env["POSTGRES_DB"]}" WITH (FORCE)',
        f'DROP ROLE IF EXISTS "{env["POSTGRES_USER"]}"',
    )


def start_redis(stack: Stack) -> None:
    data = stack.tmp / "redis"
    data.mkdir()
    argv = stack.command("redis") + ["--bind", "127.0.0.1", "--dir", str(data), "--save", ""]
    stack.start("redis", argv, stack.env("redis"), cwd=data)


def render_template(text: str, env: dict) -> str:
    """envsubst as the nginx image runs it: only variables defined in the environment are replaced."""
    for name in sorted(env, key=len, reverse=True):
        text = text.replace("${" + name + "}", env[name])
    return text


def start_proxy(stack: Stack) -> None:
    env = stack.env("proxy")
    root = stack.tmp / "nginx"
    (root / "conf.d").mkdir(parents=True)
    templates = Path(stack.native("/etc/nginx/templates"))
    for template in templates.glob("*.template"):
        (root / "conf.d" / template.name.removesuffix(".template")).write_text(
            render_template(template.read_text(encoding="utf-8"), env), encoding="utf-8"
        )
    temp = "\n".join(
        f"    {kind}_temp_path {root / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (root / "nginx.conf").write_text(
        f"worker_processes 1;\npid {root / 'nginx.pid'};\nevents {{ worker_connections 256; }}\n"
        f"http {{\n    access_log {stack.logs / 'proxy-access.log'};\n{temp}\n"
        f"    include {root / 'conf.d'}/*.conf;\n}}\n",
        encoding="utf-8",
    )
    argv = stack.command("proxy") + ["-e", "stderr", "-p", str(root), "-c", str(root / "nginx.conf")]
    stack.start("proxy", argv, env, cwd=root)


# --- the run ------------------------------------------------------------------------------------------------------

SETUP = """
from datetime import date, datetime
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from billing.schedule import CLOSE_MONTH_TASK
from contracts.tasks import REMINDER_TASK
from contracts.models import Contract
from gateway.models import CarrierNode, DailyCount
contract = Contract.objects.get()
CarrierNode.objects.filter(name="sim-node1").update(port={sim1})
CarrierNode.objects.filter(name="sim-node2").update(port={sim2})
# a month with traffic: its statement must bill exactly these units
DailyCount.objects.create(contract=contract, day=date({y}, {m}, 2), accepted_messages=1234, accepted_units=1234,
                          delivered_messages=1234, delivered_units=1234)
every_minute, _ = CrontabSchedule.objects.get_or_create(minute="*", hour="*", day_of_month="*", month_of_year="*",
                                                        day_of_week="*", timezone="Asia/Shanghai")
PeriodicTask.objects.filter(task__in=[CLOSE_MONTH_TASK, REMINDER_TASK]).update(crontab=every_minute)
from django.contrib.auth.models import Group, User
police = User.objects.create_user("smoke-police", email="police@smoke.test", is_staff=True)
police.groups.add(Group.objects.get(name="police_staff"))
print("contract", contract.number, contract.signed_on)
"""

REMINDERS = """
from contracts.models import DeadlineReminder
for r in DeadlineReminder.objects.all():
    print("reminder", r.kind, r.status, r.recipients or "-")
"""

STATEMENTS = """
from billing.models import Statement
for s in Statement.objects.order_by("year", "month"):
    print("statement", s.year, s.month, s.units, s.gross_fen, s.state)
"""


def finished_months(since: date, today: date) -> list[tuple[int, int]]:
    months, (y, m) = [], (since.year, since.month)
    while (y, m) < (today.year, today.month):
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


class MailSink:
    """A mail server on loopback that accepts every message and keeps it (the reminders' EMAIL_URL)."""

    def __init__(self, port: int):
        import socketserver
        import threading

        self.messages: list[bytes] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 sink ESMTP\r\n")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"DATA":
                        self.wfile.write(b"354 go on\r\n")
                        body = b"".join(iter(self.rfile.readline, b".\r\n"))
                        sink.messages.append(body)
                        self.wfile.write(b"250 kept\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "-k", "--max-time", "15", *args], capture_output=True, text=True)


def checks(stack: Stack, port: dict[str, int], contract_signed: date, mail: MailSink) -> list[str]:
    failures = []

    def check(ok: bool, what: str) -> None:
        log(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    for name in stack.services:
        result = stack.healthcheck(name)
        if result is not None:
            check(result.returncode == 0, f"healthcheck of {name} passes")

    # beat fires and the worker runs: the close (every minute for this run), the SLA sweep, the outbox relay
    today = datetime.now(TZ).date()
    expected = finished_months(contract_signed, today)
    last = expected[-1]
    deadline, rows = time.monotonic() + 150, []
    while time.monotonic() < deadline:
        out = stack.run("web", ["python", "manage.py", "shell", "-c", STATEMENTS])
        rows = [line.split()[1:] for line in out.split("\n") if line.startswith("statement ")]
        worker_log = (stack.logs / "worker.log").read_text(errors="replace")
        # wait for each task to have finished, not merely been received (a received SLA sweep is not a run one)
        tasks = ("outbox_relay_task", "sla_check_task", "close_month_task", "deadline_reminders_task")
        ran = all(re.search(rf"Task [\w.]+\.{task}\[[^\]]+\] succeeded", worker_log) for task in tasks)
        ran = ran and mail.messages
        if len(rows) >= len(expected) and ran:
            break
        time.sleep(5)
    worker_log = (stack.logs / "worker.log").read_text(errors="replace")
    beat_log = (stack.logs / "beat.log").read_text(errors="replace")
    check("Sending due task" in beat_log and "billing.tasks.close_month_task" in beat_log, "beat sent the close")
    check(
        re.search(r"Task billing\.tasks\.close_month_task\[[^\]]+\] succeeded", worker_log) is not None,
        "the worker ran the close",
    )
    check(
        [(int(r[0]), int(r[1])) for r in rows] == expected,
        f"a statement for every finished month since signing ({len(expected)}): {[r[:2] for r in rows]}",
    )
    month = [r for r in rows if (int(r[0]), int(r[1])) == last]
    check(bool(month) and month[0][2:4] == ["1234", "3702"], f"{last[0]}-{last[1]:02d}: 1,234 units, 37.02 yuan")
    check(
        re.search(r"Task assessment\.tasks\.sla_check_task\[[^\]]+\] succeeded", worker_log) is not None,
        "the worker ran the SLA sweep from beat",
    )
    check(
        re.search(r"Task ops\.tasks\.outbox_relay_task\[[^\]]+\] succeeded", worker_log) is not None,
        "the worker ran the outbox relay from beat",
    )

    reminders = stack.run("web", ["python", "manage.py", "shell", "-c", REMINDERS])
    reminders = [line.split()[1:] for line in reminders.split("\n") if line.startswith("reminder ")]
    check(
        bool(reminders) and all(r[1] == "sent" and "police@smoke.test" in r[2] for r in reminders),
        f"beat's reminders ran and were recorded as sent once the mail server took them: {reminders}",
    )
    subjects = [m for m in mail.messages if "police@smoke.test" in m.decode(errors="replace")]
    check(len(subjects) == len(reminders), f"the mail server received {len(mail.messages)} reminder(s)")

    # the front door
    https = f"https://{SITE_HOST}:{port['HTTPS']}"
    resolve = [
        "--resolve",
        f"{SITE_HOST}:{port['HTTPS']}:127.0.0.1",
        "--resolve",
        f"{SITE_HOST}:{port['HTTP']}:127.0.0.1",
    ]
    plain = curl(
        *resolve, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", f"http://{SITE_HOST}:{port['HTTP']}/x/"
    )
    check(plain.stdout.startswith(f"301 https://{SITE_HOST}/x/"), f"HTTP is redirected to HTTPS ({plain.stdout})")
    login = curl(*resolve, "-D", "-", f"{https}/admin/login/")
    check(" 200" in login.stdout.split("\n", 1)[0], "the admin login page answers over HTTPS")
    check("strict-transport-security: max-age=31536000" in login.stdout.lower(), "HSTS on HTTPS answers")
    css = re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css", login.stdout)
    check(css is not None, "the admin's stylesheet is linked under its hashed name")
    if css:
        got = curl(*resolve, "-H", "Accept-Encoding: gzip", "-o", "/dev/null", "-D", "-", https + css.group(0))
        check(
            " 200" in got.stdout.split("\n", 1)[0] and "content-encoding: gzip" in got.stdout.lower(),
            "the stylesheet is served, compressed, with DEBUG off",
        )
    big = "/static/admin/js/vendor/jquery/jquery.js"  # larger than nginx's memory buffers
    size = (Path(django.__file__).parent / "contrib/admin/static/admin/js/vendor/jquery/jquery.js").stat().st_size
    got = curl(*resolve, "-o", "/dev/null", "-w", "%{http_code} %{size_download}", https + big)
    check(got.stdout == f"200 {size}", f"a large static file passes the proxy whole ({got.stdout}, {size} bytes)")
    stranger = curl("--resolve", f"other.test:{port['HTTPS']}:127.0.0.1", f"https://other.test:{port['HTTPS']}/")
    check(stranger.returncode != 0 and stranger.stdout == "", "an unknown host name gets no answer")
    curl(*resolve, "-o", "/dev/null", f"{https}/api/v1/optouts/{MOBILE}/")
    time.sleep(1)
    web_log = (stack.logs / "web.log").read_text(errors="replace")
    check(MOBILE not in web_log and "/api/v1/optouts/139****5678/" in web_log, "the access log masks mobile numbers")
    proxy_log = (stack.logs / "proxy.log").read_text(errors="replace")
    check(MOBILE not in proxy_log and "/api/v1/optouts/***/" in proxy_log, "the proxy's access log holds no number")
    forwarded = re.search(r"^127\.0\.0\.1 127\.0\.0\.1 .*optouts", web_log, re.M)
    check(forwarded is not None, "the access log shows the client as the proxy saw it")

    # settings and Redis
    deploy = subprocess.run(
        ["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=stack.env("web"),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    check(
        deploy.returncode == 0,
        f"check --deploy is clean: {deploy.stdout.strip()[-300:]} {deploy.stderr.strip()[-500:]}",
    )
    redis_env = stack.env("redis")
    cli = ["redis-cli", "-p", str(port["REDIS"])]
    noauth = subprocess.run([*cli, "ping"], capture_output=True, text=True)
    check("NOAUTH" in noauth.stdout + noauth.stderr, "Redis refuses clients without the password")
    maxmemory = subprocess.run([*cli, "config", "get", "maxmemory"], env=redis_env, capture_output=True, text=True)
    check(maxmemory.stdout.split()[-1] == str(64 * 1024 * 1024), "Redis has its memory limit")
    broker = subprocess.run(
        [*cli, "-n", "1", "--scan", "--pattern", "_kombu*"], env=redis_env, capture_output=True, text=True
    )
    cache = subprocess.run(
        [*cli, "-n", "0", "--scan", "--pattern", "_kombu*"], env=redis_env, capture_output=True, text=True
    )
    check(
        bool(broker.stdout.strip()) and not cache.stdout.strip(),
        "the broker lives in Redis database 1, not the cache's",
    )
    return failures


def main() -> int:
    port = ports()
    pg = pg_admin_from_env()
    tmp = Path(tempfile.mkdtemp(prefix="compose-smoke-"))
    tmp.chmod(0o755)  # nginx's workers drop root (user nobody) and buffer large answers in files under it
    log(f"working in {tmp}; ports {port}")
    subprocess.run([str(ROOT / "scripts" / "self-signed-cert.sh"), SITE_HOST, str(tmp / "certs")], check=True)
    env_file = write_env_file(tmp, port, pg)
    config = compose_config(env_file)
    compose_config(env_file, "--quiet")  # the validation CI asks for
    services = config["services"]
    stack = Stack(config, tmp, pg)
    mail = MailSink(port["SMTP"])
    order = start_order(services)
    log("compose order: " + " → ".join(order))
    failures: list[str] = []
    try:
        stack.run("web", ["python", "manage.py", "collectstatic", "--noinput", "--verbosity", "0"])  # the image build
        for name in order:
            for dep, cond in (services[name].get("depends_on") or {}).items():
                if cond.get("condition") == "service_completed_successfully":
                    stack.wait_completed(dep)
                elif cond.get("condition") == "service_healthy":
                    stack.wait_healthy(dep)
            if name == "postgres":
                start_postgres(stack)
            elif name == "redis":
                start_redis(stack)
            elif name == "proxy":
                start_proxy(stack)
            else:
                stack.start(name, stack.command(name), stack.env(name))
            if name == "migrate":  # the runbook's first steps once the schema is there
                stack.wait_completed("migrate")
                stack.run("web", ["python", "manage.py", "load_contract"])
                stack.run("web", ["python", "manage.py", "setup_demo_nodes", "--host", "127.0.0.1"])
                last_month = finished_months(date(2000, 1, 1), datetime.now(TZ).date())[-1]
                out = stack.run(
                    "web",
                    [
                        "python",
                        "manage.py",
                        "shell",
                        "-c",
                        SETUP.format(sim1=port["SIM1"], sim2=port["SIM2"], y=last_month[0], m=last_month[1]),
                    ],
                )
                signed = date.fromisoformat(
                    next(line for line in out.split("\n") if line.startswith("contract ")).split()[-1]
                )
        for name in order:
            if name != "migrate":
                stack.wait_healthy(name)
        failures = checks(stack, port, signed, mail)
    except SmokeFailure as exc:
        failures.append(str(exc))
        log(f"FAIL {exc}")
    finally:
        stack.stop()
        mail.close()
        drop_postgres(stack)
    if failures:
        log(f"{len(failures)} check(s) failed; logs kept in {tmp / 'logs'}")
        return 1
    log("every check passed")
    if not os.environ.get("SMOKE_KEEP"):
        import shutil

        shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
