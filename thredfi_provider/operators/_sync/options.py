"""The sync operators' options, checked when the DAG is parsed: a wrong one fails before any run."""

from __future__ import annotations

from typing import Literal

OnConflict = Literal["fail", "warn"]
OnMissing = Literal["ignore", "void", "archive"]
# How mirror mode removes a record, per resource path: the published action and the state it
# reaches. Bills have no published void and vendors no published archive.
REMOVALS = {"invoices": ("void", "void"), "customers": ("archive", "archived")}


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
    if on_missing != "ignore" and REMOVALS.get(resource_path, ("",))[0] != on_missing:
        supported = ", ".join(f"{action!r} for {path}" for path, (action, _) in REMOVALS.items())
        raise ValueError(
            f"on_missing={on_missing!r}: Thredfi publishes no way to {on_missing} {resource_path}; "
            f"mirror mode supports {supported}"
        )
    if full_refresh_every_days is not None and full_refresh_every_days < 1:
        raise ValueError(f"full_refresh_every_days must be at least 1, got {full_refresh_every_days}")
