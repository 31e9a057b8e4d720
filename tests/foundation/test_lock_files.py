"""The lock files pin everything pyproject.toml asks for, so the image and CI install what was tested."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("lock_check", ROOT / "scripts" / "lock_check.py")
lock_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock_check)


def test_lock_files_pin_every_requirement_of_pyproject():
    assert lock_check.main([]) == 0


def test_prod_and_dev_locks_pin_the_same_versions_of_shared_packages():
    prod = lock_check.pins(ROOT / "requirements" / "prod.txt")
    dev = lock_check.pins(ROOT / "requirements" / "dev.txt")
    assert {name: dev.get(name) for name in prod} == prod


def test_a_requirement_missing_from_the_lock_or_outside_its_range_is_reported():
    pinned = {"django": "5.2.19", "celery": "5.5.3"}
    found = lock_check.problems(["Django>=6", "celery[redis]>=5.4", "whitenoise>=6"], pinned, "prod.txt")
    assert found == [
        "prod.txt pins Django==5.2.19, outside pyproject.toml's Django>=6",
        "prod.txt does not pin whitenoise (pyproject.toml: whitenoise>=6)",
    ]


def test_every_locked_package_carries_a_hash():
    for name in ("prod.txt", "dev.txt"):
        text = (ROOT / "requirements" / name).read_text()
        entries = [e for e in text.split("\n") if e and not e.startswith((" ", "#"))]
        assert entries, name
        assert all(e.rstrip().endswith("\\") for e in entries), f"{name}: an entry without --hash"
