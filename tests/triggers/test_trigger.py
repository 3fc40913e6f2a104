"""ThredfiResourceTrigger: its events, its connection lookups, its logging and the event loop.

The ``unpaid`` fixture (tests/conftest.py) is a business with one unpaid invoice of 700.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from tests.helpers.sensors import pay_in_background
from thredfi_provider.sensors.resource import ThredfiResourceSensor
from thredfi_provider.triggers.resource import ThredfiResourceTrigger


async def _events(trigger):
    return [event async for event in trigger.run()]


def _trigger(business_id, **query):
    return ThredfiResourceTrigger(
        thredfi_conn_id="thredfi_default",
        query={"resource": "invoice", "business_id": business_id, **query},
        poll_interval=0.05,
        timeout_at=time.time() + 10,
    )


def test_trigger_fires_once_when_the_condition_becomes_true(thredfi_sandbox, unpaid):
    thread = pay_in_background(thredfi_sandbox, unpaid, delay=0.3)
    events = asyncio.run(_events(_trigger(unpaid, external_id="inv-1", condition={"status": ["paid"]})))
    thread.join()
    assert len(events) == 1
    assert events[0].payload["status"] == "success"
    assert events[0].payload["value"]["status"] == "paid"


def test_trigger_times_out_with_one_event(thredfi_sandbox, unpaid):
    trigger = _trigger(unpaid, external_id="inv-1", condition={"status": ["paid"]})
    trigger.timeout_at = time.time() + 0.2
    events = asyncio.run(_events(trigger))
    assert [e.payload["status"] for e in events] == ["timeout"]


def test_trigger_reports_an_unknown_business_as_failure(thredfi_sandbox, unpaid):
    events = asyncio.run(_events(_trigger("00000000-0000-0000-0000-000000000000", external_id="inv-1")))
    assert [e.payload["status"] for e in events] == ["failure"]
    assert "business" in events[0].payload["message"].lower()


def test_a_deleted_connection_is_named_in_the_event_and_honours_soft_fail(thredfi_sandbox, unpaid):
    trigger = ThredfiResourceTrigger(
        thredfi_conn_id="thredfi_deleted_long_ago", query={"resource": "invoice", "business_id": unpaid,
                                                           "external_id": "inv-1"},
        poll_interval=0.05, timeout_at=time.time() + 5,
    )  # fmt: skip
    events = asyncio.run(_events(trigger))
    assert [e.payload["status"] for e in events] == ["failure"]
    assert "thredfi_deleted_long_ago" in events[0].payload["message"]
    sensor = ThredfiResourceSensor(
        task_id="w", resource="invoice", business_id=unpaid, external_id="inv-1", soft_fail=True
    )
    with pytest.raises(AirflowSkipException, match="thredfi_deleted_long_ago"):
        sensor.execute_complete({}, events[0].payload)


def test_triggers_never_mask_or_build_clients_on_the_event_loop(thredfi_sandbox, unpaid, monkeypatch):
    """Masking may yield to the loop (greenback): on the loop thread with a lock held, it froze it."""
    from thredfi_provider.hooks import thredfi as hook_module

    hook_module.clear_shared_clients()
    on_loop: list[bool] = []
    loop_threads: set[int] = set()

    def mask(secret: str) -> None:
        on_loop.append(threading.get_ident() in loop_threads)

    monkeypatch.setattr(hook_module, "mask", mask)

    async def many() -> list[list]:
        loop_threads.add(threading.get_ident())
        triggers = [_trigger(unpaid, external_id="inv-1") for _ in range(20)]
        return await asyncio.gather(*(_events(t) for t in triggers))

    thread = pay_in_background(thredfi_sandbox, unpaid)
    thread.join()
    results = asyncio.run(many())
    assert [len(events) for events in results] == [1] * 20
    assert all(events[0].payload["status"] == "success" for events in results)
    assert on_loop
    assert not any(on_loop)
    hook_module.clear_shared_clients()


def test_twenty_triggers_read_the_connection_once(thredfi_sandbox, unpaid, monkeypatch):
    from thredfi_provider.hooks import thredfi as hook_module
    from thredfi_provider.hooks.thredfi import ThredfiHook

    hook_module.clear_shared_clients()
    lookups: list[str] = []
    real = ThredfiHook.aget_connection.__func__

    async def counting(cls, conn_id):
        lookups.append(conn_id)
        await asyncio.sleep(0.05)  # a slow secrets backend: every trigger asks before the first answer
        return await real(cls, conn_id)

    monkeypatch.setattr(ThredfiHook, "aget_connection", classmethod(counting))

    async def many() -> list[list]:
        return await asyncio.gather(*(_events(_trigger(unpaid, external_id="inv-1")) for _ in range(20)))

    pay_in_background(thredfi_sandbox, unpaid).join()
    results = asyncio.run(many())
    assert all(events[0].payload["status"] == "success" for events in results)
    assert lookups == ["thredfi_default"]
    hook_module.clear_shared_clients()


def test_triggers_waiting_for_the_connection_resume_one_per_loop_iteration(
    thredfi_sandbox, thredfi_conn_id, monkeypatch
):
    """A future wakes all its waiters in one loop iteration: 2,000 triggers stalled the loop."""
    from thredfi_provider.hooks import thredfi as hook_module
    from thredfi_provider.hooks.thredfi import ThredfiHook

    hook_module.clear_shared_clients()
    real = ThredfiHook.aget_connection.__func__

    async def slow(cls, conn_id):
        await asyncio.sleep(0.05)
        return await real(cls, conn_id)

    monkeypatch.setattr(ThredfiHook, "aget_connection", classmethod(slow))
    ticks = 0
    resumed: list[int] = []

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    async def one() -> None:
        await ThredfiHook("thredfi_default").aget_conn()
        resumed.append(ticks)

    async def many() -> None:
        stop = asyncio.Event()
        counting = asyncio.create_task(ticker(stop))
        await asyncio.gather(*(one() for _ in range(50)))
        stop.set()
        await counting

    asyncio.run(many())
    per_iteration = max(resumed.count(tick) for tick in set(resumed))
    assert per_iteration <= 2, per_iteration
    hook_module.clear_shared_clients()


def test_the_trigger_module_does_not_import_the_sensor():
    """The status check lives in the hook: triggers depend on hooks, never on sensors."""
    import subprocess
    import sys

    code = (
        "import sys, thredfi_provider.triggers.resource as t; import asyncio;"
        "from thredfi_provider.hooks.status import ResourceQuery;"
        "print(any(m.startswith('thredfi_provider.sensors') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_polls_log_at_debug_and_only_a_changed_reason_at_info(monkeypatch):
    """2,000 triggers must not write 2,000 INFO lines a round: the first "not ready" is the
    state the sensor deferred in, and so is every repeat; a new reason is worth an INFO."""
    from thredfi_provider.hooks.status import Look, ResourceQuery
    from thredfi_provider.triggers import resource

    looks = iter(
        [Look(False, reason="condition not met")] * 3
        + [Look(False, reason="transient: 503")]
        + [Look(False, reason="condition not met"), Look(True, {"id": "i1"})]
    )
    monkeypatch.setattr(resource, "_look", lambda hook, query, budget: next(looks))
    lines: list[tuple[str, str]] = []

    class Recorder:
        def info(self, message, *args):
            lines.append(("info", message % args))

        def debug(self, message, *args):
            lines.append(("debug", message % args))

    class Quiet(ThredfiResourceTrigger):
        log = Recorder()  # type: ignore[assignment]

    trigger = Quiet(thredfi_conn_id="thredfi_default", query={}, poll_interval=0.0)
    query = ResourceQuery(resource="invoice", business_id="b1", external_id="inv-1")

    async def collect():
        return [event async for event in trigger._poll(None, query)]

    events = asyncio.run(collect())
    assert [e.payload["status"] for e in events] == ["success"]
    assert [level for level, _ in lines] == ["debug", "debug", "debug", "info", "info"]
    assert lines[3][1] == "Thredfi invoice not ready (poll 4): transient: 503"
