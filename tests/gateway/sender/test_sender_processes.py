"""Real processes on PostgreSQL: two `runsender` at once share the queue and send every message once; the
simulator runs as `python -m gateway.cmpp.simulator`; /healthz and /metrics of a sender answer."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from gateway.models import Message

ROOT = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("several processes need a shared server database with row locks (PostgreSQL)")


@pytest.fixture(autouse=True)
def _own_journal_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWAY_SENDER_JOURNAL_DIR", str(tmp_path / "journal"))


def _env():
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env["DJANGO_SETTINGS_MODULE"] = "sms_contract.settings.test"
    env["GATEWAY_SENDER_POLL_SECONDS"] = "0.2"
    env["GATEWAY_SENDER_BATCH"] = "200"  # small claims so both senders get a share
    return env


def _start(args, log_file):
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=_env(), stdout=log_file, stderr=subprocess.STDOUT)


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _start_simulator(port, submits, logs):
    """A simulated node in its own process, reporting after 50 ms and logging every SUBMIT to `submits`."""
    args = ["-m", "gateway.cmpp.simulator", "--port", str(port), "--report-delay", "0.05", "--log", str(submits)]
    return _start([*args, "--quiet"], logs)


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_two_runsender_processes_send_each_message_once(make_node, make_messages, tmp_path, free_port):
    port = free_port()
    make_node(port=port, window=16)
    make_messages(3000)
    submits = tmp_path / "submits.jsonl"
    logs = (tmp_path / "out.log").open("w")
    sim = _start_simulator(port, submits, logs)
    metrics_ports = [free_port(), free_port()]
    senders = []
    try:
        time.sleep(0.5)
        senders = [
            _start(["manage.py", "runsender", "--metrics-port", str(p), "--response-timeout", "2"], logs)
            for p in metrics_ports
        ]

        def done():
            assert all(p.poll() is None for p in [sim, *senders]), (tmp_path / "out.log").read_text()[-3000:]
            return dict(Message.objects.values_list("status").annotate(n=Count("id"))) == {"delivered": 3000}

        assert _wait_for(done, 90), dict(Message.objects.values_list("status").annotate(n=Count("id")))
        status, body = _get(f"http://127.0.0.1:{metrics_ports[0]}/healthz")
        health = json.loads(body)
        assert status == 200 and health["nodes"]["node-a"]["state"] == "up"
        for metrics_port in metrics_ports:  # both processes took a share
            status, body = _get(f"http://127.0.0.1:{metrics_port}/metrics")
            match = re.search(rb'^gateway_submits_total\{node="node-a"\} (\S+)$', body, re.M)
            assert status == 200 and match and float(match.group(1)) > 0
    finally:
        for proc in senders:
            _stop(proc)
        _stop(sim)
        logs.close()
    lines = [json.loads(line) for line in submits.read_text().splitlines()]
    dests = [line["dest"][0] for line in lines]
    assert len(dests) == 3000 and len(set(dests)) == 3000  # each message sent exactly once
    owners = Message.objects.values_list("attempts", flat=True).distinct()
    assert set(owners) == {1}


def test_health_is_503_while_no_node_is_up(make_node, free_port):
    port = free_port()  # nothing listens there
    make_node(port=port)
    metrics_port = free_port()
    with open(os.devnull, "w") as logs:
        proc = _start(["manage.py", "runsender", "--metrics-port", str(metrics_port)], logs)
    try:
        assert _wait_for(lambda: _try_get(f"http://127.0.0.1:{metrics_port}/healthz") is not None, 30)
        status, body = _get(f"http://127.0.0.1:{metrics_port}/healthz")
        assert status == 503
        assert json.loads(body)["nodes"]["node-a"]["state"] == "down"
    finally:
        _stop(proc)


def _try_get(url):
    try:
        return _get(url)
    except OSError:
        return None


def test_sender_killed_mid_run_resends_nothing_unflagged_and_its_work_is_taken_over(
    make_node, make_messages, tmp_path, free_port
):
    """SIGKILL a sender while thousands of SUBMITs are answered: what the carrier acknowledged is recorded
    from the journal (not sent again), whatever is sent twice is flagged, every report matches, and the
    surviving sender takes the dead one's work over within 15 s."""
    from gateway.models import UnmatchedReport

    port = free_port()
    # At 400/s the run lasts about 10 s whatever the machine's load, so the victim always dies with work in
    # hand (on an idle machine without a limit it could finish everything before the kill: nothing to replay).
    make_node(port=port, window=16, rate_limit=400)
    make_messages(4000)
    submits = tmp_path / "submits.jsonl"
    logs = (tmp_path / "out.log").open("w")
    sim = _start_simulator(port, submits, logs)
    args = ["manage.py", "runsender", "--metrics-port", "-1", "--response-timeout", "2"]
    victim = survivor = None
    try:
        time.sleep(0.5)
        victim = _start(args, logs)
        assert _wait_for(lambda: submits.exists() and len(submits.read_text().splitlines()) > 300, 60)
        survivor = _start(args, logs)
        time.sleep(1.0)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = time.monotonic()

        def orphans():
            return Message.objects.filter(status="queued", lease_owner__contains=f":{victim.pid}:").count()

        assert _wait_for(lambda: orphans() == 0, 15), orphans()
        takeover = time.monotonic() - killed_at

        def done():
            assert survivor.poll() is None, (tmp_path / "out.log").read_text()[-3000:]
            counts = dict(Message.objects.values_list("status").annotate(n=Count("id")))
            return counts == {"delivered": 4000}

        assert _wait_for(done, 120), dict(Message.objects.values_list("status").annotate(n=Count("id")))
        time.sleep(1.5)  # reports of any first copies arrive too
    finally:
        for proc in (survivor, victim):
            if proc is not None:
                _stop(proc)
        _stop(sim)
        logs.close()
    sent = [json.loads(line)["dest"][0] for line in submits.read_text().splitlines()]
    twice = {d for d in set(sent) if sent.count(d) > 1}
    flagged = set(Message.objects.filter(possible_duplicate=True).values_list("mobile", flat=True))
    assert set(sent) == set(Message.objects.values_list("mobile", flat=True))  # nothing lost
    assert twice <= flagged, twice - flagged  # every copy the carrier got twice is flagged
    assert UnmatchedReport.objects.count() == 0  # the first copies' reports matched their message
    assert takeover < 15, takeover
    assert "replayed" in (tmp_path / "out.log").read_text()
