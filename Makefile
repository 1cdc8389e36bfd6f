# Spindle — `make run` serves the demo, `make test` runs the whole suite.
# Both set everything up on a machine with only Python 3.11+: a virtualenv in .venv and, with no
# DATABASE_URL, an embedded PostgreSQL in .pgdata (see marketplace/devdb.py).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help install run test lint format migrate seed worker beat db db-stop messages lock clean check-deploy bench bench-plot screenshots

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Spindle needs Python 3.11 or newer")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

install: $(VENV)/.installed ## Create .venv and install the locked dependencies

db: install ## Start the embedded PostgreSQL (only used when DATABASE_URL is unset)
	@if [ -z "$$DATABASE_URL" ]; then $(PY) -m marketplace.devdb start; fi

db-stop: ## Stop the embedded PostgreSQL
	$(PY) -m marketplace.devdb stop

migrate: db ## Apply database migrations
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --no-input

seed: migrate ## Load the demo market (idempotent)
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo

run: seed ## Install, migrate, seed demo data and serve on http://127.0.0.1:$(PORT)
	DEBUG=$${DEBUG:-1} $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: db ## Install and run the whole suite (lint, format, migrations check, pytest)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install ## Lint and check formatting
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install ## Fix lint and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

worker: install ## Run a Celery worker with beat (needs CELERY_BROKER_URL)
	$(VENV)/bin/celery -A marketplace worker --beat --loglevel=INFO

messages: install ## Extract strings to locale/zh_Hans and compile them (needs GNU gettext)
	DEBUG=1 $(PY) manage.py makemessages --locale zh_Hans --no-obsolete --ignore '.venv/*' --ignore 'staticfiles/*'
	DEBUG=1 $(PY) manage.py makemessages --domain djangojs --locale zh_Hans --no-obsolete --ignore '.venv/*' --ignore 'staticfiles/*' --ignore 'static/vendor/*'
	DEBUG=1 $(PY) manage.py compilemessages --locale zh_Hans --ignore '.venv/*'

lock: ## Re-resolve requirements.in into requirements.lock
	rm -rf /tmp/spindle-lock && $(PYTHON) -m venv /tmp/spindle-lock
	/tmp/spindle-lock/bin/pip install --quiet -r requirements.in
	/tmp/spindle-lock/bin/pip freeze --exclude pip > requirements.lock

bench: migrate ## Benchmark matching, ingestion, booking and search on a synthetic market in its own database (BENCH_ARGS="--scale large")
	DEBUG=$${DEBUG:-1} $(PY) manage.py bench $(BENCH_ARGS)

bench-plot: install ## Draw bench/results.csv history into bench/results.png
	DEBUG=$${DEBUG:-1} $(PY) manage.py bench_plot

screenshots: seed ## Render the key pages of the demo into docs/screenshots/*.png (needs /usr/bin/chromium)
	DEBUG=$${DEBUG:-1} $(PY) tests/e2e/screenshots.py

check-deploy: install ## Run Django's deployment checks with production-like settings
	DEBUG=0 $(PY) manage.py check --deploy --fail-level WARNING

clean: ## Remove the virtualenv and caches (keeps the database)
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
