"""A scheduled run costs what changed, not the business's history (change data capture).

Every test counts the requests the sandbox answered, against the size of the history, in the
default and the strict sandbox. The connection reads pages of 10, so a history of 300 invoices is
30 pages: reading it whole on every run (what a sync did before) is visibly more than the bounds.
"""

from __future__ import annotations

import json
import math

import pytest

from tests.helpers import held as held_record
from tests.helpers import make_client, onboard
from tests.helpers.builders import FAST_BACKOFF
from tests.helpers.operators import invoice, run
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.parties import ThredfiSyncCustomersOperator

PAGE = 10
HISTORY = 300


@pytest.fixture(params=["default", "strict"])
def shop(request, thredfi_sandbox_factory, monkeypatch):
    """A sandbox, a business with one customer, and a connection that reads pages of 10."""
    sandbox = thredfi_sandbox_factory(strict=request.param == "strict")
    monkeypatch.setenv(
        "AIRFLOW_CONN_THREDFI_DEFAULT", sandbox.connection_uri() + FAST_BACKOFF + f"&page_size={PAGE}"
    )
    client = make_client(sandbox)
    business_id = onboard(client, "shop")
    client.create(business_id, "customers", {"external_id": "cust-1", "company_name": "Customer 1"})
    return sandbox, business_id


def sync(business_id, records, **kwargs):
    summary, _ = run(
        ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=records, **kwargs)
    )
    return summary


def counted(sandbox, business_id, records, **kwargs):
    """The summary and the requests the sandbox answered for it."""
    before = sandbox.counter("requests")
    summary = sync(business_id, records, **kwargs)
    return summary, sandbox.counter("requests") - before


def history(shop_):
    sandbox, business_id = shop_
    assert sync(business_id, [invoice(n) for n in range(HISTORY)])["created"] == HISTORY
    return sandbox, business_id


def held(sandbox, business_id, external_id):
    return held_record(sandbox, "invoices", business_id, external_id)


# ---------------------------------------------------------------------- without state


def test_a_day_of_new_invoices_costs_its_records_not_the_history(shop):
    sandbox, business_id = history(shop)
    day = [invoice(n) for n in range(HISTORY, HISTORY + 20)]
    summary, requests = counted(sandbox, business_id, day)
    assert summary["created"] == 20
    # 20 creates + tokens, the business, the customers and the chart of accounts; reading the
    # history first would add its 30 pages.
    assert requests <= 20 + 10, requests


def test_a_rerun_of_a_day_costs_the_cheaper_of_its_records_and_the_pages(shop):
    sandbox, business_id = history(shop)
    day = [invoice(n) for n in range(HISTORY, HISTORY + 20)]
    sync(business_id, day)
    summary, requests = counted(sandbox, business_id, day)
    assert (summary["unchanged"], summary["created"], summary["updated"]) == (20, 0, 0)
    pages = math.ceil((HISTORY + 20) / PAGE)
    assert requests <= min(20, pages) + 10, requests


def test_a_rerun_of_everything_reads_the_pages_once_instead_of_a_lookup_each(shop):
    sandbox, business_id = history(shop)
    summary, requests = counted(sandbox, business_id, [invoice(n) for n in range(HISTORY)])
    assert summary["unchanged"] == HISTORY
    pages = math.ceil(HISTORY / PAGE)
    assert requests <= min(HISTORY, pages) + 10, requests


def test_a_cancelled_record_is_voided_without_being_created_first(shop):
    sandbox, business_id = shop
    sync(business_id, [invoice(n) for n in range(3)])
    summary = sync(business_id, [invoice(1, cancelled=True), invoice(7, cancelled=True)])
    assert (summary["voided"], summary["unchanged"]) == (1, 1)
    assert held(sandbox, business_id, "inv-1")["status"] == "void"
    assert not [r for r in sandbox.records("invoices", business_id) if r["external_id"] == "inv-7"]


# ---------------------------------------------------------------------- with state


def test_with_state_an_unchanged_rerun_costs_no_request(shop, tmp_path):
    sandbox, business_id = shop
    day = [invoice(n) for n in range(20)]
    assert sync(business_id, day, state_path=str(tmp_path))["created"] == 20
    summary, requests = counted(sandbox, business_id, day, state_path=str(tmp_path))
    assert summary["unchanged"] == 20
    assert requests <= 5, requests
    assert summary["requests"] == requests  # the summary says what the run cost


def test_with_state_an_edit_is_one_write_to_its_stored_id(shop, tmp_path):
    sandbox, business_id = history(shop)
    records = [invoice(n) for n in range(100)]
    sync(business_id, records, state_path=str(tmp_path))
    for n in range(0, 100, 10):  # 10 edits among 100
        records[n] = invoice(n, cents=12_345)
    summary, requests = counted(sandbox, business_id, records, state_path=str(tmp_path))
    assert (summary["updated"], summary["unchanged"]) == (10, 90)
    assert held(sandbox, business_id, "inv-50")["total_amount_cents"] == 12_345
    assert requests <= 15, requests
    settled, requests = counted(sandbox, business_id, records, state_path=str(tmp_path))
    assert (settled["unchanged"], requests) == (100, 0)  # what was applied is what the state holds


def test_with_state_last_runs_failures_are_retried_though_unchanged(shop, tmp_path):
    sandbox, business_id = shop
    records = [invoice(1), invoice(2, customer_external_id="cust-late")]
    first = sync(business_id, records, state_path=str(tmp_path), fail_on_error=False)
    assert (first["created"], first["failed_count"]) == (1, 1)
    make_client(sandbox).create(
        business_id, "customers", {"external_id": "cust-late", "company_name": "Late"}
    )
    second = sync(business_id, records, state_path=str(tmp_path))
    assert (second["created"], second["unchanged"]) == (1, 1)


def test_a_conflict_is_reported_again_on_the_next_run(shop, tmp_path):
    _sandbox, business_id = shop
    sync(business_id, [invoice(1)], state_path=str(tmp_path))
    moved = [invoice(1, sent_at="2024-03-09")]  # the published update cannot carry sent_at
    first = sync(business_id, moved, state_path=str(tmp_path), on_conflict="warn")
    again = sync(business_id, moved, state_path=str(tmp_path), on_conflict="warn")
    assert [c["field"] for c in first["conflicts"]] == [c["field"] for c in again["conflicts"]] == ["sent_at"]


def test_a_corrupt_state_falls_back_to_asking_thredfi(shop, tmp_path, caplog):
    _sandbox, business_id = shop
    day = [invoice(n) for n in range(5)]
    sync(business_id, day, state_path=str(tmp_path))
    [state_file] = list(tmp_path.rglob("*.json"))
    state_file.write_text('{"version": 1, "records": {"inv-1": ["x", ')
    day[2] = invoice(2, memo="edited")
    summary = sync(business_id, day, state_path=str(tmp_path))
    assert (summary["updated"], summary["unchanged"], summary["created"]) == (1, 4, 0)
    assert "unusable" in caplog.text
    assert json.loads(state_file.read_text())["version"] == 1  # rewritten whole


def test_the_state_is_one_object_per_connection_business_and_resource(shop, tmp_path):
    sandbox, business_id = shop
    sync(business_id, [invoice(1)], state_path=str(tmp_path))
    [state_file] = list(tmp_path.rglob("*.json"))
    assert state_file.relative_to(tmp_path).parts == ("thredfi_default", business_id, "invoice.json")
    body = json.loads(state_file.read_text())
    record_id, fields, outcome = body["records"]["inv-1"]
    assert (record_id, outcome) == (held(sandbox, business_id, "inv-1")["id"], "created")
    assert "line_items" in fields
    assert "secret" not in state_file.read_text().lower()


# ---------------------------------------------------------------------- mirror, refresh, dry run


def test_mirror_mode_voids_what_left_the_snapshot(shop, tmp_path):
    sandbox, business_id = shop
    mirror = {"state_path": str(tmp_path), "full_snapshot": True, "on_missing": "void"}
    sync(business_id, [invoice(n) for n in range(5)], **mirror)
    snapshot = [invoice(n) for n in range(5) if n != 2]
    summary = sync(business_id, snapshot, **mirror)
    assert (summary["removed"], summary["unchanged"]) == (1, 4)
    assert held(sandbox, business_id, "inv-2")["status"] == "void"
    again, requests = counted(sandbox, business_id, snapshot, **mirror)
    assert (again["removed"], again["unchanged"], requests) == (0, 4, 0)


def test_mirror_mode_removes_nothing_when_a_row_of_the_snapshot_is_bad(shop, tmp_path):
    sandbox, business_id = shop
    mirror = {"state_path": str(tmp_path), "full_snapshot": True, "on_missing": "void"}
    sync(business_id, [invoice(n) for n in range(3)], **mirror)
    bad = {"external_id": "inv-1", "customer_external_id": "cust-1"}  # no lines: refused
    summary = sync(business_id, [invoice(0), bad], fail_on_error=False, **mirror)
    assert (summary["removed"], summary["mirror_skipped"]) == (0, "source rows failed validation")
    assert held(sandbox, business_id, "inv-2")["status"] != "void"


def test_mirror_mode_archives_customers(shop, tmp_path):
    sandbox, business_id = shop
    mirror = {"state_path": str(tmp_path), "full_snapshot": True, "on_missing": "archive"}
    parties = [{"external_id": f"c-{n}", "company_name": f"C {n}"} for n in range(3)]

    def sync_customers(records):
        return run(
            ThredfiSyncCustomersOperator(task_id="c", business_id=business_id, records=records, **mirror)
        )[0]

    sync_customers(parties)
    assert sync_customers(parties[:2])["removed"] == 1
    [gone] = [r for r in sandbox.records("customers", business_id) if r["external_id"] == "c-2"]
    assert gone["is_archived"]


def test_mirror_mode_needs_state_and_a_declared_snapshot():
    with pytest.raises(ValueError, match="full_snapshot=True"):
        ThredfiSyncInvoicesOperator(
            task_id="s", business_id="b", records=[], on_missing="void", state_path="/x"
        )
    with pytest.raises(ValueError, match="needs state_path"):
        ThredfiSyncInvoicesOperator(
            task_id="s", business_id="b", records=[], on_missing="void", full_snapshot=True
        )


def test_a_full_refresh_catches_a_change_made_inside_thredfi(shop, tmp_path):
    sandbox, business_id = shop
    day = [invoice(n, memo="ours") for n in range(5)]
    sync(business_id, day, state_path=str(tmp_path))
    target = held(sandbox, business_id, "inv-3")
    make_client(sandbox).update(
        business_id, "invoices", target["id"], {"memo": "edited in Thredfi"}, method="PUT"
    )
    blind = sync(business_id, day, state_path=str(tmp_path))
    assert blind["unchanged"] == 5  # the state cannot see a change made inside Thredfi
    refreshed = sync(business_id, day, state_path=str(tmp_path), full_refresh=True)
    assert (refreshed["updated"], refreshed["unchanged"]) == (1, 4)
    assert held(sandbox, business_id, "inv-3")["memo"] == "ours"


def test_a_dry_run_plans_every_kind_of_change_and_sends_no_write(shop):
    sandbox, business_id = shop
    sync(business_id, [invoice(n) for n in range(4)])
    before = {r["external_id"]: r["updated_at"] for r in sandbox.records("invoices", business_id)}
    plan = [invoice(0), invoice(1, cents=77_700), invoice(2, cancelled=True), invoice(3), invoice(9)]
    summary = sync(business_id, plan, dry_run=True)
    assert summary["dry_run"] is True
    assert (summary["created"], summary["updated"], summary["voided"], summary["unchanged"]) == (1, 1, 1, 2)
    after = {r["external_id"]: r["updated_at"] for r in sandbox.records("invoices", business_id)}
    assert after == before  # nothing was written: no new invoice, no edit, no void


# ---------------------------------------------------------------------- what must never be "unchanged"


@pytest.mark.parametrize("with_state", [False, True])
def test_an_invoice_uncancelled_in_the_source_is_a_conflict_not_unchanged(shop, tmp_path, with_state):
    _, business_id = shop
    state = {"state_path": str(tmp_path)} if with_state else {}
    sync(business_id, [invoice(1)], **state)
    assert sync(business_id, [invoice(1, cancelled=True)], **state)["voided"] == 1
    back = sync(business_id, [invoice(1)], on_conflict="warn", **state)
    assert [c["field"] for c in back["conflicts"]] == ["cancelled"]
    again = sync(business_id, [invoice(1)], on_conflict="warn", **state)
    assert again["conflict_count"] == 1  # and on every run until the source agrees


def test_mirror_mode_never_removes_against_an_older_snapshot(shop, tmp_path):
    sandbox, business_id = shop
    mirror = {"state_path": str(tmp_path), "full_snapshot": True, "on_missing": "void"}

    def sync_at(day, records):
        operator = ThredfiSyncInvoicesOperator(
            task_id="s", business_id=business_id, records=records, **mirror
        )
        return run(operator, data_interval_end=f"2024-03-{day:02d}T00:00:00+00:00")[0]

    sync_at(10, [invoice(n) for n in range(3)])  # the newest snapshot
    backfill = sync_at(5, [invoice(0)])  # an older day's snapshot lacks what came later
    assert backfill["removed"] == 0
    assert backfill["mirror_skipped"].startswith("older than the snapshot last mirrored")
    assert held(sandbox, business_id, "inv-2")["status"] != "void"
    assert sync_at(11, [invoice(0), invoice(1)])["removed"] == 1  # a newer one still mirrors


def test_a_state_this_code_cannot_read_is_left_as_it_is(shop, tmp_path):
    _, business_id = shop
    sync(business_id, [invoice(1)], state_path=str(tmp_path))
    [state_file] = list(tmp_path.rglob("*.json"))
    future = json.dumps({"version": 2, "records": {"inv-1": {"anything": True}}})
    state_file.write_text(future)
    summary = sync(business_id, [invoice(1), invoice(2)], state_path=str(tmp_path))
    assert (summary["unchanged"], summary["created"]) == (1, 1)  # planned without it
    assert state_file.read_text() == future  # and not overwritten with this run's entries alone
