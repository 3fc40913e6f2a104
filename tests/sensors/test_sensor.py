"""ThredfiResourceSensor in poke, reschedule and deferrable modes (its trigger: tests/triggers/).

The ``unpaid`` fixture (tests/conftest.py) is a business with one unpaid invoice of 700.
"""

from __future__ import annotations

import json

import pytest
from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException, TaskDeferred

from tests.helpers.sensors import pay_in_background
from thredfi_provider.hooks.thredfi import ThredfiHook
from thredfi_provider.sensors.resource import ThredfiResourceSensor
from thredfi_provider.triggers.resource import ThredfiResourceTrigger


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
def test_poke_waits_for_the_condition_and_returns_the_record(thredfi_sandbox, unpaid, mode):
    sensor = ThredfiResourceSensor(
        task_id="w",
        resource="invoice",
        business_id=unpaid,
        external_id="inv-1",
        condition={"status": ["PAID"]},
        mode=mode,
    )
    assert sensor.poke({}) is False
    pay_in_background(thredfi_sandbox, unpaid).join()
    result = sensor.poke({})
    assert isinstance(result, PokeReturnValue)
    assert result.is_done
    assert result.xcom_value["external_id"] == "inv-1"


def test_a_404_for_the_record_is_not_yet(thredfi_sandbox, unpaid):
    missing = ThredfiResourceSensor(
        task_id="w", resource="invoice", business_id=unpaid, resource_id="no-such-id"
    )
    assert missing.poke({}) is False


def test_an_unknown_or_foreign_business_fails_the_poke(thredfi_sandbox, unpaid):
    foreign = ThredfiResourceSensor(
        task_id="w",
        resource="invoice",
        business_id="00000000-0000-0000-0000-000000000000",
        filters={"status": "paid"},
    )
    with pytest.raises(AirflowFailException):
        foreign.poke({})


def test_filters_with_min_count_wait_for_enough_records(thredfi_sandbox, unpaid):
    sensor = ThredfiResourceSensor(
        task_id="w",
        resource="journal_entry",
        business_id=unpaid,
        filters={"date_from": "2024-01-01"},
        min_count=2,
    )
    assert sensor.poke({}) is False
    pay_in_background(thredfi_sandbox, unpaid).join()
    assert sensor.poke({}).xcom_value["count"] == 2


def test_a_callable_condition_is_met_by_the_record_it_accepts(thredfi_sandbox, unpaid):
    big = ThredfiResourceSensor(
        task_id="w", resource="invoice", business_id=unpaid, external_id="inv-1",
        condition=lambda inv: inv["total_amount_cents"] > 500,
    )  # fmt: skip
    assert big.poke({}).is_done


def test_a_callable_condition_is_refused_when_deferrable():
    """A callable cannot be serialised for the triggerer."""
    with pytest.raises(ValueError, match="callable"):
        ThredfiResourceSensor(
            task_id="w",
            resource="invoice",
            business_id="b",
            external_id="x",
            condition=len,
            deferrable=True,
        )


def test_deferrable_sensor_defers_with_json_safe_kwargs_and_no_secrets(thredfi_sandbox, unpaid):
    sensor = ThredfiResourceSensor(
        task_id="w", resource="invoice", business_id=unpaid, external_id="inv-1", condition={"status": "paid"},
        deferrable=True, poke_interval=0.1, timeout=30,
    )  # fmt: skip
    with pytest.raises(TaskDeferred) as info:
        sensor.execute({})
    trigger = info.value.trigger
    path, kwargs = trigger.serialize()
    text = json.dumps(kwargs)
    assert path == "thredfi_provider.triggers.resource.ThredfiResourceTrigger"
    for secret in ThredfiHook().get_conn().secrets | {thredfi_sandbox.api_key}:
        assert secret not in text
    rebuilt = ThredfiResourceTrigger(**kwargs)
    assert rebuilt.serialize() == (path, kwargs)


def _deferred_sensor(**kwargs) -> ThredfiResourceSensor:
    return ThredfiResourceSensor(
        task_id="w", resource="invoice", business_id="b", external_id="inv-1", deferrable=True, **kwargs
    )


def test_a_success_event_completes_with_the_record():
    sensor = _deferred_sensor()
    assert sensor.execute_complete({}, {"status": "success", "value": {"id": "x"}}) == {"id": "x"}


def test_a_failure_event_fails_the_task():
    with pytest.raises(AirflowFailException):
        _deferred_sensor().execute_complete({}, {"status": "failure", "message": "403"})


def test_a_timeout_event_skips_the_task_under_soft_fail():
    with pytest.raises(AirflowSkipException):
        _deferred_sensor(soft_fail=True).execute_complete({}, {"status": "timeout", "message": "late"})


@pytest.mark.parametrize("event", [None, "success", {"status": "weird"}, {"value": 1}, ["success"]])
def test_an_event_of_another_shape_fails_clearly(event):
    sensor = ThredfiResourceSensor(task_id="w", resource="invoice", business_id="b", external_id="inv-1")
    with pytest.raises(AirflowFailException, match="unexpected event"):
        sensor.execute_complete({}, event)
