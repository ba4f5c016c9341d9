# The front door. `make run` and `make test` each do their whole setup on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
MANAGE := $(BIN)/python manage.py
TEST_ENV := DJANGO_SETTINGS_MODULE=llm_admin.test_settings

.PHONY: run test lint format bench mutation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $@

# A lasting secret key for this checkout (never committed: .env is ignored).
.env:
	@$(PYTHON) -c "import secrets; print('DJANGO_SECRET_KEY=' + secrets.token_urlsafe(50))" > .env
	@echo "Wrote .env with a new DJANGO_SECRET_KEY."

run: $(INSTALLED) .env
	DJANGO_DEBUG=true $(MANAGE) migrate --noinput
	DJANGO_DEBUG=true $(MANAGE) load_starter_catalog
	DJANGO_DEBUG=true $(MANAGE) ensure_admin_login
	@# One worker beside the server (webhook deliveries); stopped with it.
	DJANGO_DEBUG=true $(MANAGE) run_worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
	DJANGO_DEBUG=true $(MANAGE) runserver 127.0.0.1:8000

test: $(INSTALLED)
	$(TEST_ENV) $(MANAGE) check
	$(TEST_ENV) $(MANAGE) makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(INSTALLED)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Mutation testing over models_registry/models/ and services/ (setup.cfg [mutmut]; not run by CI,
# see docs/mutation.md). MUTANTS narrows it, e.g. MUTANTS='models_registry.models.*'.
# Two children: each mutant's pytest run takes one of the SQLite test databases kept on disk
# (mutants/test-database-N.sqlite3, conftest.py), which spares it the migrations. Property
# tests run with 5 examples each (the conftest's "mutation" profile).
# `mutmut results` lists what survived, `mutmut show NAME` shows one.
mutation: $(INSTALLED)
	LLM_ADMIN_DESELECT_UNAVAILABLE=1 HYPOTHESIS_PROFILE=mutation LLM_ADMIN_TEST_DATABASE_FILE=$(CURDIR)/mutants/test-database.sqlite3 \
		$(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .hypothesis mutants
