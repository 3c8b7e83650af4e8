# The two set-up commands of the README: `make run` and `make test`.
# Both work on a fresh machine with only Python 3.11, pip and apt.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast install install-test browser lint bench mutation clean

run: $(VENV)/.installed
	$(PY) -m app --demo

test: $(VENV)/.installed-test browser lint
	$(PY) -m pytest

# The quick loop: the unit tests only (pure core, no browser, no servers).
test-fast: $(VENV)/.installed-test
	$(PY) -m pytest tests/unit -q

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

# Debian's Chromium and its driver for the headless browser tests (apt needs an update first).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
		echo "installing Debian chromium and chromium-driver"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; \
	fi

# Style, format and the import contract ([tool.importlinter] in pyproject.toml: the layers of
# docs/architecture.md).  Part of `make test`.
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

bench: $(VENV)/.installed-test browser
	$(PY) bench/ingest.py
	$(PY) bench/push_latency.py
	$(PY) bench/alert_latency.py

# Mutation testing of the pure core against the unit tests ([tool.mutmut] in pyproject.toml).
# Results are cached in mutants/: a second run re-tests only what changed.  `mutmut results`
# lists the survivors, `mutmut show NAME` shows one.
# Each mutant runs the property tests that cover it: 25 examples each (not 200) keep a run short.
mutation: $(VENV)/.installed-test
	ORACLE_EXAMPLES=25 $(VENV)/bin/mutmut run --max-children 2
	$(VENV)/bin/mutmut export-cicd-stats
	$(PY) -c "import json; s = json.load(open('mutants/mutmut-cicd-stats.json')); \
		print(f\"killed {s['killed']} / {s['total']} = {s['killed'] / max(s['total'], 1):.1%}\")"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache mutants
