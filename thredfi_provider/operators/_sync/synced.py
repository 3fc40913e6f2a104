"""What the sync machinery needs of the operator it runs for, so it never imports the operator.

:class:`~thredfi_provider.operators.sync_operator.ThredfiSyncOperator` is the one implementation;
the run (:mod:`.run`) is typed against this protocol instead, which keeps the import graph a
tree: the operator imports its machinery, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.resources import Resource
    from thredfi_provider.operators._sync.batch_runner import Job
    from thredfi_provider.operators._sync.batch_summary import BatchSummary
    from thredfi_provider.operators._sync.lookups import BusinessLookups, NotLooked, Record
    from thredfi_provider.operators._sync.options import OnMissing
    from thredfi_provider.operators._sync.record_outcome import Outcome
    from thredfi_provider.operators._sync.scratch import SeenKeys


class SyncedOperator(Protocol):
    """The options a sync reads and the per-record steps it calls."""

    what: ClassVar[str]
    resource: ClassVar[Resource]
    planned: ClassVar[bool]
    records: Any
    chunk_size: int
    max_workers: int
    plan_only: bool
    state_path: str | None
    state_conn_id: str | None
    thredfi_conn_id: str
    on_missing: OnMissing
    full_refresh: bool
    full_refresh_every_days: int | None
    lineage_facts: dict[str, Any] | None

    def validate(
        self, chunk: list[tuple[int, Mapping[str, Any]]], summary: BatchSummary, seen: SeenKeys
    ) -> dict[str, list[tuple[str, Any]]]: ...

    def job(self, client: ThredfiClient, lookups: BusinessLookups, label: str, record: Any) -> Job: ...

    def render(self, lookups: BusinessLookups, label: str, record: Any) -> dict[str, Any]: ...

    def read(self, client: ThredfiClient, lookups: BusinessLookups, record_id: str) -> Record: ...

    def sync(
        self, client: ThredfiClient, lookups: BusinessLookups, record: Any, payload: dict[str, Any],
        held: Record | NotLooked | None,
    ) -> Outcome: ...  # fmt: skip

    def change(
        self, client: ThredfiClient, lookups: BusinessLookups, record: Any, payload: dict[str, Any],
        held: Record, diff: Differences,
    ) -> Outcome: ...  # fmt: skip
