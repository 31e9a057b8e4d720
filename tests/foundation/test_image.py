"""The image: no secrets or history in its build context, and the dependencies CI tested."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def ignored(path: str) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for pattern in _patterns():
        negate = pattern.startswith("!")
        regex = _regex(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(c) for c in candidates):
            result = not negate
    return result


def test_secrets_history_and_local_data_stay_out_of_the_image():
    for path in (
        ".env",
        ".env.production",
        ".git/config",
        "deploy/certs/privkey.pem",
        "server.key",
        "db.sqlite3",
        "media/statements/x.pdf",
        "backups/sms-20261130-023000/database.dump",
        ".venv/bin/python",
        "billing/__pycache__/models.cpython-311.pyc",
    ):
        assert ignored(path), path


def test_what_the_services_need_goes_into_the_image():
    for path in (
        "manage.py",
        "requirements/prod.txt",
        "scripts/lock_check.py",
        "sms_contract/gunicorn_conf.py",
        "billing/models.py",
        "templates/base.html",
        "static/portal/portal.css",
        ".env.example",
    ):
        assert not ignored(path), path


def test_the_image_installs_the_lock_ci_tested_and_collects_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --require-hashes --no-deps -r requirements/prod.txt" in dockerfile
    assert "scripts/lock_check.py --prod-only" in dockerfile  # a pyproject change without `make lock` fails the build
    assert "collectstatic" in dockerfile
    assert "USER app" in dockerfile
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes --no-deps -r requirements/dev.txt" in makefile  # CI: `make install`
