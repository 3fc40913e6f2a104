"""The sync operators' options, checked when the DAG is parsed: a wrong one fails before any run."""

from __future__ import annotations

from typing import Literal

from thredfi_provider.client.resources import RESOURCES, resolve

OnConflict = Literal["fail", "warn"]
OnMissing = Literal["ignore", "void", "archive"]


def check_options(
    *,
    on_conflict: str,
    chunk_size: int,
    on_missing: str,
    state_path: str | None,
    full_snapshot: bool,
    full_refresh_every_days: int | None,
    resource_path: str,
) -> None:
    if on_conflict not in ("fail", "warn"):
        raise ValueError(f"on_conflict must be 'fail' or 'warn', got {on_conflict!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if on_missing not in ("ignore", "void", "archive"):
        raise ValueError(f"on_missing must be 'ignore', 'void' or 'archive', got {on_missing!r}")
    if on_missing != "ignore" and not (state_path and full_snapshot):
        raise ValueError(
            f"on_missing={on_missing!r} removes what the source no longer has: it needs state_path "
            "(what was synced before) and full_snapshot=True (the source is every record)"
        )
    removal = resolve(resource_path).removal
    if on_missing != "ignore" and (removal is None or removal[0] != on_missing):
        # How mirror mode removes a record is the registry's: bills have no published void and
        # vendors no published archive.
        supported = ", ".join(f"{r.removal[0]!r} for {r.path}" for r in RESOURCES.values() if r.removal)
        raise ValueError(
            f"on_missing={on_missing!r}: Thredfi publishes no way to {on_missing} {resource_path}; "
            f"mirror mode supports {supported}"
        )
    if full_refresh_every_days is not None and full_refresh_every_days < 1:
        raise ValueError(f"full_refresh_every_days must be at least 1, got {full_refresh_every_days}")
