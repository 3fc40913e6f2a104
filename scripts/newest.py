"""``make test-newest``: the suites against today's newest resolution, to see drift when asked.

``make test`` and CI install exactly what ``uv.lock`` holds, and each compat line what its
``constraints/airflow-X.Y.txt`` pins, so a release anywhere in Airflow's tree never turns main red
overnight. The price is that drift is invisible until someone looks; this is the look:

1. a venv under ``.newest/`` (gitignored) with ``-e .[dev]`` resolved afresh, no lock;
2. the packages whose version differs from ``uv.lock``, printed;
3. the fast suite (``pytest -m "not slow"``) in that venv;
4. ``scripts/compat.py --newest``: every Airflow line resolved afresh, its drift from its
   constraints file printed, its core suite run.

It is not part of ``.ci/run``. When it is green, ``make lock`` moves the pins; when it is red, the
output names the package that moved, which is the pin to add in ``scripts/constraints.py``.

    python scripts/newest.py                   # all of it
    python scripts/newest.py --no-suite        # resolve and print the drift only
    python scripts/newest.py --lines 2.11,3.3  # compat lines to run
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.utils import canonicalize_name

from constraints import installed, uv

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".newest"


def locked_versions() -> dict[str, set[str]]:
    """Every version uv.lock holds per package (a universal lock may fork one by Python version)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    found: dict[str, set[str]] = {}
    for package in lock["package"]:
        if "version" in package:
            found.setdefault(canonicalize_name(package["name"]), set()).add(str(package["version"]))
    return found


def drift(locked: dict[str, set[str]], now: dict[str, str]) -> list[str]:
    moved = []
    for name in sorted(set(locked) | set(now)):
        if name == "airflow-provider-thredfi" or now.get(name) in locked.get(name, set()):
            continue
        if name not in now:
            continue  # locked for another Python or platform, or an extra this venv does not install
        was = ", ".join(sorted(locked[name])) if name in locked else "(not locked)"
        moved.append(f"{name} {was} -> {now[name]}")
    return moved


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-suite", action="store_true", help="resolve and print the drift only")
    parser.add_argument("--lines", default=None, help="compat lines (default: all of them)")
    args = parser.parse_args()

    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(VENV)], check=True)
    python = VENV / "bin" / "python"
    print("== newest: resolving -e .[dev] without the lock", flush=True)
    subprocess.run(
        [uv(), "pip", "install", "-q", "--python", str(python), "--upgrade", "-e", f"{ROOT}[dev]"],
        check=True, cwd=ROOT,
    )  # fmt: skip
    moved = drift(locked_versions(), installed(python))
    print(f"== newest: {len(moved)} package(s) differ from uv.lock")
    for entry in moved:
        print(f"   {entry}")
    if args.no_suite:
        return 0

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV", "PYTHONPATH"))}
    print("== newest: the fast suite", flush=True)
    unit = subprocess.run([str(VENV / "bin" / "pytest"), "-q", "-m", "not slow"], cwd=ROOT, env=env)
    compat = [sys.executable, "scripts/compat.py", "--newest", "--no-bench"]
    if args.lines:
        compat += ["--lines", args.lines]
    print("== newest: every Airflow line, resolved afresh", flush=True)
    lines = subprocess.run(compat, cwd=ROOT)
    print(f"\nnewest: fast suite {'passed' if unit.returncode == 0 else 'FAILED'}, "
          f"compat {'passed' if lines.returncode == 0 else 'FAILED'}")  # fmt: skip
    return 1 if unit.returncode or lines.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
