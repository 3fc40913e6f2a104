"""Imports point down only: the ``[tool.importlinter]`` contracts in pyproject.toml hold, and can fail.

The layers, highest first: ``sensors | operators``, ``triggers``, ``hooks``, ``client``. The client
imports no Airflow (nor ``thredfi_provider.compat``), and nothing but tests and demos imports the
sandbox. Imports inside functions and under ``TYPE_CHECKING`` count too.
"""

from __future__ import annotations

import json
import os
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


LAYERS = next(n for n, c in CONTRACTS.items() if c["type"] == "layers")
AIRFLOW_FREE = next(n for n, c in CONTRACTS.items() if "airflow" in c.get("forbidden_modules", []))
NO_SANDBOX = next(
    n for n, c in CONTRACTS.items() if "thredfi_provider.sandbox" in c.get("forbidden_modules", [])
)


def lint_imports(cwd: Path) -> tuple[int, dict[str, str], str]:
    """Run lint-imports in ``cwd``; return its exit code, each contract's KEPT/BROKEN and the output."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
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
    assert len(CONTRACTS) == 3
    code, verdicts, output = lint_imports(ROOT)
    assert code == 0, output
    assert verdicts == dict.fromkeys(CONTRACTS, "KEPT"), output


# A stand-in for the package: the same subpackage names, importing each other the allowed way.
FAKE_PACKAGE = {
    "__init__.py": "",
    "compat.py": "import airflow.models\n",
    "client/__init__.py": "",
    "client/models.py": "import json\n",
    "hooks/__init__.py": "from thredfi_provider import compat\nfrom thredfi_provider.client import models\n",
    "triggers/__init__.py": "from thredfi_provider import compat, hooks\n",
    "sensors/__init__.py": "from thredfi_provider import compat, hooks\n\n\ndef defer():\n"
    "    from thredfi_provider import triggers\n",
    "operators/__init__.py": "from thredfi_provider import compat, hooks\n",
    "sandbox/__init__.py": "from thredfi_provider.client import models\n",
}


def _write_fake(root: Path, extra: dict[str, str]) -> Path:
    package = root / "thredfi_provider"
    for relative, text in FAKE_PACKAGE.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + extra.get(relative, ""))
    (root / "pyproject.toml").write_text(_as_toml(CONFIG))
    return root


def _as_toml(config: dict[str, Any]) -> str:
    """The ``[tool.importlinter]`` table as read from pyproject.toml, written back (strings, bools, lists)."""

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, list):
            return "[" + ", ".join(value(i) for i in item) + "]"
        return json.dumps(item)

    lines = ["[tool.importlinter]"]
    lines += [f"{key} = {value(item)}" for key, item in config.items() if key != "contracts"]
    for contract in config["contracts"]:
        lines += ["", "[[tool.importlinter.contracts]]"]
        lines += [f"{key} = {value(item)}" for key, item in contract.items()]
    return "\n".join(lines) + "\n"


def test_the_stand_in_package_keeps_every_contract(tmp_path: Path) -> None:
    """The control for the next test: without an injected import, the copy is clean."""
    code, verdicts, output = lint_imports(_write_fake(tmp_path, {}))
    assert code == 0, output
    assert verdicts == dict.fromkeys(CONTRACTS, "KEPT"), output


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # Upward, and lazy: the client now reaches Airflow too, through the hooks' compat import.
        pytest.param(
            "client/models.py",
            "\n\ndef f():\n    from thredfi_provider import hooks\n",
            {LAYERS, AIRFLOW_FREE},
            id="client-imports-hooks-lazily",
        ),
        pytest.param(
            "operators/__init__.py",
            "from thredfi_provider import sensors\n",
            {LAYERS},
            id="operators-import-sensors",
        ),
        pytest.param("client/models.py", "import airflow.sdk\n", {AIRFLOW_FREE}, id="client-imports-airflow"),
        pytest.param(
            "hooks/__init__.py", "import thredfi_provider.sandbox\n", {NO_SANDBOX}, id="hooks-import-sandbox"
        ),
    ],
)
def test_an_injected_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, broken: set[str]
) -> None:
    code, verdicts, output = lint_imports(_write_fake(tmp_path, {module: line}))
    assert code != 0, output
    assert verdicts == {name: "BROKEN" if name in broken else "KEPT" for name in CONTRACTS}, output
