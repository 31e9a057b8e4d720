"""Fault drill: a real `celery worker` killed in the middle of a task, with the production Celery settings.

    .venv/bin/python scripts/drill_worker_loss.py        (about 7 minutes; docs/operations.md "Jobs")

1. SIGKILL of the pool child running the task (what the OOM killer does): the task must run again at once.
2. SIGKILL of the whole worker (a crashed host or container) and a new worker started: the task must run again
   within the broker's visibility timeout (CELERY_VISIBILITY_TIMEOUT, 300 s) plus kombu's restore interval.

Needs Redis (started here, on DRILL_REDIS_PORT, default 19390, with a password) and nothing else: the task only
sleeps and writes to a file. The worker imports this module (`-I scripts.drill_worker_loss`) for that task.
"""

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from celery import shared_task

ROOT = Path(__file__).resolve().parent.parent


@shared_task(name="drill.sleep_task")
def sleep_task(marker: str, seconds: float) -> None:
    """Note each start (with the process id), sleep, note the end."""
    with open(marker, "a", encoding="utf-8") as f:
        f.write(f"start {os.getpid()} {time.time():.3f}\n")
    time.sleep(seconds)
    with open(marker, "a", encoding="utf-8") as f:
        f.write(f"done {os.getpid()} {time.time():.3f}\n")


def _lines(marker: Path, kind: str) -> list[list[str]]:
    if not marker.exists():
        return []
    return [line.split() for line in marker.read_text().splitlines() if line.startswith(kind)]


def _wait(predicate, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.2)
    raise SystemExit(f"drill failed: {what} did not happen within {timeout:.0f} s")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def main() -> int:
    port = int(os.environ.get("DRILL_REDIS_PORT", "19390"))
    password = secrets.token_hex(12)
    tmp = Path(tempfile.mkdtemp(prefix="drill-worker-loss-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sms_contract.settings.base",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECRETS_ENCRYPTION_KEYS": "kG6Y6wVqf8nq7Y1M4f2hJ0pX3cQ9rT5uW8zA1bC4dE0=",
        "EMAIL_URL": "dummymail://",
        "ALLOWED_HOSTS": "localhost",
        "REDIS_URL": f"redis://:{password}@127.0.0.1:{port}/0",
        "CELERY_BROKER_URL": f"redis://:{password}@127.0.0.1:{port}/1",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--requirepass", password, "--save", "",
         "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    workers: list[subprocess.Popen] = []

    def start_worker(n: int) -> subprocess.Popen:
        log = (tmp / f"worker{n}.log").open("ab")
        proc = subprocess.Popen(
            ["celery", "-A", "sms_contract", "worker", "-I", "scripts.drill_worker_loss", "--concurrency", "1",
             "--loglevel", "INFO", "-n", f"drill{n}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        workers.append(proc)
        return proc

    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    from sms_contract.celery import app

    print(
        f"settings: acks_late={settings.CELERY_TASK_ACKS_LATE} "
        f"reject_on_worker_lost={settings.CELERY_TASK_REJECT_ON_WORKER_LOST} "
        f"visibility_timeout={settings.CELERY_VISIBILITY_TIMEOUT}s"
    )
    try:
        time.sleep(0.5)
        worker = start_worker(1)
        _wait(lambda: "ready" in (tmp / "worker1.log").read_text(errors="replace"), 60, "worker 1 ready")

        # 1. the pool child dies mid-task
        marker = tmp / "child.txt"
        app.send_task("drill.sleep_task", args=[str(marker), 8])
        _wait(lambda: len(_lines(marker, "start")) == 1, 60, "the task started")
        child = int(_lines(marker, "start")[0][1])
        killed_at = time.monotonic()
        os.kill(child, signal.SIGKILL)
        _wait(lambda: len(_lines(marker, "start")) == 2, 120, "the task ran again after its pool child was killed")
        again = time.monotonic() - killed_at
        _wait(lambda: len(_lines(marker, "done")) == 1, 60, "the second run finished")
        print(f"1. pool child {child} killed with SIGKILL: the task started again after {again:.1f} s and finished")

        # 2. the whole worker dies mid-task; a new one starts right away
        marker = tmp / "worker.txt"
        app.send_task("drill.sleep_task", args=[str(marker), 8])
        _wait(lambda: len(_lines(marker, "start")) == 1, 60, "the task started")
        pids = [worker.pid, *_children(worker.pid)]
        killed_at = time.monotonic()
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        start_worker(2)
        limit = settings.CELERY_VISIBILITY_TIMEOUT + 150
        _wait(lambda: len(_lines(marker, "start")) == 2, limit, "the task ran again after its worker was killed")
        again = time.monotonic() - killed_at
        _wait(lambda: len(_lines(marker, "done")) == 1, 60, "the second run finished")
        print(f"2. worker {pids} killed with SIGKILL, a new worker started: the task started again after {again:.0f} s")
    finally:
        for proc in workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(30)
        redis.terminate()
        redis.wait(10)
    print(f"logs: {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
