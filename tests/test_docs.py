"""The documentation builds clean and covers every public class and every example DAG.

Warnings are errors (``-W``): a broken internal reference, a missing include or a page left out
of the toctree fails here, in the test command, not on a reader's screen.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# Public = defined in a module users import; the sandbox's internals (routes, store, ASGI
# plumbing) are not, except the pieces its docs tell users to touch.
PUBLIC_PACKAGES = ("hooks", "operators", "sensors", "triggers", "client")
SANDBOX_PUBLIC = {"thredfi_provider.sandbox.server", "thredfi_provider.sandbox.config"}


def public_classes() -> set[str]:
    import thredfi_provider

    found = set()
    for info in pkgutil.walk_packages(thredfi_provider.__path__, "thredfi_provider."):
        name = info.name
        in_scope = name.split(".")[1] in PUBLIC_PACKAGES or name in SANDBOX_PUBLIC
        if not in_scope or info.ispkg or name.rsplit(".", 1)[-1].startswith("_"):
            continue
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == name and not attr.startswith("_"):
                found.add(f"{name}.{attr}")
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html", str(DOCS), str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    return out


def test_docs_build_without_warnings(built):
    assert (built / "index.html").exists()


def test_every_public_class_is_in_the_api_reference(built):
    from sphinx.util.inventory import InventoryFile

    with (built / "objects.inv").open("rb") as f:
        inventory = InventoryFile.load(f, "", lambda base, uri: uri)
    documented = set(inventory.get("py:class", {})) | set(inventory.get("py:exception", {}))
    missing = public_classes() - documented
    assert public_classes(), "the public class scan found nothing"
    assert missing == set()


def test_every_example_dag_is_shown_from_its_real_file():
    pages = "\n".join(p.read_text() for p in DOCS.rglob("*.md"))
    for dag_file in sorted((ROOT / "dags").glob("*.py")):
        assert f"dags/{dag_file.name}" in pages, f"{dag_file.name} is not included in the docs"
    assert "literalinclude" in pages
