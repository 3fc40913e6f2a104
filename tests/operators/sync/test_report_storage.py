"""Where a large batch's report goes and how it is named (``operators/_sync/report_storage.py``).

The operators hand it their task instance: ``tests/operators/test_streaming.py`` runs mapped
instances and retries through ``execute``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.helpers.operators import StubTaskInstance
from thredfi_provider.operators._sync.report_storage import details_publisher


def _ti(map_index: int, try_number: int) -> StubTaskInstance:
    ti = StubTaskInstance()
    ti.map_index, ti.try_number = map_index, try_number  # type: ignore[attr-defined]
    return ti


@pytest.mark.parametrize(
    ("details_path", "names"),
    [
        ("report.jsonl", ["report.map_index=0_attempt=1.jsonl", "report.map_index=1_attempt=1.jsonl",
                          "report.map_index=0_attempt=2.jsonl", "report.attempt=1.jsonl"]),
        ("reports/", ["reports/map_index=0_attempt=1.jsonl", "reports/map_index=1_attempt=1.jsonl",
                      "reports/map_index=0_attempt=2.jsonl", "reports/attempt=1.jsonl"]),
    ],
    ids=["a-file", "a-folder"],
)  # fmt: skip
def test_each_mapped_instance_and_try_writes_its_own_report(tmp_path, details_path, names):
    written = []
    for n, (map_index, try_number) in enumerate(((0, 1), (1, 1), (0, 2), (-1, 1))):
        publish = details_publisher(_ti(map_index, try_number), str(tmp_path / details_path), None)
        written.append(publish(io.StringIO(f'{{"external_id": "inv-{n}"}}\n')))
    assert written == [f"file://{tmp_path}/{name}" for name in names]
    # Nothing overwrote another's report: each holds what its own instance wrote.
    texts = [Path(url.removeprefix("file://")).read_text() for url in written]
    assert texts == [f'{{"external_id": "inv-{n}"}}\n' for n in range(4)]
