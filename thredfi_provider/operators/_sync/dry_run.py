"""``dry_run=True``: the whole sync runs and decides, and no write leaves the worker.

Wrapping the client, not branching the sync, keeps one code path: what a dry run reports is
what a real run would do, because it *is* the real run up to the write. Reads go through; a
create, update or action answers as Thredfi would on success, and is never sent. The plan reads
what Thredfi holds by a pass of pages (a per-record plan creates first, which is a write).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from thredfi_provider.client.client import CreateResult

if TYPE_CHECKING:
    from thredfi_provider.client.client import ResourceRef, ThredfiClient

# What a record looks like after each published action, for the sync's own checks.
AFTER_ACTION: dict[str, dict[str, Any]] = {
    "void": {"status": "void"},
    "archive": {"is_archived": True},
    "unarchive": {"is_archived": False},
}


class DryRunClient:
    """A :class:`~thredfi_provider.client.client.ThredfiClient` whose writes are only planned."""

    def __init__(self, client: ThredfiClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def create(self, business_id: str | None, resource: ResourceRef, payload: Mapping[str, Any],
               **_: Any) -> CreateResult:  # fmt: skip
        return CreateResult(record={**payload, "id": None}, created=True)

    def create_business(self, payload: Mapping[str, Any]) -> CreateResult:
        return CreateResult(record={**payload, "id": None}, created=True)

    def update(self, business_id: str | None, resource: ResourceRef, record_id: str,
               payload: Mapping[str, Any], **_: Any) -> dict[str, Any]:  # fmt: skip
        return {**payload, "id": record_id}

    def update_business(self, business_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        return {**payload, "id": business_id}

    def action(self, business_id: str, resource: ResourceRef, record_id: str, action: str) -> dict[str, Any]:
        return {"id": record_id, **AFTER_ACTION.get(action, {})}

    def request(self, method: str, path: str, **options: Any) -> Any:
        return self._client.request(_read_only(method, path), path, **options)

    def request_json(self, method: str, path: str, **options: Any) -> Any:
        return self._client.request_json(_read_only(method, path), path, **options)


def _read_only(method: str, path: str) -> str:
    if method.upper() not in ("GET", "HEAD", "OPTIONS"):
        raise RuntimeError(f"dry_run: refusing to send {method.upper()} {path}")
    return method
