#!/usr/bin/env bash
# `make run`: the whole system on its embedded defaults. SQLite in the project folder,
# Celery tasks in-process, simulated carrier nodes on loopback, the sender, the web app.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:-127.0.0.1}; port=${2:-8000}
py=.venv/bin/python
mkdir -p run
# A local development .env with generated secrets (sms_contract/settings/base.py reads it because it carries
# SMS_DEV_ENV=1), so every command in the README works in a second terminal without exporting anything.
# An existing .env is never overwritten; one without the marker (a production file) is left alone.
if [ ! -e .env ]; then
  umask 077
  $py - <<'PY'
import secrets
from cryptography.fernet import Fernet

with open(".env", "x", encoding="utf-8") as f:
    f.write(
        "# Written by `make run` for local development only (SMS_DEV_ENV=1): the settings refuse it with DEBUG off.\n"
        "SMS_DEV_ENV=1\nDEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"SECRETS_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
    )
PY
  umask 022
  echo "  wrote .env (local development secrets, DEBUG=true; delete it to make new ones)"
elif ! grep -q '^SMS_DEV_ENV=1' .env; then
  echo "  .env exists without SMS_DEV_ENV=1 (a production file?): left as it is; this demo runs with DEBUG=true"
  export DEBUG=${DEBUG:-true}
fi
$py manage.py migrate --noinput -v 0
$py manage.py seed_demo --admin | tee run/logins.txt
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
# Background services of the demo (the simulated carrier nodes and the sender) start here.
if [ -x scripts/run-demo-services.sh ]; then
  # shellcheck disable=SC1091
  source scripts/run-demo-services.sh
fi
cat <<MSG

  12123 SMS contract system is starting on http://$host:$port/
    admin:    http://$host:$port/admin/
    API:      http://$host:$port/api/v1/      (docs: http://$host:$port/api/docs/)
  Logins are listed above (run/logins.txt). Stop with Ctrl-C.

MSG
$py manage.py runserver "$host:$port" --noreload &
pids+=($!)
wait "${pids[-1]}"
