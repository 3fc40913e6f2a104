# Two commands on a fresh machine with only python3:  `make demo`  and  `make test`.
# Each creates .venv itself (pip bootstraps uv, uv installs the project and its extras).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck unit test-slow demo demo-ui bench docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -m "not slow" $(PYTEST_ARGS)

# Heavier variants: airflow standalone, large fault runs (documented in docs/testing).
test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow $(PYTEST_ARGS)

test: lint typecheck unit

docs: $(STAMP)
	$(BIN)/python -m sphinx -W --keep-going -n -b html docs docs/_build/html
	@echo "open docs/_build/html/index.html"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache docs/_build .demo

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# Every benchmark, side by side ratios measured in one run; key figures collected at the end.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The same setup, opened in `airflow standalone` (UI on http://localhost:8080).
demo-ui: $(STAMP)
	$(BIN)/python scripts/demo.py --standalone
