"""The sync state's own rules: atomic replacement, merging, and two writers of one record."""

from __future__ import annotations

import contextlib
import json

from thredfi_provider.operators._sync.state import SyncState


def load(root):
    return SyncState.load(str(root), None, "thredfi_default", "biz-1", "invoice")


def test_a_record_two_instances_wrote_is_compared_again_not_trusted(tmp_path):
    first, second = load(tmp_path), load(tmp_path)  # both read the state before either wrote
    first.record("inv-1", "id-1", {"memo": "a"}, "updated")
    first.save()
    second.record("inv-1", "id-1", {"memo": "b"}, "updated")
    second.save()
    [state_file] = list(tmp_path.rglob("*.json"))
    record_id, fields, outcome = json.loads(state_file.read_text())["records"]["inv-1"]
    assert (record_id, fields, outcome) == ("id-1", {"memo": "b"}, "contested")
    assert not load(tmp_path).get("inv-1").settled_as({"memo": "b"})  # the next run looks again


def test_instances_writing_different_records_keep_each_others_entries(tmp_path):
    first, second = load(tmp_path), load(tmp_path)
    first.record("inv-1", "id-1", {"memo": "a"}, "created")
    first.save()
    second.record("inv-2", "id-2", {"memo": "b"}, "created")
    second.save()
    merged = load(tmp_path)
    assert merged.get("inv-1").settled_as({"memo": "a"})
    assert merged.get("inv-2").settled_as({"memo": "b"})


def test_a_failure_keeps_what_was_applied_so_the_record_is_tried_again(tmp_path):
    state = load(tmp_path)
    state.record("inv-1", "id-1", {"memo": "a"}, "created")
    state.record("inv-1", None, {"memo": "b"}, "failed")
    state.save()
    entry = load(tmp_path).get("inv-1")
    assert (entry.record_id, entry.fields, entry.outcome) == ("id-1", {"memo": "a"}, "failed")
    assert not entry.settled_as({"memo": "b"})
    assert not entry.settled_as({"memo": "a"})


def test_the_state_is_replaced_whole_never_left_half_written(tmp_path, monkeypatch):
    state = load(tmp_path)
    state.record("inv-1", "id-1", {"memo": "a"}, "created")
    state.save()
    [state_file] = list(tmp_path.rglob("*.json"))
    before = state_file.read_text()

    def crash(*_args, **_kwargs):
        raise OSError("disk gone mid-write")

    monkeypatch.setattr("thredfi_provider.operators._sync.state.os.replace", crash)
    state.record("inv-2", "id-2", {"memo": "b"}, "created")
    with contextlib.suppress(OSError):
        state.save()
    assert state_file.read_text() == before  # the old state, whole
    assert [p.name for p in state_file.parent.iterdir()] == [state_file.name]  # no temporary left


def test_a_state_url_with_credentials_never_reaches_a_log_line(caplog, monkeypatch):
    url = "s3://AKIAKEY:TopSecret99@bucket/state"

    def unreachable(self):
        raise OSError(f"could not reach {self.url}")  # storage errors quote the URL

    monkeypatch.setattr(SyncState, "_path", unreachable)
    state = SyncState.load(url, None, "thredfi_default", "biz-1", "invoice")
    assert state.get("inv-1") is None  # planned without it
    assert not state.writable  # and never overwritten
    assert "could not be read" in caplog.text
    assert "TopSecret99" not in caplog.text
    assert "s3://***@bucket/state" in caplog.text
