"""What the host lacks for the deployment: ``redis-server`` and ``postgresql`` (apt, only when
absent, never reinstalled) and the venv's ``distributed`` extra (Celery provider, psycopg2, asyncpg)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from .context import say
from .services import BIN, ROOT
from .supervisor import run

POSTGRESQL = Path("/usr/lib/postgresql")


def ensure_installed() -> dict[str, Any]:
    """apt packages only when absent (never reinstalled); the venv's ``distributed`` extra."""
    done: dict[str, Any] = {"apt": [], "pip": False}
    missing = []
    if not shutil.which("redis-server"):
        missing.append("redis-server")
    if not list(POSTGRESQL.glob("*/bin/initdb")):
        missing.append("postgresql")
    if missing:
        if os.geteuid() != 0:
            raise SystemExit(f"missing {missing}: run `sudo apt-get install -y {' '.join(missing)}` first")
        say(f"installing {', '.join(missing)} with apt-get ...")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        first = run(["apt-get", "install", "-y", "--no-install-recommends", *missing], timeout=900, env=env,
                    check=False)  # fmt: skip
        if first.returncode != 0:  # a fresh machine may not have package lists yet
            run(["apt-get", "update"], timeout=600, env=env)
            run(["apt-get", "install", "-y", "--no-install-recommends", *missing], timeout=900, env=env)
        done["apt"] = missing
        # Debian starts the packaged services; this run uses its own instances on free ports.
    if not all(_installed(*names) for names in (("apache-airflow-providers-celery",),
                                                 ("psycopg2-binary", "psycopg2"), ("asyncpg",))):  # fmt: skip
        say("installing the `distributed` extra (Celery provider, psycopg2, asyncpg) into the venv ...")
        run([str(BIN / "uv"), "pip", "install", "--quiet", "--python", sys.executable, "-e", f"{ROOT}[distributed]"],
            timeout=900)  # fmt: skip
        done["pip"] = True
    return done


def _installed(*distributions: str) -> bool:
    for name in distributions:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            importlib.metadata.version(name)
            return True
    return False


def pg_bin() -> Path:
    """The newest installed PostgreSQL's binaries (``initdb``, ``pg_ctl``, ``psql``)."""
    found = sorted(POSTGRESQL.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise SystemExit("PostgreSQL binaries not found under /usr/lib/postgresql")
    return found[-1].parent
