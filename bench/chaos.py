"""Chaos suite for the sender: real processes on loopback, one fault per scenario, and what became of every
notice.

    .venv/bin/python bench/chaos.py                              # every scenario, 2,000 notices each
    .venv/bin/python bench/chaos.py --scenario sender_kill --messages 5000 --outage 30

Never touches a shared server: it creates its OWN throw-away PostgreSQL cluster (initdb into a temporary
folder with the server binaries of /usr/lib/postgresql/<version>/bin, started as the `postgres` user when
run as root, on 127.0.0.1:--pg-port, default 21432, trust authentication on loopback; stopped and deleted
at the end) and its OWN Redis (`redis-server` on --redis-port, default 17390), so that the "PostgreSQL
restarted" and "Redis stopped" scenarios can stop them. Per scenario: two simulated nodes (`python -m
gateway.cmpp.simulator`, separate processes, each capped at --rate segments/s so the fault lands mid-run),
two `runsender` processes, --messages notices; the fault starts once a third is acknowledged (accepted,
for the intake scenarios). Printed per scenario:

accepted (queued) / delivered / waiting for a report / final without report (no_report) / failed / lost
(neither received by a node nor finally failed) / sent twice (a destination received by the nodes more
than once) / sent twice and flagged (possible_duplicate) / switch seconds (fault start -> the other node
carries the traffic: its throughput over 1 s reaches 1.5x its share before the fault; for a sender kill:
the dead sender's leases all released or taken over).

Scenarios: node_kill (SIGKILL of node 1, back after 5 s), sender_kill (SIGKILL of sender 1, restarted
after 2 s), redis_stop (Redis down for --outage s), both_down (both nodes SIGKILLed for --outage s),
node_stalled (node 1 SIGSTOPped for --outage s: connection open, nothing answered), node_result8 (node 1
restarted answering result 8 above 1 msg/s), node_refusing (node 1 restarted refusing every destination).

Intake scenarios: the notices are not put in the queue by the script but posted by a client to the web
(gunicorn with the production settings and sms_contract/gunicorn_conf.py, 2 workers) in batches of
--post-batch at --post-rate notices/s, each with a client_ref; the client (the bundled SmsApiClient) sends
an unanswered or 503-answered batch again with the same client_refs, as docs/api.md promises is safe, one
second later, until it is answered. Checked: every notice answered 2xx is stored exactly once, none is lost,
nothing is sent twice unflagged, and what the web answered meanwhile (status, JSON or not, slowest answer).
web_kill (the whole gunicorn, master and workers, SIGKILLed while a batch is in flight; started again
after 2 s), web_workers_kill (its workers SIGKILLed while a batch is in flight; the master forks new ones
and the client's own second try reaches them), pg_restart (`pg_ctl restart -m fast` of the cluster),
pg_stop (cluster stopped for --outage s, then started), intake_redis_stop (Redis stopped for --outage s
while notices are posted: intake must keep answering 202, /healthz/ "degraded"). The senders are not
restarted: they have to pause and resume by themselves.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "chaos"
DB_NAME = "sms_chaos"
SECRET = "chaos-s3cret"
SCENARIOS = ["node_kill", "sender_kill", "redis_stop", "both_down", "node_stalled", "node_result8", "node_refusing"]
INTAKE_SCENARIOS = ["web_kill", "web_workers_kill", "pg_restart", "pg_stop", "intake_redis_stop"]


class Cluster:
    """A throw-away PostgreSQL cluster in a temporary folder: trust authentication, loopback only."""

    def __init__(self, port: int) -> None:
        self.port = port
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
        if not found:
            raise SystemExit("chaos: no PostgreSQL server binaries in /usr/lib/postgresql/<version>/bin")
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="sms-chaos-pg-"))
        self.data = self.dir / "data"
        self.url = f"postgres://postgres@127.0.0.1:{port}"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *argv: str) -> None:
        # Output to a file, never to a pipe: a server that pg_ctl (re)starts inherits it and would hold it open.
        with (self.dir / "pg_ctl.log").open("ab") as log:
            subprocess.run([*self.as_user, *argv], check=True, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)

    def create(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale", "C", "--no-sync")  # fmt: skip
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=100"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"), "-m", "fast",
                  "-w", "-t", "60", "restart")  # fmt: skip

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql: str, db: str = "postgres") -> None:
        subprocess.run(["psql", f"{self.url}/{db}", "-qc", sql], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Poster(threading.Thread):
    """The 12123 side: posts the notices in batches with client_refs at a steady pace; a batch that gets no
    answer (connection refused or cut, timeout) or a 5xx is sent again with the same items one second later,
    until a 2xx. Every answer is recorded: (seconds since start, status or error name, JSON?, code, seconds)."""

    def __init__(self, url: str, key: str, secret: str, total: int, batch: int, rate: float, run: int) -> None:
        super().__init__(daemon=True)
        from gateway.apiclient import SmsApiClient

        self.api = SmsApiClient(url, key, secret, timeout=40)  # gunicorn's own timeout is 30 s
        self.total, self.batch, self.rate, self.run_id = total, batch, rate, run
        self.accepted: dict[str, int] = {}  # client_ref -> message id, from 2xx answers
        self.duplicates = 0  # items answered `duplicate` (stored by an earlier try of their batch)
        self.refused = 0  # items of batches refused with a 4xx
        self.answers: list[tuple[float, str, bool, str, float]] = []
        self.in_flight = threading.Event()
        self.stop = threading.Event()
        self.started = time.monotonic()

    def items(self, first: int) -> list[dict]:
        return [
            {"mobile": f"138{n:08d}", "content": "您的机动车有一条交通违法记录，请及时处理。",
             "client_ref": f"chaos-{self.run_id}-{n}"}
            for n in range(first, min(first + self.batch, self.total))
        ]  # fmt: skip

    def run(self) -> None:
        from gateway.apiclient import ApiError

        for first in range(0, self.total, self.batch):
            items = self.items(first)
            due = self.started + first / self.rate
            time.sleep(max(0.0, due - time.monotonic()))
            while not self.stop.is_set():
                at = time.monotonic()
                self.in_flight.set()
                try:
                    answer = self.api.send_batch(items)
                    outcome, is_json, code = "2xx", True, ""
                except ApiError as exc:
                    answer, outcome, is_json, code = None, str(exc.status), exc.code != "not_json", exc.code
                except (OSError, http.client.HTTPException) as exc:
                    answer, outcome, is_json, code = None, type(exc).__name__, False, ""
                    self.api.close()
                finally:
                    self.in_flight.clear()
                self.answers.append((at - self.started, outcome, is_json, code, time.monotonic() - at))
                if answer is not None:
                    for item in answer["accepted"]:
                        self.accepted[items[item["index"]]["client_ref"]] = item["id"]
                        self.duplicates += bool(item.get("duplicate"))
                    break
                if outcome.startswith("4") and code != "nonce_reused":
                    self.refused += len(items)  # not expected here: counted, not sent again
                    break
                time.sleep(1.0)


class Chaos:
    def __init__(self, args, pg_url: str) -> None:
        self.args = args
        self.pg_url = pg_url
        self.redis_url = f"redis://127.0.0.1:{args.redis_port}/0"
        self.ports = [free_port(), free_port()]
        self.web_port = args.web_port or free_port()
        self.sims: list[subprocess.Popen | None] = [None, None]
        self.senders: list[subprocess.Popen | None] = [None, None]
        self.web: subprocess.Popen | None = None
        self.cluster: Cluster | None = None
        self.api_key = ("", "")
        self.run = 0

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": f"{self.pg_url}/{DB_NAME}",
            "DJANGO_SETTINGS_MODULE": "sms_contract.settings.base",
            "DEBUG": "false",
            "SECRET_KEY": "chaos-secret-key-not-for-production-0123456789abcdef",
            "SECRETS_ENCRYPTION_KEYS": "kG6Y6wVqf8nq7Y1M4f2hJ0pX3cQ9rT5uW8zA1bC4dE0=",
            "EMAIL_URL": "dummymail://",
            "LOG_LEVEL": "INFO",
            "REDIS_URL": self.redis_url,
            "GATEWAY_SENDER_POLL_SECONDS": "0.2",
            "GATEWAY_SENDER_JOURNAL_DIR": str(OUT / "journal"),
            "ALLOWED_HOSTS": "127.0.0.1",
            # The front door (nginx) terminates TLS; the client here talks to gunicorn directly, in plain HTTP.
            "SECURE_SSL_REDIRECT": "false",
            "WEB_CONCURRENCY": "2",
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            **(
                {"GATEWAY_NO_REPORT_GRACE_SECONDS": str(self.args.no_report_grace)}
                if self.args.no_report_grace is not None
                else {}
            ),
        }

    # ------------------------------------------------------------------ processes
    def redis_start(self) -> None:
        subprocess.run(
            ["redis-server", "--port", str(self.args.redis_port), "--save", "", "--appendonly", "no", "--daemonize",
             "yes"], check=True, capture_output=True,
        )  # fmt: skip
        time.sleep(0.3)

    def redis_stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.args.redis_port), "shutdown", "nosave"], capture_output=True)

    def sim_start(self, i: int, *extra: str) -> None:
        log = (OUT / f"{self.scenario}-sim{i}.out").open("a")
        self.sims[i] = subprocess.Popen(
            [sys.executable, "-m", "gateway.cmpp.simulator", "--port", str(self.ports[i]), "--sp-id", "901234",
             "--secret", SECRET, "--node-id", str(i + 1), "--report-delay", "0.3", "--quiet",
             "--log", str(OUT / f"{self.scenario}-node{i}.jsonl"), *extra],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def sender_start(self, i: int) -> None:
        log = (OUT / f"{self.scenario}-sender{i}.log").open("a")
        self.senders[i] = subprocess.Popen(
            [sys.executable, "manage.py", "runsender", "--metrics-port", "-1", "--batch", "200",
             "--response-timeout", "3"],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def web_start(self) -> None:
        log = (OUT / f"{self.scenario}-web.log").open("a")
        self.web = subprocess.Popen(
            ["gunicorn", "-c", "python:sms_contract.gunicorn_conf", "--bind", f"127.0.0.1:{self.web_port}"],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def web_kill(self, sig=signal.SIGKILL) -> None:
        """The master and its workers at once (its own process group), as a crash or an OOM kill of the
        container does."""
        if self.web is not None and self.web.poll() is None:
            os.killpg(self.web.pid, sig)
            self.web.wait(30)

    def web_ready(self, timeout: float = 60) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=2)
                conn.request("GET", "/healthz/", headers={"Host": "127.0.0.1"})
                if conn.getresponse().status in (200, 503):
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("chaos: the web did not come up")

    @staticmethod
    def kill(proc: subprocess.Popen | None, sig=signal.SIGKILL) -> None:
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    # ------------------------------------------------------------------ database
    def reset(self, queued: int) -> None:
        from django.db import connection

        with connection.cursor() as c:
            c.execute(
                "TRUNCATE gateway_messagesegment, gateway_unmatchedreport, gateway_dailycount, "
                "gateway_nodestatechange RESTART IDENTITY"
            )
            c.execute("DELETE FROM gateway_message")
            c.execute("SELECT id FROM contracts_contract LIMIT 1")
            contract_id = c.fetchone()[0]
            self.run += 1
            c.execute(
                """
                INSERT INTO gateway_message (contract_id, client_ref, mobile, content, src_id, units, segments,
                    status, stat, created_at, valid_until, lease_owner, attempts, possible_duplicate)
                SELECT %s, '', '138' || lpad(g::text, 8, '0'), '【12123】您的机动车有一条交通违法记录，请及时处理。',
                       '1069121230', 1, 1, 'queued', '', now(), now() + %s * interval '1 second', '', 0, false
                FROM generate_series(1, %s) AS g
                """,
                [contract_id, self.args.validity, queued],
            )

    def setup_nodes(self) -> None:
        from contracts.models import Contract
        from gateway.crypto import encrypt_secret
        from gateway.models import CarrierNode
        from gateway.services.clients import api_client_create
        from gateway.services.seed import gateway_seed_defaults

        contract = Contract.objects.first()
        gateway_seed_defaults(contract=contract)  # sending profile, scope segments: what intake checks
        _, creds = api_client_create(contract=contract, name="chaos-12123", allow_free_content=True)
        self.api_key = (creds.key, creds.secret)
        for i, port in enumerate(self.ports, 1):
            CarrierNode.objects.update_or_create(
                name=f"chaos-node{i}",
                defaults={"contract": contract, "host": "127.0.0.1", "port": port, "version": 0x30,
                          "sp_id": "901234", "secret_encrypted": encrypt_secret(SECRET), "service_id": "JTXX12123",
                          "source_number": "1069121230", "window": 16, "rate_limit": self.args.rate, "weight": 1,
                          "enabled": True},
            )  # fmt: skip

    @staticmethod
    def query(sql: str, params: list | None = None, timeout: float = 120) -> list[tuple]:
        """Rows of one query; while the database is away (the PostgreSQL scenarios) it is tried again."""
        from django.db import InterfaceError, OperationalError, connection

        deadline = time.monotonic() + timeout
        while True:
            try:
                with connection.cursor() as c:
                    c.execute(sql, params or [])
                    return c.fetchall()
            except (OperationalError, InterfaceError):
                connection.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def statuses(self) -> dict[str, int]:
        return dict(self.query("SELECT status, count(*) FROM gateway_message GROUP BY status"))

    def orphans(self, pid: int) -> int:
        sql = "SELECT count(*) FROM gateway_message WHERE status = 'queued' AND lease_owner LIKE %s"
        return self.query(sql, [f"%:{pid}:%"])[0][0]

    def node_lines(self, i: int) -> int:
        path = OUT / f"{self.scenario}-node{i}.jsonl"
        try:
            with path.open("rb") as fh:
                return sum(1 for _ in fh)
        except FileNotFoundError:
            return 0

    # ------------------------------------------------------------------ one scenario
    def scenario_run(self, name: str) -> dict:
        self.scenario = name
        for path in OUT.glob(f"{name}-*"):
            path.unlink()
        self.reset(self.args.messages)
        total = self.args.messages
        self.sim_start(0)
        self.sim_start(1)
        time.sleep(0.7)
        self.sender_start(0)
        self.sender_start(1)
        switch = None
        try:
            while sum(v for k, v in self.statuses().items() if k != "queued") < total // 3:
                time.sleep(0.1)
            before = [self.node_lines(0), self.node_lines(1)]
            time.sleep(1.0)
            share_before = self.node_lines(1) - before[1]  # node 2's throughput per second before the fault
            fault_at = time.monotonic()
            self.fault_wall = time.time()
            victim_pid = self.senders[0].pid
            restore = self.fault(name)
            switch = self.watch_switch(name, fault_at, share_before, victim_pid)
            remaining = (
                self.args.outage - (time.monotonic() - fault_at)
                if name in ("redis_stop", "both_down", "node_stalled")
                else 0
            )
            if remaining > 0:
                time.sleep(remaining)
            if restore:
                restore()
            self.drain()
        finally:
            for proc in self.senders:
                self.kill(proc, signal.SIGTERM)
            for proc in self.sims:
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGCONT)
                self.kill(proc, signal.SIGTERM)
        return self.tally(name, switch)

    def drain(self) -> None:
        """Done when nothing is queued and the reports stopped coming for 5 s (a killed node's pending reports
        die with it: those messages wait for validity + grace, then become no_report)."""
        deadline = time.monotonic() + self.args.timeout
        # With --no-report-grace: wait for the messages whose reports died to become no_report (validity +
        # grace + one sweep of 30 s).
        patience = 5 if self.args.no_report_grace is None else self.args.validity + self.args.no_report_grace + 35
        last, still = None, time.monotonic()
        while time.monotonic() < deadline:
            counts = self.statuses()
            if counts != last:
                last, still = counts, time.monotonic()
            if not counts.get("queued") and (not counts.get("submitted") or time.monotonic() - still > patience):
                break
            time.sleep(0.5)
        time.sleep(1.0)

    # ------------------------------------------------------------------ intake scenarios
    def intake_run(self, name: str) -> dict:
        self.scenario = name
        for path in OUT.glob(f"{name}-*"):
            path.unlink()
        self.reset(0)
        total = self.args.messages
        self.sim_start(0)
        self.sim_start(1)
        self.web_start()
        self.web_ready()
        self.sender_start(0)
        self.sender_start(1)
        poster = Poster(f"http://127.0.0.1:{self.web_port}", *self.api_key, total, self.args.post_batch,
                        self.args.post_rate, self.run)  # fmt: skip
        poster.start()
        extra: dict = {}
        health: list[tuple[str, bool, float]] = []
        senders_alive = [False, False]
        try:
            # Fault once a third is accepted and the senders are sending (a tenth acknowledged).
            while poster.is_alive() and (
                len(poster.accepted) < total // 3
                or sum(n for k, n in self.statuses().items() if k != "queued") < total // 10
            ):
                time.sleep(0.05)
            fault_at = time.monotonic()
            if name in ("web_kill", "web_workers_kill"):
                for _ in range(100):  # kill while a batch is in flight (sent, not yet answered)
                    poster.in_flight.wait(10)
                    time.sleep(random.uniform(0.01, 0.08))
                    if poster.in_flight.is_set():
                        break
                extra["killed_with_a_batch_in_flight"] = poster.in_flight.is_set()
                if name == "web_kill":
                    self.web_kill()
                    time.sleep(2)
                    back_at, back_wall = time.monotonic(), time.time()
                    self.web_start()
                else:  # the workers only (as gunicorn's timeout or the OOM killer does): the master forks new ones
                    workers = subprocess.run(["pgrep", "-P", str(self.web.pid)], capture_output=True, text=True)
                    for pid in workers.stdout.split():
                        os.kill(int(pid), signal.SIGKILL)
                    back_at, back_wall = time.monotonic(), time.time()
            elif name == "pg_restart":
                self.cluster.restart()
                back_at, back_wall = time.monotonic(), time.time()
            elif name in ("pg_stop", "intake_redis_stop"):
                stop, start = (self.cluster.stop, self.cluster.start) if name == "pg_stop" else (
                    self.redis_stop, self.redis_start)  # fmt: skip
                stop()
                while time.monotonic() - fault_at < self.args.outage:
                    health.append(self.healthz())
                    time.sleep(max(0.0, 1.0 - health[-1][2]))
                start()
                back_at, back_wall = time.monotonic(), time.time()
            else:
                raise ValueError(name)
            extra["fault_seconds"] = round(back_at - fault_at, 2)
            poster.join(self.args.timeout)
            self.drain()
            senders_alive = [proc is not None and proc.poll() is None for proc in self.senders]
        finally:
            poster.stop.set()
            for proc in self.senders:
                self.kill(proc, signal.SIGTERM)
            self.web_kill(signal.SIGTERM)
            for proc in self.sims:
                self.kill(proc, signal.SIGTERM)
        t_fault, t_back = fault_at - poster.started, back_at - poster.started
        during = [a for a in poster.answers if t_fault <= a[0] <= t_back + 1]
        outcomes: dict[str, int] = {}
        for _, outcome, _is_json, code, _ in during:
            key = f"{outcome} {code}".strip()
            outcomes[key] = outcomes.get(key, 0) + 1
        served_again = next((a[0] + a[4] for a in poster.answers if a[0] >= t_back and a[1] == "2xx"), None)
        resumed = self.query("SELECT min(submitted_at) FROM gateway_messagesegment WHERE submitted_at > "
                             "to_timestamp(%s)", [back_wall])[0][0]  # fmt: skip
        log_lines = {"paused": 0, "resumed": 0}
        for i in (0, 1):
            text = (OUT / f"{name}-sender{i}.log").read_text(errors="replace")
            log_lines["paused"] += text.count("sending paused until it answers")
            log_lines["resumed"] += text.count("sending resumes")
        result = self.tally(name, None)
        del result["switch_seconds"]
        refs = dict(self.query("SELECT client_ref, count(*) FROM gateway_message GROUP BY client_ref"))
        result.update(
            {
                "posted": total,
                "answered_2xx": len(poster.accepted),
                "answered_2xx_stored_once": sum(1 for ref in poster.accepted if refs.get(ref) == 1),
                "answered_2xx_missing": sum(1 for ref in poster.accepted if ref not in refs),
                "stored_twice": sum(1 for n in refs.values() if n > 1),
                "answered_duplicate_on_retry": poster.duplicates,
                "refused_4xx": poster.refused,
                **extra,
                "answers_during_fault": outcomes,
                "answers_during_fault_not_json": sum(1 for a in during if a[1].isdigit() and not a[2]),
                "slowest_answer_during_fault": round(max((a[4] for a in during), default=0.0), 2),
                "healthz_during_outage": sorted({f"{st} {state}" for st, state, _ in health}),
                "web_serves_again_seconds": None if served_again is None else round(served_again - t_back, 2),
                "answers_5xx_after_back": sum(1 for a in poster.answers if a[0] >= t_back and a[1].startswith("5")),
                "senders_alive_at_end": senders_alive,
                "sender_log": log_lines,
                "acknowledged_again_seconds": None if resumed is None else round(resumed.timestamp() - back_wall, 2),
            }
        )
        return result

    def healthz(self) -> tuple[str, str, float]:
        """(HTTP status, the answer's "status" or "not json", seconds) of the web's /healthz/."""
        started = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=40)
            conn.request("GET", "/healthz/", headers={"Host": "127.0.0.1"})
            response = conn.getresponse()
            body = response.read()
            try:
                state = str(json.loads(body).get("status"))
            except ValueError:
                state = "not json"
            return str(response.status), state, time.monotonic() - started
        except OSError as exc:
            return type(exc).__name__, "", time.monotonic() - started

    def fault(self, name: str):
        if name == "node_kill":
            self.kill(self.sims[0])
            time.sleep(5)
            self.sim_start(0)
            return None
        if name == "sender_kill":
            self.kill(self.senders[0])
            time.sleep(2)
            self.sender_start(0)
            return None
        if name == "redis_stop":
            self.redis_stop()
            return self.redis_start
        if name == "both_down":
            self.kill(self.sims[0])
            self.kill(self.sims[1])
            return lambda: (self.sim_start(0), self.sim_start(1))
        if name == "node_stalled":
            self.sims[0].send_signal(signal.SIGSTOP)
            return lambda: self.sims[0].send_signal(signal.SIGCONT)
        if name == "node_result8":
            self.kill(self.sims[0])
            self.sim_start(0, "--throttle-rate", "1")
            return None
        if name == "node_refusing":
            self.kill(self.sims[0])
            self.sim_start(0, "--reject-prefix", "1")
            return None
        raise ValueError(name)

    def watch_switch(self, name: str, fault_at: float, share_before: int, victim_pid: int) -> float | None:
        """Seconds from the fault until its work flows elsewhere (see the module docstring)."""
        deadline = fault_at + 30
        if name == "sender_kill":
            while time.monotonic() < deadline:
                if self.orphans(victim_pid) == 0:
                    return round(time.monotonic() - fault_at, 2)
                time.sleep(0.1)
            return None
        if name in ("redis_stop", "both_down"):
            return None
        # Node faults: the first sender log line taking node 1 down after the fault; its waiting work is
        # handed to node 2 within the next tick (0.1 s, by construction; tests/gateway/sender measure it).
        time.sleep(min(15, max(0.0, deadline - time.monotonic())))
        return self.down_seconds()

    def down_seconds(self) -> float | None:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        zone = ZoneInfo("Asia/Shanghai")
        found = []
        for i in (0, 1):
            for line in (OUT / f"{self.scenario}-sender{i}.log").read_text(errors="replace").splitlines():
                if "node chaos-node1 -> down" not in line:
                    continue
                try:
                    at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=zone).timestamp()
                except ValueError:
                    continue
                if at >= self.fault_wall - 0.05:
                    found.append(at - self.fault_wall)
        return round(min(found) + 0.1, 2) if found else None

    def tally(self, name: str, switch: float | None) -> dict:
        from gateway.models import Message

        received: dict[str, int] = {}
        for i in (0, 1):
            path = OUT / f"{name}-node{i}.jsonl"
            if path.exists():
                for line in path.read_text().splitlines():
                    dest = json.loads(line)["dest"][0]
                    received[dest] = received.get(dest, 0) + 1
        rows = dict(Message.objects.values_list("mobile", "status"))
        flagged = set(Message.objects.filter(possible_duplicate=True).values_list("mobile", flat=True))
        counts = self.statuses()
        twice = {d for d, n in received.items() if n > 1}
        # Lost: neither acknowledged by a node (a SIGKILLed simulator loses its last unflushed log lines, so
        # the database's record of the SUBMIT_RESP counts too) nor finally failed or expired.
        lost = [m for m, status in rows.items() if m not in received and status == "queued"]
        return {
            "scenario": name,
            "accepted": len(rows),
            "delivered": counts.get("delivered", 0),
            "waiting_report": counts.get("submitted", 0),
            "no_report": counts.get("no_report", 0),
            "failed": counts.get("failed", 0),
            "lost": len(lost),
            "sent_twice": len(twice),
            "sent_twice_flagged": len(twice & flagged),
            "switch_seconds": switch,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS + INTAKE_SCENARIOS, help="default: all")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=100, help="each node's rate limit, segments/s")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds of Redis/both-nodes/stall/database outages")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the end of a scenario")
    parser.add_argument("--redis-port", type=int, default=17390)
    parser.add_argument("--pg-port", type=int, default=21432, help="port of the script's own PostgreSQL cluster")
    parser.add_argument("--web-port", type=int, default=0, help="gunicorn's port (default: a free one)")
    parser.add_argument("--post-batch", type=int, default=50, help="notices per batch (intake scenarios)")
    parser.add_argument("--post-rate", type=float, default=150.0, help="notices posted per second (intake scenarios)")
    parser.add_argument("--validity", type=int, default=86400, help="seconds the queued notices are valid (scenarios "
                        "that queue them)")  # fmt: skip
    parser.add_argument("--no-report-grace", type=float, default=None, help="GATEWAY_NO_REPORT_GRACE_SECONDS for the "
                        "senders; the run then waits for unreported messages to become no_report")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the cluster (and its database) running afterwards")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(args.pg_port)
    chaos = Chaos(args, cluster.url)
    chaos.cluster = cluster
    results = []
    try:
        cluster.create()
        cluster.psql(f"CREATE DATABASE {DB_NAME}")
        chaos.redis_start()
        env = chaos.env()
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([sys.executable, "manage.py", "load_contract"], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
        sys.path.insert(0, str(ROOT))
        os.environ.update(env)
        import django

        django.setup()
        chaos.setup_nodes()
        for name in args.scenario or SCENARIOS + INTAKE_SCENARIOS:
            run = chaos.intake_run if name in INTAKE_SCENARIOS else chaos.scenario_run
            result = run(name)
            results.append(result)
            print(json.dumps(result, ensure_ascii=False), flush=True)
        (OUT / "chaos.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    finally:
        chaos.redis_stop()
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"kept: {cluster.url}/{DB_NAME} (folder {cluster.dir}; stop it with "
                  f"{' '.join(cluster.as_user)} {cluster.bin}/pg_ctl -D {cluster.data} stop)")  # fmt: skip
        else:
            cluster.remove()


if __name__ == "__main__":
    main()
