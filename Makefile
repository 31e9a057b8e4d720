# The two commands a newcomer needs: `make run` and `make test`. `make help` lists the rest.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast lint lint-imports typecheck format migrations-check demo-data bench clean lock smoke
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command "make lock"

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# Installs exactly the lock file (requirements/dev.txt: the image's requirements/prod.txt plus the dev tools),
# hash-checked; fails when pyproject.toml asks for something the lock does not pin (then: make lock).
$(BIN)/python: pyproject.toml requirements/prod.txt requirements/dev.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/python scripts/lock_check.py
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	@touch $(BIN)/python

install: $(BIN)/python ## Create the virtualenv and install the project with its dev tools
	@scripts/system-deps.sh

run: install ## Set up everything (SQLite, demo data, simulated carrier nodes) and start the system
	@scripts/run-demo.sh $(HOST) $(PORT)

test: install ## Run the whole test suite (SQLite by default; DATABASE_URL=postgres://... for PostgreSQL)
	$(BIN)/pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

test-fast: install ## The suite without the browser tests
	$(BIN)/pytest -n 2 -q -m "not browser" $(PYTEST_ARGS)

lint: install ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lint-imports: install ## Check the app layering (import-linter contracts in pyproject.toml, docs/architecture.md)
	$(BIN)/lint-imports

typecheck: install ## mypy: strict on gateway.cmpp and every rules module, the rest checked leniently
	$(BIN)/mypy

format: install ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations-check: install ## Fail when a model change has no migration
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

lock: ## Regenerate the lock files from pyproject.toml (keeps current pins; UPGRADE=1 bumps everything)
	@test -x $(BIN)/uv || { test -x $(BIN)/python || $(PY) -m venv $(VENV); \
	  $(BIN)/pip install -q "uv==$$(sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements/dev.txt)"; }
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) -o requirements/prod.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev -c requirements/prod.txt $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) \
	  -o requirements/dev.txt
	$(BIN)/python scripts/lock_check.py

smoke: install ## Run every docker-compose.yml service natively and check them (needs PostgreSQL; see the script)
	@scripts/system-deps.sh --deploy
	$(BIN)/python scripts/compose_smoke.py

bench: install ## Run every benchmark in bench/ (long; see docs/benchmarks.md)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## Remove the demo database and run files
	rm -rf db.sqlite3 db.sqlite3-wal db.sqlite3-shm run/ media/
