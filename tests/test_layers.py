"""Imports point down only: the ``[tool.importlinter]`` contracts in pyproject.toml hold, and can fail.

The layers, highest first: ``sensors | operators``, ``triggers``, ``hooks``, ``client``; inside the
operators, the operators above their base classes above the internal ``_sync`` machinery; inside
the client, the client object above the requestor above the transport. No cycles anywhere; an
internal (``_name``) module is imported only inside its own package. The client imports no
Airflow (nor ``thredfi_provider.compat``), and nothing but tests and demos imports the sandbox.
Imports inside functions and under ``TYPE_CHECKING`` count too. Each contract is shown to fail
on a copy of the real package with one import added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {c["name"]: c for c in CONFIG["contracts"]}


LAYERS = next(n for n, c in CONTRACTS.items() if c.get("containers") == ["thredfi_provider"])
AIRFLOW_FREE = next(n for n, c in CONTRACTS.items() if "airflow" in c.get("forbidden_modules", []))
NO_SANDBOX = next(
    n for n, c in CONTRACTS.items() if "thredfi_provider.sandbox" in c.get("forbidden_modules", [])
)
ACYCLIC = next(n for n, c in CONTRACTS.items() if c["type"] == "acyclic_siblings")
PRIVATE = next(n for n, c in CONTRACTS.items() if c["type"] == "private_modules")
OPERATORS = next(n for n, c in CONTRACTS.items() if c.get("containers") == ["thredfi_provider.operators"])
SYNC = next(n for n, c in CONTRACTS.items() if c.get("containers") == ["thredfi_provider.operators._sync"])
CLIENT = next(n for n, c in CONTRACTS.items() if c.get("containers") == ["thredfi_provider.client"])


def lint_imports(cwd: Path) -> tuple[int, dict[str, str], str]:
    """Run lint-imports in ``cwd``; return its exit code, each contract's KEPT/BROKEN and the output."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "250"}  # one line per verdict
    run = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    output = run.stdout + run.stderr
    verdicts = {}
    for line in output.splitlines():
        for name in CONTRACTS:
            if line.startswith(name + " "):
                verdicts[name] = line.removeprefix(name + " ").strip()
    return run.returncode, verdicts, output


def test_the_package_keeps_every_contract() -> None:
    code, verdicts, output = lint_imports(ROOT)
    assert code == 0, output
    assert verdicts == dict.fromkeys(CONTRACTS, "KEPT"), output
    assert {LAYERS, AIRFLOW_FREE, NO_SANDBOX, ACYCLIC, PRIVATE, OPERATORS, SYNC, CLIENT} == set(CONTRACTS)


def test_every_layer_contract_inside_a_package_names_every_module_so_a_new_one_must_be_placed() -> None:
    for name in (OPERATORS, SYNC, CLIENT):
        assert CONTRACTS[name].get("exhaustive") is True, name


def _copy_of_the_package(root: Path, extra: dict[str, str]) -> Path:
    """The real package, copied, with ``extra`` lines appended to (or written as) some modules."""
    shutil.copytree(ROOT / "thredfi_provider", root / "thredfi_provider",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    for relative, line in extra.items():
        path = root / "thredfi_provider" / relative
        path.write_text((path.read_text() if path.exists() else "") + line)
    return root


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # Upward, and lazy: the client now reaches Airflow too, through the hooks' compat import;
        # hooks and client import each other; and the models reach the client object above them.
        pytest.param(
            "client/models.py",
            "\n\ndef f():\n    from thredfi_provider.hooks import thredfi\n",
            {LAYERS, AIRFLOW_FREE, ACYCLIC, CLIENT},
            id="client-imports-hooks-lazily",
        ),
        pytest.param(
            "operators/generic.py",
            "from thredfi_provider.sensors import resource\n",
            {LAYERS},
            id="operators-import-sensors",
        ),
        pytest.param("client/models.py", "import airflow.sdk\n", {AIRFLOW_FREE}, id="client-imports-airflow"),
        pytest.param(
            "operators/generic.py",
            "import thredfi_provider.sandbox.config\n",
            {NO_SANDBOX},
            id="operators-import-the-sandbox",
        ),
        # The sandbox's pytest plugin builds a hook: a hook importing the sandbox is a cycle too.
        pytest.param(
            "hooks/status.py",
            "import thredfi_provider.sandbox\n",
            {NO_SANDBOX, ACYCLIC},
            id="hooks-import-the-sandbox",
        ),
        # Inside the operators: a record's outcome reaching up to the run is a cycle, type-only too.
        pytest.param(
            "operators/_sync/record_outcome.py",
            "\nif TYPE_CHECKING:\n    from thredfi_provider.operators._sync.run import SyncRun\n",
            {ACYCLIC, SYNC},
            id="outcome-imports-the-run",
        ),
        pytest.param(
            "operators/base_operator.py",
            "from thredfi_provider.operators import invoices\n",
            {ACYCLIC, OPERATORS},
            id="base-class-imports-an-operator",
        ),
        pytest.param(
            "assets.py",
            "from thredfi_provider.operators._lineage import lineage\n",
            {PRIVATE},
            id="outside-code-imports-an-internal",
        ),
        pytest.param(
            "client/errors.py",
            "from thredfi_provider.client import resources\n",
            {ACYCLIC, CLIENT},
            id="errors-import-the-registry",
        ),
        pytest.param("operators/_sync/unplaced.py", "X = 1\n", {SYNC}, id="a-module-in-no-layer"),
    ],
)
def test_an_injected_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, broken: set[str]
) -> None:
    code, verdicts, output = lint_imports(_copy_of_the_package(tmp_path, {module: line}))
    assert code != 0, output
    assert verdicts == {name: "BROKEN" if name in broken else "KEPT" for name in CONTRACTS}, output
