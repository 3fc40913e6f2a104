"""The deferrable half of ThredfiResourceSensor: polls in the triggerer without blocking it.

Triggerer etiquette, because this loop is shared with every other provider's triggers:

- nothing here blocks the event loop or holds a thread lock across a call that can yield:
  the connection is read with the async lookup (once per connection id per process), and the
  client is built and used in worker threads;
- each poll's total time, retries included, is a fraction of the poll interval: the next poll
  *is* the retry, and no executor thread is held through a long outage;
- first polls are spread over the interval, so a thousand sensors deferred together do not
  poll together;
- polls log at DEBUG; INFO is for state changes and a periodic heartbeat;
- polls run on a small thread pool of their own, not the loop's default executor, which every
  other trigger's ``asyncio.to_thread`` (and Airflow's own ``sync_to_async``) shares: 2,000
  polls queued there would make them all wait behind Thredfi (``benchmarks/bench_triggers.py``
  measures that wait).

Only JSON-safe kwargs are serialised (the connection id and the query), never a token.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from thredfi_provider.compat import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from thredfi_provider.hooks.status import Look, ResourceQuery
    from thredfi_provider.hooks.thredfi import ThredfiHook

T = TypeVar("T")
HEARTBEAT_SECONDS = 600.0
# Threads for Thredfi polls in one triggerer process; an outage holds these (each poll is bounded
# by poll_budget()), never the loop's default executor. Few, because every runnable thread competes
# with the event loop for the GIL: with 2,000 triggers polling a loopback sandbox every second,
# p99 loop stall was 11-14 ms with 2 threads, 18-24 ms with 4 and 22-32 ms with 8; at a 50 ms
# round trip, the time for all 2,000 to see their invoices paid was 83 s, 51 s and 49 s.
POLL_THREADS = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()  # guards creating the pool only; never held across an await


def _poll_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=POLL_THREADS, thread_name_prefix="thredfi-poll")
    return _pool


def poll_budget(poll_interval: float) -> float:
    """A poll's whole time, retries included: a quarter of the interval, 1 s to 60 s."""
    return min(max(poll_interval / 4, 1.0), 60.0)


class ThredfiResourceTrigger(BaseTrigger):
    """Poll a Thredfi resource until the sensor's condition is met, fails or times out.

    :param thredfi_conn_id: the ``thredfi`` connection.
    :param query: a :class:`~thredfi_provider.hooks.status.ResourceQuery` as a dict.
    :param poll_interval: seconds between polls.
    :param timeout_at: epoch seconds after which the trigger reports a timeout.

    .. seealso:: :doc:`/deferrable`
    """

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
        from thredfi_provider.hooks.status import ResourceQuery
        from thredfi_provider.hooks.thredfi import ThredfiHook

        try:
            query = ResourceQuery(**self.query)
        except (TypeError, ValueError) as exc:
            yield _event({"status": "failure", "message": f"invalid Thredfi sensor query: {exc}"})
            return
        hook = ThredfiHook(self.thredfi_conn_id)
        try:
            await hook.aget_conn()
        except (ValueError, ThredfiError) as exc:
            yield _event({"status": "failure", "message": str(exc)})
            return
        except Exception as exc:  # the SDK raises its own not-found type; name the connection
            yield _event(
                {
                    "status": "failure",
                    "message": f"cannot read Thredfi connection {self.thredfi_conn_id!r} "
                    f"(deleted or never created?): {type(exc).__name__}: {exc}",
                }
            )
            return
        # The sensor looked once before deferring; spread the next looks over the interval.
        await asyncio.sleep(random.uniform(0, self._sleep_for()))
        async for event in self._poll(hook, query):
            yield event

    async def _poll(self, hook: ThredfiHook, query: ResourceQuery) -> AsyncIterator[TriggerEvent]:
        from thredfi_provider.client.errors import ThredfiError

        # The sensor deferred because its own look found the condition not met: the first poll's
        # "not ready" is that same state, so it is DEBUG like every poll. INFO is for a reason
        # that changes from one poll to the next, and a heartbeat while it does not.
        last_reason: str | None = None
        # Heartbeats spread over the whole interval from the start: a thousand triggers started
        # together would otherwise all log in the same second every ten minutes (measured: 8 s
        # of the triggerer supervisor's CPU in that minute, against 0.7 s in the others).
        last_info = time.monotonic() - random.uniform(0, HEARTBEAT_SECONDS)
        polls = 0
        while True:
            polls += 1
            try:
                outcome = await _in_pool(_look, hook, query, poll_budget(self.poll_interval))
            except ThredfiError as exc:
                yield _event({"status": "failure", "message": str(exc)})
                return
            if outcome.met:
                yield _event({"status": "success", "value": outcome.value})
                return
            if self.timeout_at is not None and time.time() >= self.timeout_at:
                yield _event({"status": "timeout", "message": f"gave up waiting: {outcome.reason}"})
                return
            now = time.monotonic()
            changed = last_reason is not None and outcome.reason != last_reason
            if changed or now - last_info >= HEARTBEAT_SECONDS:
                self.log.info("Thredfi %s not ready (poll %d): %s", query.resource, polls, outcome.reason)
                last_info = now
            else:
                self.log.debug("Thredfi %s not ready (poll %d): %s", query.resource, polls, outcome.reason)
            last_reason = outcome.reason
            await asyncio.sleep(self._sleep_for())

    def _sleep_for(self) -> float:
        """The poll interval, cut short so the timeout is reported on time."""
        if self.timeout_at is None:
            return self.poll_interval
        return max(0.0, min(self.poll_interval, self.timeout_at - time.time()))


async def _in_pool(fn: Callable[..., T], *args: Any) -> T:
    """``asyncio.to_thread`` on the Thredfi poll pool: the caller's context variables go along."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_poll_pool(), context.run, fn, *args)


def _look(hook: ThredfiHook, query: ResourceQuery, budget: float) -> Look:
    """One poll in a worker thread, its every request and retry inside ``budget`` seconds."""
    from thredfi_provider.client.deadline import deadline

    with deadline(budget):
        return hook.check_resource(query)


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]
