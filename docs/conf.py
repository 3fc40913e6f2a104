"""Sphinx configuration: MyST Markdown pages, API reference from docstrings, warnings are errors.

Built by ``make docs`` and by ``tests/test_docs.py`` (``sphinx-build -W``), so a broken
reference or a page left out of the toctree fails the test command.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "dags"))
# autodoc imports Airflow; keep it from creating ~/airflow on a reader's machine.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="thredfi-docs-airflow-"))

# Import the sandbox (FastAPI) before autodoc does: autodoc re-imports modules, and FastAPI's
# pydantic models do not survive being built a second time in one process.
import thredfi_provider.sandbox.server  # noqa: F401
from thredfi_provider.version import __version__

project = "airflow-provider-thredfi"
author = "airflow-provider-thredfi developers"
release = version = __version__
copyright = "2026, airflow-provider-thredfi developers"

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "signature"

html_theme = "furo"
html_title = f"Thredfi provider {release}"
html_static_path: list[str] = []

# Nitpicky mode makes a broken reference to *our* objects an error; types from other libraries
# (requests, pydantic, Airflow's Context ...) have no inventory here and are not ours to resolve.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"^(?!thredfi_provider\.).*"),
    (r"py:.*", r"^thredfi_provider\..*\._\w+$"),  # private bases shown by show-inheritance
    # Internal modules (docs/api.md documents the public ones only): a public docstring or
    # signature may name them, unlinked; architecture.md explains them.
    (
        r"py:.*",
        r"^thredfi_provider\.(operators\._\w+|client\.(removed|requestor|transport|pagination)"
        r"|hooks\.(status|task_state|connection))(\..*)?$",
    ),
    # TypeVars shown in Generic[...] bases and signatures
    (r"py:.*", r"^thredfi_provider\.client\.(models|resources|parsing)\.M$"),
    (r"py:.*", r"^thredfi_provider\.operators\.sync_operator\.M$"),
    (r"py:.*", r"^thredfi_provider\.operators\.payments\.P$"),
    (r"py:.*", r"^thredfi_provider\.operators\.sources\.T$"),
]


# A type name in a signature is looked up by its bare name, and two modules may define one name:
# resolve it as Python does, through the imports of the module the signature belongs to
# (TYPE_CHECKING imports included), before Sphinx guesses.
def _imported_names(modname: str) -> dict[str, str]:
    import ast
    import importlib.util

    spec = importlib.util.find_spec(modname)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return {}
    tree = ast.parse(Path(spec.origin).read_text())
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.setdefault(node.name, f"{modname}.{node.name}")
    return names


def _show_the_connection_argument(app, what, name, obj, options, signature, return_annotation):
    """Every operator takes ``thredfi_conn_id`` (from ``ThredfiBaseOperator``), but a subclass's
    signature shows only its own arguments and ``**kwargs``: name it where a reader looks first."""
    from thredfi_provider.operators.base_operator import ThredfiBaseOperator

    if what != "class" or not isinstance(obj, type) or not issubclass(obj, ThredfiBaseOperator):
        return None
    if not signature or "thredfi_conn_id" in signature or "**kwargs" not in signature:
        return None
    shown = signature.replace("**kwargs", "thredfi_conn_id: str = 'thredfi_default', **kwargs")
    return shown, return_annotation


def setup(app):
    from functools import cache

    from sphinx import addnodes
    from sphinx.transforms.post_transforms import SphinxPostTransform

    imported = cache(_imported_names)

    class QualifyAmbiguousTypeNames(SphinxPostTransform):
        default_priority = 5  # before ReferencesResolver (10)

        def run(self, **kwargs):
            objects = self.env.get_domain("py").objects
            for node in self.document.findall(addnodes.pending_xref):
                target, modname = node.get("reftarget", ""), node.get("py:module")
                if node.get("refdomain") != "py" or "." in target or not modname:
                    continue
                if not modname.startswith("thredfi_provider.") or f"{modname}.{target}" in objects:
                    continue
                if sum(name.endswith(f".{target}") for name in objects) < 2:
                    continue
                qualified = imported(modname).get(target)
                if qualified in objects:
                    node["reftarget"] = qualified

    app.add_post_transform(QualifyAmbiguousTypeNames)
    app.connect("autodoc-process-signature", _show_the_connection_argument)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
