#!/usr/bin/env bash
# `make run`: the whole system on its embedded defaults. SQLite in the project folder,
# Celery tasks in-process, simulated carrier nodes on loopback, the sender, the web app.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:-127.0.0.1}; port=${2:-8000}
export DEBUG=${DEBUG:-true}
py=.venv/bin/python
mkdir -p run
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
