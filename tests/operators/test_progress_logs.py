"""Logs a person reads: progress while a sync runs, an end line that says where and what it cost,
what changed in an updated record, and what a sensor matched."""

from __future__ import annotations

import logging

import pytest

from tests.helpers.operators import invoice, run
from thredfi_provider.operators._sync import progress
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator


@pytest.fixture
def info_logs(caplog):
    caplog.set_level(logging.INFO, logger="thredfi_provider")
    return caplog


def _lines(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def test_progress_lines_count_out_of_a_known_length_with_a_rate_and_eta(
    thredfi_sandbox, thredfi_conn_id, seeded, info_logs, monkeypatch
):
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0.0)  # a line per record, not every 30 s
    records = [invoice(n) for n in range(6)]
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=records, chunk_size=3))
    lines = _lines(info_logs, "records done")
    assert lines, "no progress line"
    assert any(" of 6 records done" in line for line in lines)
    assert all("requests" in line and "retries" in line and "/s)" in line for line in lines)
    assert any("s left" in line for line in lines)  # an ETA while records remain


def test_progress_from_a_generator_does_not_claim_a_total(thredfi_sandbox, thredfi_conn_id, seeded, info_logs,
                                                          monkeypatch):  # fmt: skip
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0.0)
    run(
        ThredfiSyncInvoicesOperator(
            task_id="s", business_id=seeded, records=lambda: (invoice(n) for n in range(3))
        )
    )
    lines = _lines(info_logs, "records done")
    assert lines
    assert not any(" of " in line.split("records done")[0] for line in lines)


def test_a_short_sync_prints_no_progress_only_the_end_line(
    thredfi_sandbox, thredfi_conn_id, seeded, info_logs
):
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=[invoice(1)]))
    assert not _lines(info_logs, "records done")
    (end,) = _lines(info_logs, "Thredfi invoices: 1 created")
    assert f"business {seeded}" in end
    assert " s, " in end
    assert "requests" in end


def test_the_end_line_counts_businesses_and_names_the_details_report(
    thredfi_sandbox, thredfi_conn_id, seeded, info_logs, tmp_path
):
    from tests.helpers import make_client, onboard

    other = onboard(make_client(thredfi_sandbox), "other")
    make_client(thredfi_sandbox).create(other, "customers", {"external_id": "cust-1", "company_name": "C"})
    records = [invoice(1, business_id=seeded), invoice(2, business_id=other)]
    op = ThredfiSyncInvoicesOperator(task_id="s", records=records, details_path=str(tmp_path))
    value, _ = run(op)
    (end,) = _lines(info_logs, "Thredfi invoices: 2 created")
    assert "2 businesses" in end
    assert f"{value['requests']} requests" in end
    if value.get("details"):
        assert value["details"] in end


def test_an_updated_record_logs_what_changed_at_info(thredfi_sandbox, thredfi_conn_id, seeded, info_logs):
    run(
        ThredfiSyncInvoicesOperator(
            task_id="s", business_id=seeded, records=[invoice(1, due_at="2024-03-31")]
        )
    )
    info_logs.clear()
    run(
        ThredfiSyncInvoicesOperator(
            task_id="s", business_id=seeded, records=[invoice(1, due_at="2024-04-30")]
        )
    )
    changed = [r for r in info_logs.records if "updated:" in r.getMessage()]
    assert changed
    assert changed[0].levelno == logging.INFO
    assert "'inv-1'" in changed[0].getMessage()
    assert "due_at" in changed[0].getMessage()


def test_a_matched_sensor_logs_what_matched(thredfi_sandbox, thredfi_conn_id, unpaid, capfd):
    from thredfi_provider.compat import PokeReturnValue
    from thredfi_provider.sensors.resource import ThredfiResourceSensor

    sensor = ThredfiResourceSensor(task_id="w", resource="invoice", business_id=unpaid, external_id="inv-1",
                                   condition={"status": ["sent", "open", "draft", "unpaid", "SENT"]})  # fmt: skip
    matched = sensor.poke({})
    assert isinstance(matched, PokeReturnValue)
    assert (matched.is_done, matched.xcom_value["external_id"]) == (True, "inv-1")
    logged = capfd.readouterr()
    text = logged.out + logged.err
    assert "Thredfi sensor matched: invoice inv-1 (id " in text
    assert "status=" in text


def test_each_chunk_after_the_first_logs_progress_without_waiting_for_the_timer(
    thredfi_sandbox, thredfi_conn_id, seeded, info_logs
):
    records = [invoice(n) for n in range(9)]
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=records, chunk_size=3))
    lines = _lines(info_logs, "records done")
    assert [line.split(" records done")[0].rsplit(": ", 1)[-1] for line in lines] == ["6 of 9", "9 of 9"]
