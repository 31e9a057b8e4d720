"""The CMPP package stays usable without Django (ADR 0003): importing it must not load Django."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_importing_gateway_cmpp_does_not_import_django() -> None:
    """Neither the protocol package, its carrier adapter nor the protocol-neutral package loads Django."""
    code = (
        "import sys, gateway.cmpp, gateway.cmpp.simulator, gateway.cmpp.carrier, gateway.carrier.registry\n"
        "assert 'django' not in sys.modules, sorted(m for m in sys.modules if m.startswith('django'))\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
