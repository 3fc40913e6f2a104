"""What every step of a run shares: the deployment, its processes, its Airflow and its events."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .airflow_client import Airflow
    from .services import Deployment
    from .supervisor import Supervisor

T0 = time.monotonic()


def elapsed() -> float:
    """Seconds since the run started (since this module was first imported)."""
    return time.monotonic() - T0


def say(message: str) -> None:
    print(f"[{elapsed():7.1f}s] {message}", flush=True)


@dataclass
class Run:
    """The deployment's description, the supervisor running it, its Airflow, and what happened."""

    dep: Deployment
    sup: Supervisor
    airflow: Airflow
    events: list[dict[str, Any]] = field(default_factory=list)
    sandbox_requests: int = 0  # summed over sandbox restarts (its counters restart at zero)

    @property
    def args(self) -> argparse.Namespace:
        return self.dep.args

    def event(self, kind: str, **details: Any) -> dict[str, Any]:
        entry = {"t": round(elapsed(), 1), "event": kind, **details}
        self.events.append(entry)
        return entry

    def sandbox_stats(self) -> dict[str, Any]:
        from .services import http_json

        stats: dict[str, Any] = http_json(f"{self.dep.sandbox_url}/_sandbox/stats", timeout=30)
        return stats
