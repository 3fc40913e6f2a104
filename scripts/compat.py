"""Run the compat core suite on every supported Airflow line and print a version x check table.

Each line gets a venv of its own under ``.compat/`` (gitignored), built with uv from the latest
patch release of that line (``apache-airflow~=X.Y.0``) and the provider installed editable with
its own declared dependencies, so a dependency floor that excludes a line fails that line's
install, and the table says so. Every install is pinned by the line's committed
``constraints/airflow-X.Y.txt`` (``scripts/constraints.py`` writes them; a line without one does
not run), so a release anywhere in Airflow's tree cannot turn the matrix red overnight.
``--newest`` (``make test-newest``) resolves afresh instead and prints what moved. A venv whose
inputs (the command, ``pyproject.toml``, the constraints file) are unchanged is reused. In each venv: the tests marked ``compat`` (``tests/test_compat.py`` and
the provider-info checks), then the import-cost benchmark against the 50 ms target.

    python scripts/compat.py                  # every line (make test-compat)
    python scripts/compat.py --lines 2.11,3.3 # the oldest and newest (.ci/run)

Lines run one after another: the machine has two cores and each suite runs Airflow itself.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET  # noqa: S405 (our own pytest's junit file)
from dataclasses import dataclass, field
from pathlib import Path

from constraints import (
    LINES,
    build_constraints,
    constraints_file,
    installed,
    line_requirements,
    pinned_versions,
    uv,
)

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".compat"
TEST_FILES = ["tests/test_compat.py", "tests/test_provider_info.py"]
IMPORT_TARGET_MS = 50.0
LABELS = {
    "test_hook_and_test_connection": "hook + test_connection",
    "test_ledger_export_through_dag_test": "dag.test: export_ledger",
    "test_sensor_deferrable_through_dag_test": "sensor, deferrable",
    "test_connection_form_on_every_line": "connection form",
    "test_gated_features_degrade_cleanly": "gated features",
    "test_example_dags_parse": "example DAGs parse",
    "test_provider_info_matches_airflow_schema": "provider-info schema",
    "test_airflow_providers_list_shows_the_package": "airflow providers list",
}


@dataclass
class Column:
    line: str
    version: str = "-"
    cells: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    failed: bool = False
    notes: list[str] = field(default_factory=list)


def install_command(line: str, python: Path, *, newest: bool = False) -> list[str]:
    """uv's install of one line: pinned by the line's committed constraints file.

    ``newest`` (``make test-newest``) drops the constraints on purpose, to see drift; nothing else
    runs a line without them (``constraints_file`` raises when it is missing).
    """
    pinned = (
        [] if newest else ["-c", str(constraints_file(line)), "--build-constraints", str(build_constraints())]
    )
    return [uv(), "pip", "install", "-q", "--python", str(python), "-e", f"{ROOT}[sandbox]",
            *line_requirements(line), *pinned]  # fmt: skip


def install(line: str, reinstall: bool, *, newest: bool = False) -> tuple[Path, str | None]:
    """The line's venv, built or reused; returns (python, error or None)."""
    venv = VENVS / (f"airflow-{line}-newest" if newest else f"airflow-{line}")
    python = venv / "bin" / "python"
    command = install_command(line, python, newest=newest)
    stamp = venv / ".thredfi-compat.json"
    inputs = {
        "command": command[1:],
        "pyproject": hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest(),
        "constraints": "" if newest else hashlib.sha256(constraints_file(line).read_bytes()).hexdigest(),
    }
    fresh = reinstall or newest  # the newest resolution is the one of today, never a reused venv
    if not fresh and stamp.exists() and json.loads(stamp.read_text()) == inputs and python.exists():
        return python, None
    shutil.rmtree(venv, ignore_errors=True)  # a fresh venv, as CI's fresh clone gets
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        return python, (out.stderr or out.stdout).strip()
    stamp.write_text(json.dumps(inputs))
    return python, None


def drift(python: Path, line: str) -> list[str]:
    """What a fresh resolution installed that the line's constraints file pins otherwise."""
    now = installed(python)
    locked = pinned_versions(constraints_file(line).read_text().splitlines())
    return sorted(
        f"{name} {locked.get(name, '(absent)')} -> {now.get(name, '(absent)')}"
        for name in set(now) | set(locked)
        if now.get(name) != locked.get(name) and name != "airflow-provider-thredfi"
    )


def run_suite(python: Path, column: Column) -> None:
    report = VENVS / f"junit-{column.line}.xml"
    report.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV", "PYTHONPATH"))}
    out = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-m", "compat", "-p", "no:cacheprovider", f"--junitxml={report}",
         *TEST_FILES],
        capture_output=True, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    log = VENVS / f"pytest-{column.line}.log"
    log.write_text(out.stdout + out.stderr)
    if not report.exists():
        column.failed = True
        column.notes.append(f"pytest did not run: see {log.relative_to(ROOT)}")
        return
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314 (written by our own pytest)
        name = case.get("name", "?")
        base, _, param = name.partition("[")
        label = f"dag.test: {param.rstrip(']')}" if param else LABELS.get(base, base)
        if case.find("failure") is not None or case.find("error") is not None:
            column.cells[label] = "FAIL"
            column.failed = True
        elif case.find("skipped") is not None:
            column.cells[label] = "skip"
        else:
            column.cells.setdefault(label, "ok")
    if out.returncode != 0 and not column.failed:
        column.failed = True
        column.notes.append(f"pytest exited {out.returncode}: see {log.relative_to(ROOT)}")
    elif column.failed:
        column.notes.append(f"failures: see {log.relative_to(ROOT)}")


def import_cost(python: Path, column: Column) -> None:
    """The worst operator module's import time on top of Airflow, by bench_import_cost.py.

    The fastest of five interpreters per module: on a shared machine the median measures the
    neighbours as much as the import.
    """
    out = subprocess.run(
        [str(python), "benchmarks/bench_import_cost.py", "--repeat", "5", "--best"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    match = re.search(r"worst_module_ms=([\d.,]+)", out.stdout)
    if out.returncode != 0 or match is None:
        column.cells["import cost < 50 ms"] = "FAIL"
        column.failed = True
        column.notes.append(
            "import-cost benchmark: " + (out.stderr.strip().splitlines() or ["no output"])[-1]
        )
        return
    worst = float(match.group(1).replace(",", ""))
    column.cells["import cost < 50 ms"] = f"{worst:.0f} ms" + ("" if worst < IMPORT_TARGET_MS else " FAIL")
    column.failed |= worst >= IMPORT_TARGET_MS


def installed_version(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "from importlib.metadata import version; print(version('apache-airflow'))"],
        capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip() or "?"


def print_table(columns: list[Column]) -> None:
    checks: list[str] = ["install"]
    for column in columns:
        checks += [c for c in column.cells if c not in checks]
    header = ["check", *(f"{c.line} ({c.version})" for c in columns)]
    rows = [[check, *(c.cells.get(check, "-") for c in columns)] for check in checks]
    rows.append(["time (s)", *(f"{c.seconds:.0f}" for c in columns)])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print()
    for i, row in enumerate([header, *rows]):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", default=",".join(LINES), help="comma-separated Airflow lines")
    parser.add_argument("--reinstall", action="store_true", help="rebuild venvs even if unchanged")
    parser.add_argument("--no-bench", action="store_true", help="skip the import-cost benchmark")
    parser.add_argument("--no-suite", action="store_true", help="only the import-cost benchmark")
    parser.add_argument(
        "--newest", action="store_true",
        help="a fresh resolution without the constraints files (make test-newest); prints the drift",
    )  # fmt: skip
    args = parser.parse_args()
    lines = [line.strip() for line in args.lines.split(",") if line.strip()]
    VENVS.mkdir(exist_ok=True)
    started = time.monotonic()
    columns: list[Column] = []
    for line in lines:
        column = Column(line)
        columns.append(column)
        t0 = time.monotonic()
        print(f"== Airflow {line}: venv", flush=True)
        python, error = install(line, args.reinstall, newest=args.newest)
        if error is not None:
            column.cells["install"] = "FAIL"
            column.failed = True
            column.notes.append("install: " + " ".join(error.splitlines()[-3:])[:600])
        else:
            column.version = installed_version(python)
            column.cells["install"] = "ok"
            if args.newest:
                moved = drift(python, line)
                print(f"== Airflow {line}: {len(moved)} package(s) differ from {constraints_file(line).name}")
                for entry in moved:
                    print(f"   {entry}")
            if not args.no_suite:
                print(f"== Airflow {column.version}: core suite", flush=True)
                run_suite(python, column)
            if not args.no_bench:
                print(f"== Airflow {column.version}: import cost", flush=True)
                import_cost(python, column)
        column.seconds = time.monotonic() - t0
    print_table(columns)
    for column in columns:
        for note in column.notes:
            print(f"  {column.line}: {note}")
    total = time.monotonic() - started
    verdict = "FAILED" if any(c.failed for c in columns) else "passed"
    print(f"\ncompat {verdict}: {len(columns)} Airflow line(s) in {total:.0f} s")
    cells = [cell for c in columns for cell in c.cells.values()]
    failed = sum("FAIL" in cell for cell in cells)
    print(f"compat: {len(cells) - failed} passed, {failed} failed")
    return 1 if verdict == "FAILED" else 0


if __name__ == "__main__":
    sys.exit(main())
