# Two commands: `make run` (the app with a real Celery worker and beat) and `make test` (lint + pytest).
# Needs only Python 3.11+ and make. The virtualenv lives in $(VENV); requirements are installed again
# only when a requirements file changes (a stamp file in the virtualenv records the last install).

VENV ?= .venv
PORT ?= 8000
PYTHON ?=
PYTEST_ARGS ?=

VENV_BIN := $(VENV)/bin
VENV_PY := $(VENV_BIN)/python
REQ_STAMP := $(VENV)/.requirements.stamp
DEV_STAMP := $(VENV)/.requirements-dev.stamp
PIP := $(VENV_PY) -m pip install --disable-pip-version-check --quiet

.PHONY: run test
.DEFAULT_GOAL := run

$(VENV_PY):
	@py=""; \
	for candidate in $(PYTHON) python3.13 python3.12 python3.11 python3; do \
		if command -v "$$candidate" >/dev/null 2>&1 \
			&& "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then \
			py="$$candidate"; break; \
		fi; \
	done; \
	if [ -z "$$py" ]; then \
		echo "leadops needs Python 3.11 or newer: none of $(PYTHON) python3.13 python3.12 python3.11 python3 is." >&2; \
		echo "Install one, or name it: make PYTHON=/path/to/python3.11" >&2; \
		exit 1; \
	fi; \
	echo "Creating $(VENV) with $$("$$py" --version 2>&1) ($$(command -v "$$py"))"; \
	"$$py" -m venv "$(VENV)"

$(REQ_STAMP): requirements.txt | $(VENV_PY)
	$(PIP) -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements-dev.txt requirements.txt | $(VENV_PY)
	$(PIP) -r requirements-dev.txt
	@touch $@ $(REQ_STAMP)

# Web (runserver), a Celery worker and Celery beat under honcho (see Procfile). Without DATABASE_URL and
# REDIS_URL: SQLite and Celery's filesystem broker under var/. honcho is told to read no .env file, so
# every process sees the same environment as migrate and seed_demo here.
run: $(REQ_STAMP)
	@mkdir -p var
	$(VENV_PY) manage.py migrate --noinput
	$(VENV_PY) manage.py seed_demo
	@$(VENV_PY) manage.py demo_logins --url "http://127.0.0.1:$(PORT)/"
	PATH="$(abspath $(VENV_BIN)):$$PATH" exec "$(VENV_BIN)/honcho" start --env /dev/null --port "$(PORT)"

# ruff (lint and format check), then the whole pytest suite; DATABASE_URL and REDIS_URL pass through.
test: $(DEV_STAMP)
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/ruff format --check .
	$(VENV_PY) -m pytest $(PYTEST_ARGS)
