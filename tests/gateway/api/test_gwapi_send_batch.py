"""The bundled client's send-batch: a CSV or JSON-lines file, one result line per row, progress on stderr."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from factories.gateway import DjangoTestApiClient

from gateway import apiclient
from gateway.models import Message

SECRET = "test-secret-0123456789"


@pytest.fixture
def cli(make_api, monkeypatch):
    row, _ = make_api()
    monkeypatch.setattr(apiclient, "SmsApiClient", lambda url, key, secret: DjangoTestApiClient(key, secret))
    return ["--url", "http://testserver", "--key", row.key_id, "--secret", SECRET]


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.django_db
def test_send_batch_from_csv_gives_one_result_line_per_row_and_progress_on_stderr(cli, tmp_path, capsys):
    path = tmp_path / "notices.csv"
    path.write_text(
        "mobile,template_code,client_ref,points\n"
        "13912345678,licence_score,b-1,3\n"
        "123,licence_score,b-2,3\n"
        "\n"
        "13912345679,licence_score,b-3,6\n",
        encoding="utf-8",
    )
    assert apiclient.main([*cli, "send-batch", str(path)]) == 1  # one row refused
    captured = capsys.readouterr()
    lines = _lines(captured.out)
    assert [(line["row"], line["client_ref"], line["result"]) for line in lines] == [
        (2, "b-1", "accepted"),
        (3, "b-2", "rejected"),
        (5, "b-3", "accepted"),
    ]
    assert lines[1]["code"] == "invalid_mobile"
    assert "sent 3/3 rows: 2 accepted, 0 duplicates, 1 rejected" in captured.err
    assert Message.objects.filter(client_ref__in=["b-1", "b-3"]).count() == 2
    # sent again: the client_refs answer as duplicates, nothing new is queued
    assert apiclient.main([*cli, "send-batch", str(path)]) == 1
    assert [line["result"] for line in _lines(capsys.readouterr().out)] == ["duplicate", "rejected", "duplicate"]
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_send_batch_from_json_lines_in_batches_of_at_most_1000(cli, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(apiclient, "BATCH_LIMIT", 2)
    path = tmp_path / "notices.jsonl"
    rows = [
        {
            "mobile": f"1391234567{i}",
            "template_code": "licence_score",
            "params": {"points": "3"},
            "client_ref": f"j-{i}",
        }
        for i in range(5)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert apiclient.main([*cli, "send-batch", str(path)]) == 0
    captured = capsys.readouterr()
    assert [line["result"] for line in _lines(captured.out)] == ["accepted"] * 5
    assert captured.err.count("sent ") == 3 and "sent 5/5 rows: 5 accepted" in captured.err
    assert Message.objects.count() == 5


@pytest.mark.django_db
def test_a_bad_row_stops_the_file_before_anything_is_sent_naming_row_and_column(cli, tmp_path, capsys):
    path = tmp_path / "notices.jsonl"
    path.write_text(
        '{"mobile": "13912345678", "template_code": "licence_score", "params": {"points": "3"}}\n'
        '{"mobile": "13912345679", "template_code": "licence_score", "params": {"points": \n'
        '{"template_code": "licence_score"}\n',
        encoding="utf-8",
    )
    assert apiclient.main([*cli, "send-batch", str(path)]) == 2
    err = capsys.readouterr().err
    assert "row 2, column -: not JSON" in err
    assert "row 3, column mobile: no mobile number" in err
    assert "2 bad rows, nothing sent" in err
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_refused_batch_reports_its_rows_not_sent(make_api, monkeypatch, tmp_path, capsys):
    make_api()
    monkeypatch.setattr(apiclient, "SmsApiClient", lambda url, key, secret: DjangoTestApiClient(key, secret))
    path = tmp_path / "n.csv"
    path.write_text("mobile,template_code,points\n13912345678,licence_score,3\n", encoding="utf-8")
    assert apiclient.main(["--key", "k_nobody", "--secret", SECRET, "send-batch", str(path)]) == 1
    captured = capsys.readouterr()
    assert _lines(captured.out)[0]["result"] == "not_sent"
    assert "stopped: 401" in captured.err and not Message.objects.exists()


def test_the_installed_sms_api_command_runs_without_pythonpath(tmp_path):
    """`make install` installs the project's [project.scripts] entry point next to the interpreter."""
    command = Path(sys.executable).parent / "sms-api"
    assert command.exists(), "run `make install`: it installs the sms-api command"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE"}}
    result = subprocess.run([str(command), "--help"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "send-batch" in result.stdout
