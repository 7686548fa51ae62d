# Pulse CRM — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Demo data size: medium ≈ 2,000 customers and 10,000 orders; small is ten times smaller.
SCALE ?= medium
# First day of the month 24 months ago: the demo's KPI history starts there.
MONTHS_AGO_24 := $(shell date -d "$$(date +%Y-%m-01) -24 months" +%Y-%m-%d)
# The customer predictions are fitted on the demo's orders up to yesterday.
YESTERDAY := $(shell date -d yesterday +%Y-%m-%d)

.PHONY: run test install install-test demo lint check clean mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"

## Installs, migrates, seeds demo data (once), computes KPIs and serves on http://$(HOST):$(PORT)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py schedule
	$(BIN)/python manage.py seed_demo --if-empty --scale $(SCALE)
	$(BIN)/python manage.py predict fit --calibration-end $(YESTERDAY) && $(BIN)/python manage.py predict score
	$(BIN)/python manage.py kpis compute --granularity month --start $(MONTHS_AGO_24) --quiet-if-fresh
	$(BIN)/python manage.py forecast_snapshot
	$(BIN)/python manage.py demo_logins
	@echo "Demo: two-factor sign-in is OFF (CRM_REQUIRE_2FA_ROLES is empty); production turns it on for Admin and Manager."
	CRM_REQUIRE_2FA_ROLES= $(BIN)/python manage.py runserver $(HOST):$(PORT)

## Installs the test dependencies and runs the whole suite (pytest's "no tests" exit 5 fails too)
test: install-test
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/python manage.py makemigrations --check --dry-run

## Mutation testing of the rule modules (slow, never in CI): scores go to docs/testing.md
MUTATION_MODULES ?= periods business_hours targets alerts
mutation: install-test
	$(BIN)/pip install --quiet -e ".[mutation]"
	PYTHON=$(BIN)/python mutation/run.sh $(MUTATION_MODULES)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles artifacts
