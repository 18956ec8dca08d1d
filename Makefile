# CONTORL: `make run` and `make test` are all a new developer needs.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/contorl
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Read by settings at import time, before any conftest runs, so they go in the environment.
TEST_ENV := FAST_PASSWORD_HASHER=1 DB_POOL_MIN_SIZE=1

.PHONY: venv venv-dev run test test-sqlite test-postgres lint format messages migrate seed worker beat bench bench-quick screenshots clean stack stack-stop node_modules

PIP := $(VENV)/bin/pip install --disable-pip-version-check -q

# Two stamps: the runtime (`make run`) and, on top of it, the test/lint/bench tools. python-ldap
# (requirements-ldap.txt) compiles from source, so it is only tried where its headers are.
$(VENV)/.installed: requirements.txt requirements-ldap.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the runtime packages (requirements.txt) into $(VENV)..."
	@$(PIP) -r requirements.txt
	@if [ -f /usr/include/ldap.h ] && [ -f /usr/include/sasl/sasl.h ]; then \
		$(PIP) -r requirements-ldap.txt \
			|| echo "note: directory (LDAP) sign-in is unavailable: python-ldap did not build"; \
	else echo "note: directory (LDAP) sign-in is off (python-ldap needs libldap2-dev and libsasl2-dev); local accounts work"; fi
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	@echo "Installing the test and development tools (requirements-dev.txt)..."
	@$(PIP) -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

venv-dev: $(VENV)/.installed-dev

# ESLint for the browser code (package.json, exact versions in package-lock.json). Only a
# development tool: the pages load the ES modules under */static/ as written, no build step.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: make lint needs Node.js 20 and npm (Debian: apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

node_modules: node_modules/.installed

messages: venv
	@$(PY) manage.py build_translations -v 0

migrate: venv
	@$(PY) manage.py migrate --noinput -v 0

seed: migrate
	@$(PY) manage.py seed_demo --url http://$(HOST):$(PORT)

run: messages seed
	@$(PY) manage.py run_banner --url http://$(HOST):$(PORT)
	@$(VENV)/bin/daphne -b $(HOST) -p $(PORT) contorl.asgi:application

worker: venv
	$(VENV)/bin/celery -A contorl worker -l info --concurrency 2

beat: venv
	$(VENV)/bin/celery -A contorl beat -l info

# The whole suite twice: on SQLite (embedded defaults) and on PostgreSQL + Redis.
test: messages venv-dev
	$(MAKE) --no-print-directory test-sqlite
	@if $(PY) -c "import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(('127.0.0.1',5432)))"; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ "$$CONTORL_REQUIRE_SERVICES" = "1" ]; then \
		echo "PostgreSQL is not reachable and CONTORL_REQUIRE_SERVICES=1"; exit 1; \
	else echo "PostgreSQL not reachable: skipped the PostgreSQL pass"; fi

test-sqlite: messages venv-dev
	@echo "== SQLite pass =="
	env -u DATABASE_URL -u REDIS_URL $(TEST_ENV) REDIS_TEST_URL=$(REDIS_TEST_URL) $(PYTEST) -m "not postgres" $(PYTEST_ARGS)

test-postgres: messages venv-dev
	@echo "== PostgreSQL + Redis pass =="
	$(TEST_ENV) DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$(REDIS_TEST_URL) REDIS_TEST_URL=$(REDIS_TEST_URL) \
		$(PYTEST) -m "not browser" $(PYTEST_ARGS)

# The README's pictures (docs/screenshots/), taken by the browser tests of those screens.
SCREENSHOT_TESTS := tests/browser/test_board.py::test_drag_to_another_column_reaches_the_other_user_within_2s \
	tests/browser/test_board.py::test_stale_edit_shows_conflict_dialog_then_refresh_and_retry \
	tests/browser/test_board.py::test_workload_heatmap_renders \
	tests/rooms/test_browser_room_ui.py::test_room_scrolls_like_a_chat
screenshots: messages venv-dev
	env -u DATABASE_URL -u REDIS_URL $(TEST_ENV) README_SCREENSHOTS=1 REDIS_TEST_URL=$(REDIS_TEST_URL) \
		$(PYTEST) -q $(SCREENSHOT_TESTS)

lint: venv-dev node_modules
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	npx --no-install eslint .

format: venv-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: venv-dev
	$(PY) -m bench.run

bench-quick: venv-dev
	$(PY) -m bench.run --quick

# The production layout on this machine (deploy/stack/): nginx :8080 -> two daphne
# processes, a Celery worker, beat, PostgreSQL (database contorl_stack) and its own
# redis-server, all in production mode. Logs and pids in var/stack/.
stack: messages
	$(PY) deploy/stack/stack.py start $(STACK_ARGS)

stack-stop:
	$(PY) deploy/stack/stack.py stop

clean:
	rm -rf var/contorl.sqlite3 var/media var/screenshots
