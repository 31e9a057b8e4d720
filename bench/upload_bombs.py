"""Benchmark: hostile bill uploads against a production-like server, answer time and web-worker memory.

    .venv/bin/python bench/upload_bombs.py            # build the files, start gunicorn, post them, stop it

Builds in /tmp (kept for reruns):
  - bomb_strings.xlsx: ~300 KB whose shared-strings part inflates to one 300 MB string;
  - bomb_rows.xlsx:    ~300 KB whose sheet has 50 million empty rows (300 MB of XML);
  - bomb_numbered_rows.xlsx: 5 million empty rows with their numbers (~10:1, passes the zip directory's
                       checks, is queued; the worker must stop at the 2,000,000-row limit);
  - big_50mb.csv:      a well-formed 50 MB detail bill (~800,000 rows) that is read off the request;
  - the 1M-row CSV and XLSX of bench/billing_bill_import.py when present (62 MB and 27 MB, also queued).
With --worker a Celery worker (solo pool, production settings) reads the queued files meanwhile, and each
is followed on its status URL until done: seconds to done and the worker's peak RSS.
Then creates the database `sms_bench_uploads` (BENCH_DB_NAME), migrates, loads the seed contract and a
user, starts gunicorn with the production settings (DEBUG off, one worker so its memory is the one
measured, PostgreSQL, port 18080 or BENCH_PORT, loopback only) and posts each file to
/api/v1/carrier-bills/ with a token, sampling the worker's RSS every 20 ms. Target: every bomb refused
within 2 s, the web worker below 300 MB; large files queued (202) with the web worker below 300 MB.
Prints one JSON line per file.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
DB_NAME = os.environ.get("BENCH_DB_NAME", "sms_bench_uploads")
PORT = int(os.environ.get("BENCH_PORT", "18080"))
TMP = Path("/tmp")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
STRINGS_BOMB = TMP / "bomb_strings.xlsx"
ROWS_BOMB = TMP / "bomb_rows.xlsx"
BIG_CSV = TMP / "big_50mb.csv"
NUMBERED_BOMB = TMP / "bomb_numbered_rows.xlsx"
MILLION_CSV = TMP / "billing_bench_1m.csv"
MILLION_XLSX = TMP / "billing_bench_1m.xlsx"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006"

CONTENT_TYPES = f"""<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="{PKG}/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"""  # noqa: E501
ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="{PKG}/relationships"><Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"""  # noqa: E501
WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="{NS}" xmlns:r="{RELS}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="{PKG}/relationships"><Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"""  # noqa: E501
HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>日期</t></is></c><c r="B1" t="inlineStr"><is><t>条数</t></is></c></row>'
)


def _write_part(archive: zipfile.ZipFile, name: str, pieces, repeat: int = 1) -> None:
    """A part written as a stream (never held whole): the pieces, the middle one `repeat` times."""
    with archive.open(name, "w", force_zip64=True) as out:  # the archive's deflate, level 9
        head, middle, tail = pieces
        out.write(head.encode())
        block = middle.encode() * 65536
        full, rest = divmod(repeat, 65536)
        for _ in range(full):
            out.write(block)
        out.write(middle.encode() * rest)
        out.write(tail.encode())


def build_xlsx(path: Path, *, strings=("", "", "", 0), sheet=None) -> None:
    """A minimal workbook; `strings` and `sheet` are (head, repeated piece, tail, times) streamed in."""
    sheet = sheet or (f'<worksheet xmlns="{NS}"><sheetData>{HEADER_ROW}', "", "</sheetData></worksheet>", 0)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        _write_part(archive, "xl/worksheets/sheet1.xml", sheet[:3], sheet[3])
        _write_part(
            archive,
            "xl/sharedStrings.xml",
            strings[:3] if strings[3] else (f'<sst xmlns="{NS}">', "", "</sst>"),
            strings[3],
        )


def build_strings_bomb(path: Path = STRINGS_BOMB, megabytes: int = 300) -> None:
    """One shared string of `megabytes` MB of "A" (deflate: ~1,000:1)."""
    build_xlsx(
        path,
        strings=(
            f'<sst xmlns="{NS}" count="1" uniqueCount="1"><si><t>',
            "A" * 1024,
            "</t></si></sst>",
            megabytes * 1024,
        ),
    )


def build_rows_bomb(path: Path = ROWS_BOMB, rows: int = 50_000_000) -> None:
    """`rows` empty rows after the header (`<row/>`, 6 bytes each)."""
    build_xlsx(
        path, sheet=(f'<worksheet xmlns="{NS}"><sheetData>{HEADER_ROW}', "<row/>", "</sheetData></worksheet>", rows)
    )


def build_numbered_rows_bomb(path: Path = NUMBERED_BOMB, rows: int = 5_000_000) -> None:
    """`rows` empty rows each with its number (`<row r="N"/>`): ~10:1, so it passes the zip directory's ratio
    check and is queued; the worker's streaming reader must stop it at the row limit."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, text in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/sharedStrings.xml", f'<sst xmlns="{NS}"></sst>'),
        ):
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(f'<worksheet xmlns="{NS}"><sheetData>{HEADER_ROW}'.encode())
            for start in range(2, rows + 2, 100_000):
                out.write("".join(f'<row r="{n}"/>' for n in range(start, min(start + 100_000, rows + 2))).encode())
            out.write(b"</sheetData></worksheet>")


def build_big_csv(path: Path = BIG_CSV, megabytes: int = 50) -> None:
    """A well-formed detail bill of October 2025 of about `megabytes` MB (the bench contract's period)."""
    with path.open("w", encoding="utf-8") as out:
        out.write("msg_id,mobile,submitted_at,units,status\n")
        i = 0
        while out.tell() < megabytes * 1024 * 1024:
            at = f"2025-10-{1 + i % 28:02d} 10:00:00"
            out.write(f"{8_000_000_000_000_000_000 + i},138{i % 100_000_000:08d},{at},1,DELIVRD\n")
            i += 1


def build_all() -> None:
    for path, build in (
        (STRINGS_BOMB, build_strings_bomb),
        (ROWS_BOMB, build_rows_bomb),
        (NUMBERED_BOMB, build_numbered_rows_bomb),
        (BIG_CSV, build_big_csv),
    ):
        if not path.exists():
            started = time.perf_counter()
            build(path)
            print(f"built {path} ({path.stat().st_size / 1024:.0f} KB) in {time.perf_counter() - started:.1f} s")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _env() -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sms_contract.settings.base",
        "DEBUG": "false",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "SECRET_KEY": "bench-upload-bombs-not-a-real-secret-0123456789abcdef",
        "SECRETS_ENCRYPTION_KEYS": "kG6Y6wVqf8nq7Y1M4f2hJ0pX3cQ9rT5uW8zA1bC4dE0=",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "EMAIL_URL": "smtp://127.0.0.1:9",  # nothing is mailed here; loopback only
        # a Redis of one's own (BENCH_REDIS_URL); the broker gets its own database, as in production
        "REDIS_URL": f"{REDIS}/8",
        "CELERY_BROKER_URL": f"{REDIS}/9",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "WEB_CONCURRENCY": "1",
        "MEDIA_ROOT": str(TMP / "bench_upload_media"),
    }
    return env


def setup_database() -> str:
    """Create and migrate the database, load the seed; returns an API token of a carrier user."""
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], check=True, env=_env(), cwd=ROOT)
    subprocess.run([*manage, "load_contract"], check=True, env=_env(), cwd=ROOT, capture_output=True)
    code = """
from django.contrib.auth import get_user_model
from contracts.models import Contract
user = get_user_model().objects.create_superuser("bench-uploader", password="bench-uploader-pw-0")
try:
    from knox.models import AuthToken
    key = AuthToken.objects.create(user)[1]
except ImportError:
    from rest_framework.authtoken.models import Token
    key = Token.objects.create(user=user).key
print(key, Contract.objects.get().number)
"""
    out = subprocess.run(
        [*manage, "shell", "-c", code], check=True, env=_env(), cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.split()[-2], out.stdout.split()[-1]


def post(path: Path, token: str, contract: str, period: str, worker_pid: int) -> dict:
    import requests

    peak = [_rss_mb(worker_pid)]
    baseline = peak[0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb(worker_pid))
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    started = time.perf_counter()
    with path.open("rb") as handle:
        answer = requests.post(
            f"http://127.0.0.1:{PORT}/api/v1/carrier-bills/",
            headers={"Authorization": f"Token {token}"},
            data={"contract": contract, "period": period},
            files={"file": (path.name, handle)},
            timeout=120,
        )
    seconds = time.perf_counter() - started
    done.set()
    thread.join()
    try:
        body = answer.json()
    except ValueError:
        body = {"text": answer.text[:200]}
    return {
        "file": path.name,
        "size_kb": round(path.stat().st_size / 1024),
        "status": answer.status_code,
        "code": body.get("code") or body.get("state"),
        "seconds": round(seconds, 2),
        "worker_rss_before_mb": round(baseline),
        "worker_rss_peak_mb": round(peak[0]),
        "message": _first_message(body),
        "url": body.get("url"),
        "status_url": body.get("url"),
    }


def follow(url: str, token: str, worker_pid: int) -> dict:
    """Poll a queued upload until the worker has finished it; the worker's peak RSS meanwhile."""
    import requests

    peak, started, status = 0.0, time.perf_counter(), {}
    while time.perf_counter() - started < 900:
        peak = max(peak, _rss_mb(worker_pid))
        status = requests.get(f"http://127.0.0.1:{PORT}{url}", headers={"Authorization": f"Token {token}"}).json()
        if status.get("state") in ("done", "failed"):
            break
        time.sleep(0.25)
    return {
        "state": status.get("state"),
        "rows": status.get("rows_read"),
        "seconds_to_done": round(time.perf_counter() - started, 1),
        "celery_worker_rss_peak_mb": round(peak),
        "error_code": status.get("code"),
    }


def _first_message(body: dict) -> str:
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message", ""))[:120]
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--worker", action="store_true", help="also run a Celery worker and time the queued files")
    args = parser.parse_args()
    build_all()
    token, contract = setup_database()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-c",
            "python:sms_contract.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "1",
            "--access-logfile",
            "/dev/null",
        ],
        env=_env(),
        cwd=ROOT,
        start_new_session=True,
    )
    celery = None
    if args.worker:
        celery_bin = str(ROOT / ".venv/bin/celery")
        subprocess.run([celery_bin, "-A", "sms_contract", "purge", "-f"], env=_env(), cwd=ROOT, check=True)
        celery = subprocess.Popen(
            [celery_bin, "-A", "sms_contract", "worker", "--pool", "solo", "--loglevel", "WARNING"],
            env=_env(),
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        import requests

        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{PORT}/healthz/", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        workers = _children(server.pid)
        worker = workers[0] if workers else server.pid
        files = [STRINGS_BOMB, ROWS_BOMB, NUMBERED_BOMB, BIG_CSV]
        files += [p for p in (MILLION_CSV, MILLION_XLSX) if p.exists()]
        for path in files:
            result = post(path, token, contract, "2025-10", worker)
            if path.name.startswith("bomb_") and path is not NUMBERED_BOMB:  # refused at once
                result["target_met"] = result["status"] == 400 and result["seconds"] < 2
            else:  # queued at once, read by the worker (the numbered bomb is refused there)
                result["target_met"] = result["status"] == 202
            result["target_met"] = result["target_met"] and result["worker_rss_peak_mb"] < 300
            if celery is not None and result.pop("url", None):
                result.update(follow(result["status_url"], token, celery.pid))
            result.pop("status_url", None)
            print(json.dumps(result, ensure_ascii=False))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if celery is not None:
            os.killpg(celery.pid, signal.SIGTERM)
            celery.wait(timeout=60)
        if not args.keep:
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME], check=False)


if __name__ == "__main__":
    main()
