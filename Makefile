# Two commands on a fresh machine with only python3:  `make demo`  and  `make test`.
# Each creates .venv itself: pip bootstraps the pinned uv, and uv installs exactly what uv.lock
# holds (`--locked` fails when the lock and pyproject.toml disagree). Nothing floats: moving to
# newer dependencies is `make lock`, on purpose, and the diff of uv.lock shows what moved.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The one unlocked input: the installer itself, pinned here (its lock format follows its version).
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install test lint typecheck package unit test-system test-slow test-compat test-newest lock demo demo-ui bench docs clean

$(STAMP): pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv sync --quiet --locked --python $(BIN)/python --extra dev
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -m "not slow and not system" $(PYTEST_ARGS)

# The example DAGs end to end against THREDFI_SYSTEM_HOST/_PARTNER/_KEY, or against the strict
# sandbox this starts when they are unset (what CI runs). docs/testing.md: what a run leaves behind.
test-system: $(STAMP)
	$(BIN)/python scripts/system.py $(PYTEST_ARGS)

# Heavier variants: airflow standalone, large fault runs (documented in docs/testing).
test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow $(PYTEST_ARGS)

# The sdist and the wheel, built into a temporary directory (removed after) and checked as PyPI
# would render them. Without isolation: hatchling comes from the dev extra, so no download per run.
# tests/test_packaging.py checks what the wheel holds.
package: $(STAMP)
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	$(BIN)/python -m build --no-isolation --quiet --outdir "$$out" . && \
	$(BIN)/twine check --strict "$$out"/*

test: lint typecheck package unit

# Re-resolve on purpose: the newest of everything into uv.lock, and each Airflow line's
# constraints file under constraints/ (scripts/constraints.py). Review the diff, run the suites.
lock: $(STAMP)
	$(BIN)/uv lock --upgrade
	$(BIN)/python scripts/constraints.py

# The same suites against a fresh unpinned resolution (.newest/, gitignored): prints which
# packages differ from the lock and from each line's constraints, then runs them. Not in CI.
test-newest: $(STAMP)
	$(BIN)/python scripts/newest.py $(NEWEST_ARGS)

# The core suite on every supported Airflow line (2.11, 3.0 to 3.3), one uv-built venv each under
# .compat/ (reused while unchanged), installed from that line's constraints/airflow-X.Y.txt;
# prints a version x check table. COMPAT_LINES picks lines.
COMPAT_LINES ?= 2.11,3.0,3.1,3.2,3.3
test-compat: $(STAMP)
	$(BIN)/python scripts/compat.py --lines $(COMPAT_LINES) $(COMPAT_ARGS)

docs: $(STAMP)
	$(BIN)/python -m sphinx -W --keep-going -n -b html docs docs/_build/html
	@echo "open docs/_build/html/index.html"

clean:
	rm -rf $(VENV) .newest .mypy_cache .ruff_cache .pytest_cache .import_linter_cache docs/_build .demo .compat

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# Every benchmark, side by side ratios measured in one run; key figures collected at the end.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The same setup, opened in `airflow standalone` (UI on http://localhost:8080).
demo-ui: $(STAMP)
	$(BIN)/python scripts/demo.py --standalone

# A real distributed Airflow (CeleryExecutor on PostgreSQL and Redis, two Celery workers) syncing
# 200 businesses x 100 invoices through a worker kill and a sandbox outage, then an exact check
# (docs/scale.md). DISTRIBUTED_ARGS passes flags, e.g. DISTRIBUTED_ARGS="--small --keep".
# The services are scripts/deployment/services.py's table; compose.yaml there is the same for Docker.
.PHONY: demo-distributed test-distributed
demo-distributed: $(STAMP)
	$(BIN)/python scripts/distributed.py $(DISTRIBUTED_ARGS)

# The same deployment at --small scale, as a test (minutes; excluded from `make test`).
test-distributed: $(STAMP)
	$(BIN)/pytest -q -m distributed $(PYTEST_ARGS)
