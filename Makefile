# Every target runs inside .venv, which `make setup` creates from pyproject.toml alone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPECS := $(filter-out %.config.yaml,$(wildcard openapi/*.yaml))

.DEFAULT_GOAL := help
.PHONY: help setup regenerate check-generated validate-specs lint format typecheck test test-all check \
	demo sandbox bench soak clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: $(STAMP)  ## create .venv and install the project with every extra and the dev tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	@touch $@

regenerate: $(STAMP)  ## compile openapi/*.yaml into generated/
	$(BIN)/python scripts/regenerate.py

check-generated: $(STAMP)  ## fail if generated/ differs from what openapi/ compiles to
	$(BIN)/python scripts/regenerate.py --check

validate-specs: $(STAMP)  ## validate the OpenAPI documents
	$(BIN)/openapi-spec-validator $(SPECS)

lint: $(STAMP)  ## ruff: lint and formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## ruff: fix what can be fixed and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)  ## mypy --strict over the facade and the generated clients
	$(BIN)/mypy facade/session_analytics generated/fullstory_api generated/smartlook_api

test: $(STAMP)  ## the test suite without the slow tests (soaks, real servers, signals, big inputs)
	$(BIN)/python -m pytest -m "not slow"

test-all: $(STAMP)  ## the whole test suite, slow tests included (what make check runs)
	$(BIN)/python -m pytest

check: validate-specs check-generated lint typecheck test-all  ## everything CI runs

demo: $(STAMP)  ## start a sandbox, run examples/quickstart.py against it end to end, stop it
	$(BIN)/python scripts/demo.py

sandbox: $(STAMP)  ## run the local emulator on http://127.0.0.1:8765 (ARGS="--api-key K ...")
	$(BIN)/session-analytics sandbox $(ARGS)

bench: $(STAMP)  ## run the benchmarks (about 20 minutes); numbers go to benchmarks/results/
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/batcher_compare.py --defaults
	$(BIN)/python benchmarks/wan.py
	$(BIN)/python benchmarks/sandbox_throughput.py
	$(BIN)/python benchmarks/import_memory.py
	$(BIN)/python benchmarks/import_wan.py
	$(BIN)/python benchmarks/import_time.py

soak: $(STAMP)  ## the fault-proof scenarios with 200,000 events per path (minutes)
	SESSION_ANALYTICS_SOAK_EVENTS=200000 $(BIN)/python -m pytest -k "fault" \
		tests/smartlook/test_smartlook.py tests/fullstory/test_track.py

clean:  ## remove the virtualenv and build leftovers
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
