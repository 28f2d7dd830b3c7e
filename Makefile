# Two commands do all set-up: `make serve` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test lint-code install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'

# Anonymous callers may ask coverage and validate (PAYERKG_ANONYMOUS_ROLE); editing needs a key.
serve: install
	PAYERKG_ANONYMOUS_ROLE=$${PAYERKG_ANONYMOUS_ROLE:-integrator} $(BIN)/payerkg serve --host $(HOST) --port $(PORT)

lint-code: install-dev
	$(BIN)/ruff check service tests benchmarks
	$(BIN)/mypy

test: lint-code
	$(BIN)/pytest

bench: install-dev
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
