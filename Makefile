# SDD CRM — `make run` serves the app, `make test` runs the suite. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
VENDOR := sdd_crm/static/vendor
TRANSLATIONS := sdd_crm/translations

.PHONY: run test install assets translations messages db seed worker bench bench-criticality bench-import bench-load lint security clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed assets translations

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# Static assets come from npm packages at install time; nothing vendored is committed. Copied
# once per npm install (a stamp), so two `make test` running side by side never rewrite a file
# the other is serving.
assets: $(VENDOR)/.installed

$(VENDOR)/.installed: node_modules/.installed
	mkdir -p $(VENDOR)/fonts
	cp node_modules/@utrecht/component-library-css/dist/index.css $(VENDOR)/utrecht.css
	cp node_modules/@nl-design-system-unstable/voorbeeld-design-tokens/dist/theme.css $(VENDOR)/voorbeeld-theme.css
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.umd.min.js
	for w in 400 600 700; do cp node_modules/@fontsource/noto-sans/files/noto-sans-latin-$$w-normal.woff2 $(VENDOR)/fonts/; done
	touch $@

# The English catalogue (.po) is committed; its compiled .mo is built here and gitignored, again
# only when the catalogue changed. Without a .mo the interface is simply Dutch (the msgids).
translations: $(TRANSLATIONS)/en/LC_MESSAGES/messages.mo

$(TRANSLATIONS)/en/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/en/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile -d $(TRANSLATIONS)
	@test -f $@ || { echo "translations: en catalogue not compiled" >&2; exit 1; }
	touch $@

# Re-extract the Dutch msgids from Python and templates, merge them into the English catalogue,
# and list what still needs translating.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k lazy_ngettext:1,2 -k _l -k N_ --ignore-dirs='.* ._ node_modules' \
	  --add-location=file --sort-by-file --project=sdd-crm --copyright-holder='Smart Delta Drechtsteden' \
	  -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --ignore-obsolete
	-$(BIN)/python scripts/check_translations.py

db: install
	$(FLASK) db upgrade
	$(FLASK) seed reference
	@if [ ! -f instance/.demo-seeded ]; then $(FLASK) seed demo && touch instance/.demo-seeded; fi

run: db
	SDD_CRM_SESSION_COOKIE_SECURE=false SDD_CRM_REMEMBER_COOKIE_SECURE=false \
	  $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Security checks, not part of `make test` (issue 11): bandit with 0 high-severity findings, the
# hostile-input battery, schemathesis against /api/v1/openapi.json, then sqlmap against a running
# instance (forms signed in with the CSRF token, the API with a bearer token), which prints
# "injectable parameters: N" and fails when N > 0 or a target could not be tested.
security: install
	$(BIN)/bandit -r sdd_crm --severity-level high --quiet
	$(BIN)/python -m pytest -q tests/test_bandit.py tests/test_hostile_input.py tests/test_api_schemathesis.py
	$(BIN)/python scripts/security_sqlmap.py

worker: install
	$(FLASK) rq worker

# Every main page and API call at 100,000 organisations and 1,000,000 contact moments on SQLite
# (and PostgreSQL with TEST_DATABASE_URL), the 100,000-row import, the exports and the recompute;
# writes benchmarks/RESULTS.md. BENCH_ARGS=--reuse keeps the data of an earlier run.
bench: install
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# A criticality recompute over 100,000 organisations and 300,000 supply links (issue 4: < 60 s).
bench-criticality: install
	$(BIN)/python -m benchmarks.criticality

# An organisations import of 100,000 rows next to a raw executemany of the same rows (issue 6: < 60 s).
bench-import: install
	$(BIN)/python -m benchmarks.bench_import

# Under load (issue 12): gunicorn with 2 workers and 20 locust users for 60 s on the PostgreSQL
# database `make bench` builds (sdd_crm_bench on TEST_DATABASE_URL's server); writes its section
# of benchmarks/RESULTS.md. Options: BENCH_LOAD_ARGS='--users 20 --seconds 60 --database-url URL'.
$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

bench-load: install $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks.load $(BENCH_LOAD_ARGS)

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache
