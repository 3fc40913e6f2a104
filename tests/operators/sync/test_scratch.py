"""The scratch sets (``operators/_sync/scratch.py``): bounded memory that spills to disk and answers the same."""

from __future__ import annotations

from thredfi_provider.operators._sync import scratch as packed_module
from thredfi_provider.operators._sync.scratch import SeenKeys


def test_seen_keys_spill_to_disk_and_still_answer():
    seen = SeenKeys(memory_limit=100)
    assert seen.add_new(f"k{n}" for n in range(80)) == set()
    assert seen.add_new(["k1", "new-1", "new-1", "k79"]) == {"k1", "k79"}
    assert not seen.spilled
    assert seen.add_new(f"x{n}" for n in range(50)) == set()
    assert seen.spilled
    assert seen.add_new(["x3", "k5", "fresh"]) == {"x3", "k5"}
    assert seen.add_new(["fresh"]) == {"fresh"}
    seen.close()


def test_held_records_move_to_disk_past_the_memory_budget_and_read_the_same(monkeypatch):
    """What Thredfi holds, packed into an index: past the budget on disk, read back unchanged.
    (A whole sync and rerun from a spilled index: ``tests/operators/test_streaming.py``.)"""
    from thredfi_provider.operators._sync.lookups import Index

    monkeypatch.setattr(packed_module, "MEMORY_BUDGET", 20_000)
    records = [{"id": f"id-{n}", "external_id": f"e-{n}", "memo": "x" * 100, "n": n} for n in range(300)]
    index = Index(iter(records))
    assert index.by_external_id.spilled
    assert len(index.by_external_id) == len(index.by_id) == 300
    assert index.by_external_id["e-7"] == records[7]
    assert index.by_id.get("id-299") == records[299]
    assert "e-300" not in index.by_external_id
    assert sorted(r["n"] for r in index.by_external_id.values()) == list(range(300))
