"""A trigger that measures the triggerer's event loop from inside it (for ``bench_triggerer_soak``).

It runs in the real triggerer beside the sensors' triggers, asks to wake every 10 ms and appends
how late each wake was to a file, a line of milliseconds every few seconds. A loop that something
blocks wakes it late; a loop that slows as the days go by wakes it later and later. It never fires.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

TICK = 0.01
FLUSH_SECONDS = 5.0


class LoopProbeTrigger(BaseTrigger):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", {"path": self.path}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        late: list[float] = []
        flushed = time.time()
        while True:
            due = time.perf_counter() + TICK
            await asyncio.sleep(TICK)
            late.append(round(max(0.0, time.perf_counter() - due) * 1000, 2))
            if time.time() - flushed >= FLUSH_SECONDS:
                flushed = time.time()
                with open(self.path, "a") as f:  # a few KB every 5 s: not worth a thread
                    f.write(json.dumps({"at": flushed, "late_ms": late}) + "\n")
                late = []
        yield TriggerEvent(None)  # pragma: no cover - never reached; makes this an async generator
