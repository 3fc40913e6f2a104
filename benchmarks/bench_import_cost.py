"""Import cost: what importing each operator module adds on top of ``import airflow.sdk``.

On Airflow 2.11, which has no ``airflow.sdk``, the base is ``airflow.models.dag`` (what
``from airflow import DAG`` loads); ``make test-compat`` runs this in each line's venv.

A DAG file pays its imports on every parse, and the DAG processor parses every file every few
minutes, so the provider's modules must be cheap once ``airflow.sdk`` (which any DAG imports)
is loaded. Each module is timed in a fresh process that holds exactly ``airflow.sdk``: one
interpreter imports it (which takes seconds here), then forks one child per module, and the
child times its single import. Repeated in several interpreters; the median is reported.
Target: under 50 ms.

Measured with bytecode, as a DAG processor runs: an installed wheel, or any checkout after its
first import, has ``.pyc`` files. Without them (``PYTHONDONTWRITEBYTECODE=1``, which this
machine's shell sets) every import also compiles the module's source, a cost paid once per
install, not per parse. So the provider's modules are compiled first into a private
``PYTHONPYCACHEPREFIX``, which the probes then read; ``--no-bytecode`` measures without it.

    python benchmarks/bench_import_cost.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from harness import key_figures, table


def provider_modules() -> list[str]:
    """Every module the provider registers with Airflow: what DAG files and Airflow import."""
    from thredfi_provider.get_provider_info import get_provider_info

    info = get_provider_info()
    return [
        m
        for kind in ("operators", "sensors", "triggers", "hooks")
        for entry in info[kind]
        for m in entry["python-modules"]
    ]


MODULES = provider_modules()
TARGET_MS = 50.0

PROBE = """
import json, os, sys, time
t0 = time.perf_counter()
try:
    import airflow.sdk  # Airflow 3: what every DAG file imports
except ImportError:
    import airflow.models.dag  # Airflow 2.11: what `from airflow import DAG` loads
sdk_ms = (time.perf_counter() - t0) * 1000
results = {}
for module in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a fresh process holding exactly what airflow.sdk loaded
        os.close(read)
        start = time.perf_counter()
        __import__(module)
        took = (time.perf_counter() - start) * 1000
        heavy = [m for m in ("fastapi", "uvicorn", "requests", "thredfi_provider.sandbox.app",
                             "thredfi_provider.client.models") if m in sys.modules]
        os.write(write, json.dumps([took, heavy]).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        results[module] = json.loads(pipe.read())
    os.waitpid(pid, 0)
print(json.dumps({"sdk_ms": sdk_ms, "modules": results}))
"""


def bytecode_env() -> dict[str, str]:
    """An environment whose probes read the provider's (and, after the first, Airflow's) .pyc files."""
    import os
    import tempfile
    from pathlib import Path

    import thredfi_provider

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="thredfi-pycache-")
    package = str(Path(thredfi_provider.__file__).parent)
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], env=env, check=True)
    return env


def sample(env: dict[str, str] | None = None) -> dict:
    out = (
        subprocess.run(
            [sys.executable, "-c", PROBE, *MODULES], capture_output=True, text=True, check=True, env=env
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    result: dict = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    # On a machine other work keeps busy, the fastest interpreter is the cost; the rest is waiting.
    parser.add_argument("--best", action="store_true", help="report the fastest, not the median")
    parser.add_argument("--no-bytecode", action="store_true", help="compile every import from source")
    args = parser.parse_args()
    env = None if args.no_bytecode else bytecode_env()
    samples = [sample(env) for _ in range(args.repeat)]
    sdk_times = [s["sdk_ms"] for s in samples]
    rows = []
    worst = 0.0
    for module in MODULES:
        extra = (min if args.best else statistics.median)(s["modules"][module][0] for s in samples)
        worst = max(worst, extra)
        pulled = ",".join(samples[0]["modules"][module][1]) or "-"
        rows.append([module, extra, "yes" if extra < TARGET_MS else "NO", pulled])
    table(
        f"Import cost on top of airflow.sdk ({'fastest' if args.best else 'median'} of {args.repeat} interpreters, a forked child per module, ms"
        + (", compiling from source)" if args.no_bytecode else ", from bytecode)"),
        ["module", "extra ms", f"< {TARGET_MS:.0f} ms", "heavy modules loaded after it"],
        rows,
    )
    print(f"\n  import airflow.sdk alone: median {statistics.median(sdk_times):.0f} ms")
    key_figures(
        "import_cost", worst_module_ms=worst, airflow_sdk_ms=statistics.median(sdk_times), target_ms=TARGET_MS
    )


if __name__ == "__main__":
    main()
