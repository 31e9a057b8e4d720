"""Fail when pyproject.toml asks for something the lock files do not pin (then run `make lock`).

Offline and quick: it compares the requirements in pyproject.toml with the `name==version` pins in
requirements/prod.txt (the dependencies) and requirements/dev.txt (the dependencies plus the dev
extra). `make install` and the image build run it, so a dependency added to pyproject.toml without
a new lock stops the build with a clear message instead of installing something that was never tested.

    python scripts/lock_check.py [--prod-only]
"""

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


def pins(path: Path) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall(path.read_text(encoding="utf-8"))}


def problems(requirements: list[str], pinned: dict[str, str], lock_name: str) -> list[str]:
    out = []
    for line in requirements:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        version = pinned.get(canonicalize_name(req.name))
        if version is None:
            out.append(f"{lock_name} does not pin {req.name} (pyproject.toml: {line})")
        elif not req.specifier.contains(version, prereleases=True):
            out.append(f"{lock_name} pins {req.name}=={version}, outside pyproject.toml's {line}")
    return out


def main(argv: list[str]) -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    main_deps = project["dependencies"]
    found = problems(main_deps, pins(ROOT / "requirements" / "prod.txt"), "requirements/prod.txt")
    if "--prod-only" not in argv:
        dev_deps = main_deps + project["optional-dependencies"]["dev"]
        found += problems(dev_deps, pins(ROOT / "requirements" / "dev.txt"), "requirements/dev.txt")
    for problem in found:
        print(f"lock: {problem}", file=sys.stderr)
    if found:
        print("lock: the lock files are older than pyproject.toml; regenerate them with `make lock`.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
