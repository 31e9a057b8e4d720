# The two commands a newcomer needs: `make run` and `make test`. `make help` lists the rest.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast lint format migrations-check demo-data bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(BIN)/python: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
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

format: install ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations-check: install ## Fail when a model change has no migration
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

bench: install ## Run every benchmark in bench/ (long; see docs/benchmarks.md)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## Remove the demo database and run files
	rm -rf db.sqlite3 db.sqlite3-wal db.sqlite3-shm run/ media/
