# The two set-up commands of the README: `make run` and `make test`.
# Both work on a fresh machine with only Python 3.11, pip and apt.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast lock lock-check test-packages browser lint bench mutation clean

run: $(VENV)/.installed
	$(PY) -m app --demo

test: $(VENV)/.installed-test test-packages lint
	$(PY) -m pytest

# The quick loop: the unit tests only (pure core, no browser, no servers).
test-fast: $(VENV)/.installed-test
	$(PY) -m pytest tests/unit -q

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Exact, hashed versions from the committed locks (requirements/), the project itself without
# resolving anything: a release elsewhere never changes what a fresh machine installs.
PIP_LOCKED := $(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps
PIP_SELF   := $(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .

lock-check:
	@$(PYTHON) requirements/check_lock.py

$(VENV)/.installed: pyproject.toml requirements/run.lock | lock-check $(VENV)/bin/python
	$(PIP_LOCKED) -r requirements/run.lock
	$(PIP_SELF)
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements/test.lock | lock-check $(VENV)/bin/python
	$(PIP_LOCKED) -r requirements/test.lock
	$(PIP_SELF)
	touch $(VENV)/.installed $@

# Refresh the locks from pyproject.toml (newest versions that satisfy it, with their hashes), then
# commit requirements/.  The test lock is resolved first; the run lock takes the same versions.
LOCK_ENV := .venv-lock
PIP_COMPILE := env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
	$(LOCK_ENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-header \
	--no-emit-index-url --no-emit-find-links --upgrade
lock:
	[ -x $(LOCK_ENV)/bin/pip-compile ] || { $(PYTHON) -m venv $(LOCK_ENV) && \
		$(LOCK_ENV)/bin/pip install --quiet pip-tools==7.7.0; }
	$(PIP_COMPILE) --extra test -o requirements/test.lock pyproject.toml requirements/build.in
	$(PIP_COMPILE) -c requirements/test.lock -o requirements/run.lock pyproject.toml requirements/build.in
	$(PYTHON) requirements/check_lock.py --stamp
	$(PYTHON) requirements/check_lock.py

# The Debian packages the tests run for real, as package:command: Chromium and its driver (the
# headless browser tests), Prometheus with promtool and Alertmanager with amtool (the GET /metrics scrape
# and the rules and configs of docs/prometheus/).  Installed only when one is missing, after an apt-get update.
TEST_DEBS := chromium:chromium chromium-driver:chromedriver prometheus:prometheus prometheus:promtool \
	prometheus-alertmanager:prometheus-alertmanager prometheus-alertmanager:amtool

test-packages:
	@missing=""; for pair in $(TEST_DEBS); do \
		command -v $${pair#*:} >/dev/null 2>&1 || missing="$$missing $${pair%%:*}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

browser: test-packages

# Style, format, the import contract ([tool.importlinter] in pyproject.toml: the layers of
# docs/architecture.md) and no dead code (vulture; vulture_whitelist.py names what only a framework
# or a test runner uses).  Part of `make test`.
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/vulture  # paths and what it ignores: [tool.vulture] in pyproject.toml

bench: $(VENV)/.installed-test browser
	$(PY) bench/ingest.py
	$(PY) bench/push_latency.py
	$(PY) bench/alert_latency.py
	$(PY) bench/prometheus_scrape.py

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
	rm -rf $(VENV) $(LOCK_ENV) build *.egg-info .pytest_cache mutants
