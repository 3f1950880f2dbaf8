# Two commands do everything on a fresh machine with Python 3.11: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
ENV := source scripts/airflow_env.sh &&

.PHONY: demo test test-fast services browser docs bench lint up calendar install clean ingest templates plans dovecot portal portal-link pull-mail

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Cần Python 3.11 ($(PYTHON)) / Python 3.11 is required"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The demo renders the consolidated report to PDF through LibreOffice: `docs` installs it (Debian).
demo: $(STAMP) docs
	$(ENV) python -m bhxh.cli.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check include dags plugins tests scripts
	cd include && ../$(VENV)/bin/lint-imports ../pyproject.toml

# Everything, slow suites (Celery topology, browser, drills) included: this is what CI runs.
test: $(STAMP) lint services browser docs dovecot
	$(ENV) python -m pytest -q

# Without the slow suites, for a quick check while working.
test-fast: $(STAMP) lint services docs dovecot
	$(ENV) python -m pytest -q -m "not slow"

calendar: $(STAMP)
	@$(ENV) python -m bhxh.cli.calendar --year $(or $(YEAR),$(shell date +%Y)) $(if $(FORMAT),--format $(FORMAT)) $(if $(NOTES),--notes)

up: $(STAMP)
	bash scripts/up.sh

clean:
	rm -rf airflow_home out var

# The file name reaches the program through the environment, never through a command line a shell parses, and
# make never expands it ($(value FILE); FILE itself is not exported, which would expand it): a name with
# backticks, $(...) or quotes runs nothing. make turns any failing recipe into its own exit status 2: the
# ingest's own code (1 rejected, 2 usage, 3 store unavailable) is the N of make's "Error N" and is printed.
unexport FILE
ingest: export BHXH_INGEST_FILE = $(value FILE)
ingest: $(STAMP)
	@if [ -z "$$BHXH_INGEST_FILE" ]; then \
	  echo "Cách dùng / usage: make ingest FILE=duong/dan/bao_cao.xlsx (mã thoát / exit code 2)" >&2; exit 2; fi; \
	$(ENV) python -m bhxh.cli.ingest; code=$$?; \
	if [ $$code -ne 0 ]; then echo "make ingest: mã thoát / exit code $$code (1 không hợp lệ / rejected, 2 sai cú pháp / usage, 3 kho không sẵn sàng / store unavailable)" >&2; fi; \
	exit $$code

# make templates [OBLIGATION=id] [CYCLE=2019] [UNIT=id]: the files units fill in (README, "Templates").
templates: $(STAMP)
	$(ENV) python -m bhxh.cli.templates $(if $(OBLIGATION),--obligation "$(OBLIGATION)") $(if $(CYCLE),--cycle "$(CYCLE)") $(if $(UNIT),--unit "$(UNIT)")

plans: $(STAMP)
	@$(ENV) python -m bhxh.cli.plans

services:
	@bash scripts/services.sh

browser:
	@bash scripts/install_chromium.sh

# LibreOffice headless, poppler and the Liberation fonts (Debian) for the DOCX/XLSX -> PDF documents.
docs:
	@bash scripts/install_docs.sh

# Debian's Dovecot for the mailbox tests (each starts its own throw-away server on loopback).
dovecot:
	@bash scripts/install_dovecot.sh

# Benchmarks (ratios to Airflow's own floor, one run each): out/bench/results.json, docs/performance.md.
bench: $(STAMP)
	$(ENV) python scripts/bench.py $(if $(QUICK),--quick)

# The unit portal alone (127.0.0.1:8090 unless BHXH_PORTAL_PORT), a unit's personal link, the mailbox by hand.
portal: $(STAMP)
	$(ENV) python -m bhxh.portal serve

portal-link: $(STAMP)
	@$(ENV) python -m bhxh.portal link "$(UNIT)" $(if $(OBLIGATION),--obligation $(OBLIGATION)) $(if $(CYCLE),--cycle $(CYCLE))

pull-mail: $(STAMP)
	@$(ENV) python -m bhxh.cli.pull_mail $(if $(RELEASE),--release $(RELEASE))
