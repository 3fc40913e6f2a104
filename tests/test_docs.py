"""The documentation builds clean and covers every public class and every example DAG.

Warnings are errors (``-W``): a broken internal reference, a missing include or a page left out
of the toctree fails here, in the test command, not on a reader's screen.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# Public = what docs/api.md documents: the modules a DAG (or a script, through the client)
# imports. Everything else is internal and must look it (a leading underscore), or be one of the
# hook's and client's named helpers below, which api.md leaves out on purpose.
API_MD = DOCS / "api.md"
INTERNAL_HELPERS = {
    "thredfi_provider.hooks.connection", "thredfi_provider.hooks.status", "thredfi_provider.hooks.task_state",
    "thredfi_provider.client.compare", "thredfi_provider.client.deadline", "thredfi_provider.client.fields",
    "thredfi_provider.client.lines", "thredfi_provider.client.models", "thredfi_provider.client.pagination",
    "thredfi_provider.client.parsing", "thredfi_provider.client.removed", "thredfi_provider.client.requestor",
    "thredfi_provider.client.session", "thredfi_provider.client.stats", "thredfi_provider.client.tokens",
    "thredfi_provider.client.transport", "thredfi_provider.client.urls",
}  # fmt: skip


def public_modules() -> set[str]:
    return set(re.findall(r"^\.\. automodule:: (\S+)$", API_MD.read_text(), re.M))


def public_classes() -> set[str]:
    found = set()
    for name in public_modules():
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == name and not attr.startswith("_"):
                found.add(f"{name}.{attr}")
    return found


def test_the_api_reference_lists_public_modules_only_and_every_module_is_public_or_visibly_internal():
    import thredfi_provider

    listed = public_modules()
    assert not [m for m in listed if any(part.startswith("_") for part in m.split("."))]
    assert not listed & INTERNAL_HELPERS
    layers = ("hooks", "operators", "sensors", "triggers", "client")
    unplaced = []
    for info in pkgutil.walk_packages(thredfi_provider.__path__, "thredfi_provider."):
        parts = info.name.split(".")
        if info.ispkg or parts[1] not in layers or any(p.startswith("_") for p in parts):
            continue
        if info.name not in listed and info.name not in INTERNAL_HELPERS:
            unplaced.append(info.name)
    assert unplaced == [], "document these in docs/api.md, or make them visibly internal"


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


# ---------------------------------------------------------------------- Airflow's docs conventions
# Snippets come from files the tests run, bracketed by ``# [START howto_…]`` / ``# [END howto_…]``
# and included by those markers (as apache/airflow's provider docs do), never by line numbers or
# by the text of a line; docstrings hold no examples of their own; each operator's docstring
# points at its how-to page.

FENCED_INCLUDE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{literalinclude\}[ \t]+(?P<path>\S+)[ \t]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)  # fmt: skip
RST_INCLUDE = re.compile(r"^(?P<indent>[ \t]*)\.\. literalinclude::[ \t]+(?P<path>\S+)[ \t]*\n(?P<body>(?:(?P=indent)[ \t]+:.*\n)*)", re.M)  # fmt: skip
OPTION = re.compile(r"^[ \t]*:(?P<name>[\w-]+):[ \t]*(?P<value>.*?)[ \t]*$", re.M)
MARKER = re.compile(r"^\[(?P<kind>START|END) (?P<name>howto_\w+)\]$")
# Options that select lines by number, by a line's text or by a Python object: they drift
# silently when the file changes around them.
FRAGILE_OPTIONS = {"lines", "start-at", "end-at", "pyobject"}
# Bases other operators build on, not operators a DAG uses; everything else needs a how-to page.
OPERATOR_BASES = {"ThredfiBaseOperator", "ThredfiSyncOperator", "PaymentSync"}
DOC_ROLE = re.compile(r":doc:`(?:[^`<]*<)?(?P<target>[^`>]+)>?`")


def literal_includes() -> list[tuple[Path, Path, dict[str, str]]]:
    """Every literalinclude in docs/, MyST or reStructuredText: (page, target file, options)."""
    found = []
    for page in sorted(DOCS.rglob("*")):
        if page.suffix not in (".md", ".rst") or "_build" in page.parts:
            continue
        text = page.read_text()
        for match in [*FENCED_INCLUDE.finditer(text), *RST_INCLUDE.finditer(text)]:
            options = {}
            for line in match["body"].splitlines():
                option = OPTION.match(line)
                if not option:
                    break  # the options end where the content starts
                options[option["name"]] = option["value"].strip("\"'")
            path = match["path"]
            target = DOCS / path.lstrip("/") if path.startswith("/") else page.parent / path
            found.append((page, target.resolve(), options))
    return found


def marker_problems(page: Path, target: Path, options: dict[str, str]) -> list[str]:
    where = f"{page.relative_to(ROOT)} -> {target.name}"
    problems = [
        f"{where}: :{name}: (include by [START]/[END] marker)" for name in FRAGILE_OPTIONS & set(options)
    ]
    start, end = MARKER.match(options.get("start-after", "")), MARKER.match(options.get("end-before", ""))
    if not (start and start["kind"] == "START" and end and end["kind"] == "END"):
        return [*problems, f"{where}: needs :start-after: [START howto_x] and :end-before: [END howto_x]"]
    if start["name"] != end["name"]:
        problems.append(f"{where}: [START {start['name']}] ends at [END {end['name']}]")
    if not target.is_file():
        return [*problems, f"{where}: no such file"]
    text = target.read_text()
    for marker in (options["start-after"], options["end-before"]):
        if (count := text.count(marker)) != 1:
            problems.append(f"{where}: {marker} occurs {count} times in the file, not once")
    if not problems and text.index(options["start-after"]) > text.index(options["end-before"]):
        problems.append(f"{where}: {options['end-before']} comes before {options['start-after']}")
    return problems


def test_python_snippets_are_included_by_marker():
    includes = [
        (page, target, options) for page, target, options in literal_includes() if target.suffix == ".py"
    ]
    assert len(includes) >= 10, "the literalinclude scan found too few includes"
    problems = [problem for include in includes for problem in marker_problems(*include)]
    assert problems == []


def docstrings_with_examples() -> list[str]:
    found = []
    for path in sorted((ROOT / "thredfi_provider").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            docstring = ast.get_docstring(node, clean=False) or ""
            if re.search(r"\bExamples?::", docstring):
                found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'name', '<module>')}")
    return found


def test_no_docstring_holds_an_untested_example():
    """Examples live in the example DAGs, which tests/test_dags.py runs, and reach the docs by marker."""
    assert docstrings_with_examples() == []


def operators_sensors_and_triggers() -> dict[str, type]:
    from thredfi_provider.compat import BaseOperator, BaseTrigger

    found = {}
    for package in ("operators", "sensors", "triggers"):
        root = importlib.import_module(f"thredfi_provider.{package}")
        for info in pkgutil.walk_packages(root.__path__, f"{root.__name__}."):
            module = importlib.import_module(info.name)
            for name, obj in vars(module).items():
                if not inspect.isclass(obj) or obj.__module__ != info.name or name.startswith("_"):
                    continue
                if issubclass(obj, BaseOperator | BaseTrigger) and name not in OPERATOR_BASES:
                    found[f"{info.name}.{name}"] = obj
    return found


def seealso_problems(name: str, cls: type) -> list[str]:
    docstring = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    # A seealso runs from its directive to the next blank line.
    blocks = re.findall(r"^\.\. seealso::(.*(?:\n[ \t]+\S.*)*)", docstring, re.M)
    targets = [m["target"] for block in blocks for m in DOC_ROLE.finditer(block)]
    if not targets:
        return [f"{name}: no '.. seealso:: :doc:`/…`' to its how-to page"]
    return [
        f"{name}: seealso names {target}, which is not a page under docs/"
        for target in targets
        if not any((DOCS / f"{target.strip('/')}{suffix}").is_file() for suffix in (".md", ".rst"))
    ]


def test_every_operator_sensor_and_trigger_points_at_its_how_to_page():
    classes = operators_sensors_and_triggers()
    assert {"ThredfiSyncInvoicesOperator", "ThredfiResourceSensor", "ThredfiResourceTrigger"} <= {
        name.rsplit(".", 1)[-1] for name in classes
    }, "the operator scan missed the classes it must find"
    problems = [problem for name, cls in sorted(classes.items()) for problem in seealso_problems(name, cls)]
    assert problems == []


def test_operator_signatures_in_the_api_reference_show_the_connection(built):
    page = (built / "api.html").read_text()
    start = page.index('id="thredfi_provider.operators.invoices.ThredfiSyncInvoicesOperator"')
    signature = page[start : page.index("</dt>", start)]
    assert "thredfi_conn_id" in signature
