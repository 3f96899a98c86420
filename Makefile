# The two commands: `make run` (set up + serve) and `make test` (set up + lint + tests).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app app
STAMP  := $(VENV)/.installed
# `make run` serves with gunicorn (threads + keep-alive). More web processes need a shared
# REDIS_URL for automation (see docs/deploy.md); BIND/WEB_PROCESSES/WEB_THREADS override.
BIND          ?= 127.0.0.1:5000
WEB_PROCESSES ?= 1
WEB_THREADS   ?= 8

.PHONY: install run test lint browser bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(FLASK) init
	$(FLASK) user ensure-admin
	$(FLASK) demo --offer
	@echo "serving on http://$(BIND)"
	$(VENV)/bin/gunicorn --bind $(BIND) --workers $(WEB_PROCESSES) --threads $(WEB_THREADS) \
	  --keep-alive 5 --graceful-timeout 20 --access-logfile - 'app:create_app()'

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Browser tests drive Debian's chromium (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else \
	    echo "chromium not found and cannot be installed here: browser tests will be skipped (in CI they fail)"; \
	  fi; }

# Two passes: the engine, web, API and worker tests spread over TEST_WORKERS processes;
# then, alone on the machine, the suites whose timing is part of what they check (real
# browser journeys; worker kills, Redis restarts and cut connections of the fault suite;
# gunicorn + RQ worker processes of the multi-process suite).
TEST_WORKERS ?= 2
SERIAL_SUITES := tests/browser tests/automation/faults tests/multiproc

test: lint browser
	$(PY) -m pytest -n $(TEST_WORKERS) $(addprefix --ignore=,$(SERIAL_SUITES))
	$(PY) -m pytest $(SERIAL_SUITES)

bench: install
	$(PY) bench/run.py

# docs/template-language.md is generated from schemas/ (tests/test_project_docs.py checks it is current).
docs: install
	$(PY) -m tessera.meta.reference > docs/template-language.md.tmp
	mv docs/template-language.md.tmp docs/template-language.md

clean:
	rm -rf $(VENV) instance .pytest_cache
