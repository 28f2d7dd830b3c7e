# Two commands do all set-up: `make serve` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium
JAVA_LIB ?= /usr/share/java

.PHONY: serve test browser-deps test-fast test-slow test-virtuoso virtuoso coverage lint-code install install-dev bench bench-http bench-scale bench-peers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# An editable install leaves the package's own modules uncompiled; where PYTHONDONTWRITEBYTECODE is
# set (as in CI), every process would compile them again: about a quarter of a second of each start.
COMPILE := $(BIN)/python -m compileall -q service/payerkg

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(COMPILE)

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(COMPILE)

# Anonymous callers may ask coverage and validate (PAYERKG_ANONYMOUS_ROLE); editing needs a key.
serve: install
	PAYERKG_ANONYMOUS_ROLE=$${PAYERKG_ANONYMOUS_ROLE:-integrator} $(BIN)/payerkg serve --host $(HOST) --port $(PORT)

# The same checks as .pre-commit-config.yaml.
lint-code: install-dev
	$(BIN)/ruff format --check service tests benchmarks
	$(BIN)/ruff check service tests benchmarks
	$(BIN)/mypy

# Everything but the long runs kept beside a faster equivalent (they would double the time).
# Two workers, one per core (pytest-xdist), work-stealing so no worker idles at the end: 6,102
# tests; `make test` with the environment in place took 4 min 17 s (pytest 4 min 8 s, 7.7
# CPU-minutes) on an idle 2-core AMD EPYC machine on 2026-12-04, against 11 min before the suite
# work of issue 13. On a busy machine it takes longer (6.5-8.5 min seen on a shared Intel Xeon).
test: lint-code browser-deps
	$(BIN)/pytest -m "not slow and not virtuoso" -n 2 --dist worksteal

# The remote store on a second SPARQL server besides Oxigraph: Virtuoso 7.2 from Debian (installed
# by the `virtuoso` target): store contract, conformance suites, seeding, two replicas: 347 tests,
# 5 min 19 s on a busy 2-core machine.
test-virtuoso: virtuoso $(BIN)/pytest
	$(BIN)/pytest -m virtuoso -n 2

# Debian's Virtuoso server, when it is not there yet (needs root and Debian's package lists).
virtuoso:
	@command -v virtuoso-t >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends virtuoso-opensource-7-bin; } || \
		echo "virtuoso-opensource-7-bin could not be installed: the Virtuoso tests will be skipped"

# The browser tests (tests/web) drive Debian's Chromium: installed here when it is missing and we
# may (root with apt-get, as in CI); otherwise a message says how. They never skip.
browser-deps:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Chromium for the browser tests (apt-get install chromium)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "the browser tests need Chromium at $(CHROMIUM): run 'sudo apt-get install -y chromium'" \
			"(Debian), or give another with CHROMIUM=... and PAYERKG_CHROMIUM=..."; exit 1; \
	fi

# The inner loop: no long runs (slow), no real server or child processes (process), no browser.
test-fast: $(BIN)/pytest
	$(BIN)/pytest -m "not slow and not process and not browser"

# Only the long runs: pyshacl over every shipped case and over 2,000 generated encounters.
test-slow: $(BIN)/pytest
	$(BIN)/pytest -m slow

# Line coverage of the package by the whole suite (`make test`'s selection), as a table per module.
coverage: $(BIN)/pytest
	$(BIN)/pytest -m "not slow" --cov=payerkg --cov-report=term --cov-report=html:build/coverage

$(BIN)/pytest:
	$(MAKE) install-dev

bench: install-dev
	$(BIN)/python -m benchmarks

# HTTP with workers (docs/benchmarks.md, issue 21): the load comes from Debian's wrk, installed
# here when it is missing and we may (root with apt-get).
bench-http: install-dev
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m benchmarks.http_workers

# pyshacl, Apache Jena SHACL (Debian's libapache-jena-java, installed here when its jars are missing
# and we may) and the compiled engine on the same Turtle files; without Java or Jena the Jena rows
# are skipped with a message. About 15 minutes on a busy 2-core machine.
bench-peers: install-dev
	@ls $(JAVA_LIB)/jena-shacl.jar >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			libapache-jena-java >/dev/null; } || echo "libapache-jena-java could not be installed"
	$(BIN)/python -m benchmarks.peers --java-lib $(JAVA_LIB)

# Growth with the policy graph up to 10^7 statements on each store, answered by one asker and by
# two side by side, each without and with the local version index (about an hour).
bench-scale: install-dev
	$(BIN)/python -m benchmarks.scale --sizes 100000,1000000,10000000 --answers 2000 --encounters 300 \
		--memory-max 200000 --validation-max 200000 --askers 1,2 --version-index off,on

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
