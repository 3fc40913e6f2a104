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
    (r"py:.*", r"^thredfi_provider\.client\.models\.M$"),  # a TypeVar
]
