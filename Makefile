# The two set-up commands of the README: `make run` and `make test`.
# Both work on a fresh machine with only Python 3.11, pip and apt.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-test browser lint bench clean

run: $(VENV)/.installed
	$(PY) -m app --demo

test: $(VENV)/.installed-test browser
	$(PY) -m pytest

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

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed-test browser
	$(PY) bench/ingest.py
	$(PY) bench/push_latency.py
	$(PY) bench/alert_latency.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
