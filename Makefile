# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PG_ADMIN_DSN ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST_WORKERS ?= 2
# The card, billing-details and charge flows, run again with the Stripe provider against
# localstripe (each pytest worker starts its own emulator on a free loopback port).
STRIPE_TESTS := tests/test_cards.py tests/test_billing_details.py tests/test_invoices.py \
	tests/test_collection.py tests/test_setup_intents.py tests/test_authentication_required.py \
	tests/test_stripe_*.py tests/browser/test_stripe_portal.py
# The portal's browser tests (tests/browser) drive this Chromium; without it they are skipped.
CHROMIUM ?= /usr/bin/chromium
# axe-core, from npm, for the portal's accessibility test: fetched once into .cache/ when npm
# is here (never at test time); without it that test is skipped and says so.
AXE_VERSION := 4.14.1
AXE_JS := .cache/axe-core/axe.min.js

.PHONY: install run migrate test lint typecheck test-sqlite test-postgres openapi format bench clean \
	browser-check translations

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/billing serve --host $(HOST) --port $(PORT)

migrate: install
	$(BIN)/billing migrate

lint: install
	$(BIN)/ruff check app tests migrations bench tools
	$(BIN)/ruff format --check app tests migrations bench tools
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

test: lint test-sqlite test-postgres

$(AXE_JS):
	@if command -v npm >/dev/null 2>&1; then \
		mkdir -p $(@D) && cd $(@D) && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && \
		tar -xzf axe-core-$(AXE_VERSION).tgz --strip-components=1 package/axe.min.js && \
		rm axe-core-$(AXE_VERSION).tgz; \
	else echo "NOTE: npm not found: the portal's axe-core accessibility test will be SKIPPED"; fi

browser-check: $(AXE_JS)
	@test -x $(CHROMIUM) || echo "NOTE: $(CHROMIUM) not found: the portal's browser tests \
	(tests/browser) will be SKIPPED; apt-get install chromium to run them"

test-sqlite: install browser-check
	$(BIN)/pytest -n $(PYTEST_WORKERS) --db sqlite
	$(BIN)/pytest -n $(PYTEST_WORKERS) --db sqlite --provider stripe $(STRIPE_TESTS)

test-postgres: install browser-check
	BILLING_TEST_POSTGRES_DSN=$(PG_ADMIN_DSN) $(BIN)/pytest -n $(PYTEST_WORKERS) --db postgresql
	BILLING_TEST_POSTGRES_DSN=$(PG_ADMIN_DSN) $(BIN)/pytest -n $(PYTEST_WORKERS) --db postgresql \
		--provider stripe $(STRIPE_TESTS)

openapi: install
	$(BIN)/billing openapi > openapi/openapi.json

# The invoice PDF's message catalogues: extract the strings marked in app/invoices/pdf.py, merge
# them into each language's .po (translate the new entries there), compile the .mo files.
TRANSLATIONS := app/invoices/translations
translations: install
	$(BIN)/pybabel extract --no-location --omit-header -k N_ -o $(TRANSLATIONS)/invoices.pot \
		app/invoices/pdf.py
	$(BIN)/pybabel update --no-location --omit-header -D invoices -i $(TRANSLATIONS)/invoices.pot \
		-d $(TRANSLATIONS)
	$(BIN)/pybabel compile -D invoices -d $(TRANSLATIONS)

format: install
	$(BIN)/ruff check --fix app tests migrations bench tools
	$(BIN)/ruff format app tests migrations bench tools

# Seeds the benchmark databases on first use, then measures (about 3 minutes); bench/README.md.
bench: install
	$(BIN)/python -m bench.run --json bench/results/latest.json --before bench/results/before.json

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache billing.db billing.db-*
