"""The deferrable half of ThredfiResourceSensor: polls in the triggerer without blocking it.

Each poll runs the ordinary (sync) client in a worker thread via ``asyncio.to_thread``, on a
client shared by every trigger of the same connection in this process, so auth, retries and
error mapping are the client's own and token requests stay at one per business. Only
JSON-safe kwargs are serialised: the connection id and the query, never a token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class ThredfiResourceTrigger(BaseTrigger):
    def __init__(
        self,
        *,
        thredfi_conn_id: str,
        query: dict[str, Any],
        poll_interval: float = 30.0,
        timeout_at: float | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.thredfi_conn_id = thredfi_conn_id
        self.query = query
        self.poll_interval = poll_interval
        self.timeout_at = timeout_at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "thredfi_conn_id": self.thredfi_conn_id,
                "query": self.query,
                "poll_interval": self.poll_interval,
                "timeout_at": self.timeout_at,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from thredfi_provider.client.errors import ThredfiError
        from thredfi_provider.hooks.thredfi import ThredfiHook, settings_from_connection, shared_client
        from thredfi_provider.sensors.query import ResourceQuery, evaluate

        try:
            query = ResourceQuery(**self.query)
            connection = await ThredfiHook.aget_connection(self.thredfi_conn_id)
            client = shared_client(settings_from_connection(connection))
        except (ValueError, ThredfiError) as exc:
            yield _event({"status": "failure", "message": str(exc)})
            return
        while True:
            try:
                outcome = await asyncio.to_thread(evaluate, client, query)
            except ThredfiError as exc:
                yield _event({"status": "failure", "message": str(exc)})
                return
            if outcome.met:
                yield _event({"status": "success", "value": outcome.value})
                return
            if self.timeout_at is not None and time.time() >= self.timeout_at:
                yield _event({"status": "timeout", "message": f"gave up waiting: {outcome.reason}"})
                return
            self.log.info("Thredfi %s not ready: %s", query.resource, outcome.reason)
            await asyncio.sleep(self.poll_interval)


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]
