"""The ``pytest11`` plugin loads into every pytest run of every user, so loading it imports nothing heavy.

Two ``pytest --collect-only`` runs of a test that asks for no fixture, one with the plugin and one
without, each writing ``sys.modules`` at the end of collection: what the plugin adds must be the
plugin itself and the standard library, never FastAPI, uvicorn, pydantic, requests, Airflow or the
sandbox's server. Entry-point autoloading is off in both runs, so other installed plugins (which may
import any of those) do not hide what ours imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

PLUGIN = "thredfi_provider.sandbox.pytest_plugin"
HEAVY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "pydantic_core",
    "requests",
    "httpx",
    "jwt",
    "airflow",
    "sqlalchemy",
    "thredfi_provider.sandbox.server",
    "thredfi_provider.sandbox.app",
    "thredfi_provider.sandbox.state",
    "thredfi_provider.sandbox.config",
    "thredfi_provider.client",
    "thredfi_provider.hooks",
)

CONFTEST = """
import json
import os
import sys


def pytest_collection_finish(session):
    with open(os.environ["MODULES_OUT"], "w") as out:
        json.dump(sorted(sys.modules), out)
"""


def _modules_after_collection(tmp_path: Path, name: str, *plugin_args: str) -> set[str]:
    project = tmp_path / name
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "conftest.py").write_text(CONFTEST)
    (project / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    out = tmp_path / f"{name}.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env |= {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "MODULES_OUT": str(out)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin_args, "--collect-only", "-q"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return set(json.loads(out.read_text()))


def _is_heavy(module: str) -> bool:
    return any(module == heavy or module.startswith(heavy + ".") for heavy in HEAVY)


def test_the_entry_point_is_the_plugin_module() -> None:
    (plugin,) = [ep for ep in entry_points(group="pytest11") if ep.name == "thredfi_sandbox"]
    assert plugin.value == PLUGIN


def test_loading_the_plugin_imports_nothing_heavy(tmp_path: Path) -> None:
    without = _modules_after_collection(tmp_path, "without")
    loaded = _modules_after_collection(tmp_path, "with", "-p", PLUGIN)
    assert PLUGIN in loaded
    assert PLUGIN not in without
    added = loaded - without
    assert sorted(m for m in added if _is_heavy(m)) == []
    own = {"thredfi_provider", "thredfi_provider.version", "thredfi_provider.sandbox", PLUGIN}
    third_party = sorted(
        m for m in added - own if m.split(".")[0] not in sys.stdlib_module_names and m != "__main__"
    )
    assert third_party == []
