"""Chaos suite for the sender: real processes on loopback, one fault per scenario, and what became of every
notice.

    .venv/bin/python bench/chaos.py                              # every scenario, 2,000 notices each
    .venv/bin/python bench/chaos.py --scenario sender_kill --messages 5000 --outage 30

Needs PostgreSQL on 127.0.0.1:5432 (creates and drops the database `sms_chaos`) and runs its OWN Redis
(`redis-server` on --redis-port, default 17390) so that the "Redis stopped" scenario never touches a
shared one. Per scenario: two simulated nodes (`python -m gateway.cmpp.simulator`, separate processes,
each capped at --rate segments/s so the fault lands mid-run), two `runsender` processes, --messages queued
notices; the fault starts once a third is acknowledged. Printed per scenario:

accepted (queued) / delivered / waiting for a report / final without report (no_report) / failed / lost
(neither received by a node nor finally failed) / sent twice (a destination received by the nodes more
than once) / sent twice and flagged (possible_duplicate) / switch seconds (fault start -> the other node
carries the traffic: its throughput over 1 s reaches 1.5x its share before the fault; for a sender kill:
the dead sender's leases all released or taken over).

Scenarios: node_kill (SIGKILL of node 1, back after 5 s), sender_kill (SIGKILL of sender 1, restarted
after 2 s), redis_stop (Redis down for --outage s), both_down (both nodes SIGKILLed for --outage s),
node_stalled (node 1 SIGSTOPped for --outage s: connection open, nothing answered), node_result8 (node 1
restarted answering result 8 above 1 msg/s), node_refusing (node 1 restarted refusing every destination).
Not here: web SIGKILL during a batch and PostgreSQL restart (see docs/benchmarks.md, reliability).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "chaos"
DB_NAME = "sms_chaos"
PG = "postgres://postgres@127.0.0.1:5432"
SECRET = "chaos-s3cret"
SCENARIOS = ["node_kill", "sender_kill", "redis_stop", "both_down", "node_stalled", "node_result8", "node_refusing"]


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{PG}/{db}", "-qc", sql], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Chaos:
    def __init__(self, args) -> None:
        self.args = args
        self.redis_url = f"redis://127.0.0.1:{args.redis_port}/0"
        self.ports = [free_port(), free_port()]
        self.sims: list[subprocess.Popen | None] = [None, None]
        self.senders: list[subprocess.Popen | None] = [None, None]
        self.run = 0

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": f"{PG}/{DB_NAME}",
            "DJANGO_SETTINGS_MODULE": "sms_contract.settings.base",
            "DEBUG": "false",
            "SECRET_KEY": "chaos-secret-key-not-for-production-0123456789abcdef",
            "SECRETS_ENCRYPTION_KEYS": "kG6Y6wVqf8nq7Y1M4f2hJ0pX3cQ9rT5uW8zA1bC4dE0=",
            "EMAIL_URL": "dummymail://",
            "LOG_LEVEL": "INFO",
            "REDIS_URL": self.redis_url,
            "GATEWAY_SENDER_POLL_SECONDS": "0.2",
            "GATEWAY_SENDER_JOURNAL_DIR": str(OUT / "journal"),
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
    def reset(self) -> None:
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
                       '1069121230', 1, 1, 'queued', '', now(), now() + interval '1 day', '', 0, false
                FROM generate_series(1, %s) AS g
                """,
                [contract_id, self.args.messages],
            )

    def setup_nodes(self) -> None:
        from contracts.models import Contract
        from gateway.crypto import encrypt_secret
        from gateway.models import CarrierNode

        contract = Contract.objects.first()
        for i, port in enumerate(self.ports, 1):
            CarrierNode.objects.update_or_create(
                name=f"chaos-node{i}",
                defaults={"contract": contract, "host": "127.0.0.1", "port": port, "version": 0x30,
                          "sp_id": "901234", "secret_encrypted": encrypt_secret(SECRET), "service_id": "JTXX12123",
                          "source_number": "1069121230", "window": 16, "rate_limit": self.args.rate, "weight": 1,
                          "enabled": True},
            )  # fmt: skip

    def statuses(self) -> dict[str, int]:
        from django.db import connection

        with connection.cursor() as c:
            c.execute("SELECT status, count(*) FROM gateway_message GROUP BY status")
            return dict(c.fetchall())

    def orphans(self, pid: int) -> int:
        from django.db import connection

        with connection.cursor() as c:
            c.execute(
                "SELECT count(*) FROM gateway_message WHERE status = 'queued' AND lease_owner LIKE %s", [f"%:{pid}:%"]
            )
            return c.fetchone()[0]

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
        self.reset()
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
            remaining = self.args.outage - (time.monotonic() - fault_at) if name in ("redis_stop", "both_down",
                                                                                     "node_stalled") else 0
            if remaining > 0:
                time.sleep(remaining)
            if restore:
                restore()
            # Done when nothing is queued and the reports stopped coming for 5 s (a killed node's pending
            # reports die with it: those messages wait for validity + grace, then become no_report).
            deadline = time.monotonic() + self.args.timeout
            last, still = None, time.monotonic()
            while time.monotonic() < deadline:
                counts = self.statuses()
                if counts != last:
                    last, still = counts, time.monotonic()
                if not counts.get("queued") and (not counts.get("submitted") or time.monotonic() - still > 5):
                    break
                time.sleep(0.5)
            time.sleep(1.0)
        finally:
            for proc in self.senders:
                self.kill(proc, signal.SIGTERM)
            for proc in self.sims:
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGCONT)
                self.kill(proc, signal.SIGTERM)
        return self.tally(name, switch)

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
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="default: all")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=100, help="each node's rate limit, segments/s")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds of Redis/both-nodes/stall outages")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the end of a scenario")
    parser.add_argument("--redis-port", type=int, default=17390)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    chaos = Chaos(args)
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    chaos.redis_start()
    results = []
    try:
        env = chaos.env()
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([sys.executable, "manage.py", "load_contract"], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
        sys.path.insert(0, str(ROOT))
        os.environ.update(env)
        import django

        django.setup()
        chaos.setup_nodes()
        for name in args.scenario or SCENARIOS:
            result = chaos.scenario_run(name)
            results.append(result)
            print(json.dumps(result), flush=True)
        (OUT / "chaos.json").write_text(json.dumps(results, indent=2))
    finally:
        chaos.redis_stop()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            psql(f"DROP DATABASE IF EXISTS {DB_NAME}")


if __name__ == "__main__":
    main()
