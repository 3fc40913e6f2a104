"""The operators a DAG imports; the machinery behind them is internal (``_sync``, ``_lineage``).

Modules moved here keep their old import paths until 2.0, with a warning (:doc:`/changelog`).
"""

from thredfi_provider._deprecations import add_moved_modules

_SYNC = "thredfi_provider.operators._sync"

add_moved_modules(
    __name__,
    {
        # Moved in 1.x: the sync machinery became the internal package ``_sync``.
        "job_runner": (f"{_SYNC}.record_outcome", f"{_SYNC}.batch_runner"),
        "task_policy": ("thredfi_provider.hooks.task_state",),
        "business_lookups": (f"{_SYNC}.lookups",),
        "sync_plan": (f"{_SYNC}.lookups",),
        "remembered": (f"{_SYNC}.remembered",),
        "dedup": (f"{_SYNC}.scratch",),
        "packed": (f"{_SYNC}.scratch",),
        "chunk_validation": (f"{_SYNC}.chunks",),
        "details_report": (f"{_SYNC}.report_storage",),
        "sync_state": (f"{_SYNC}.state",),
        "sync_run": (f"{_SYNC}.run",),
        "sync_fields": (f"{_SYNC}.wire_fields",),
        "sync_options": (f"{_SYNC}.options",),
        "ambiguous": (f"{_SYNC}.read_back",),
        "dry_run": (f"{_SYNC}.dry_run",),
        "progress": (f"{_SYNC}.progress",),
        "lineage": ("thredfi_provider.operators._lineage",),
        "deprecated": ("thredfi_provider.operators._deprecated",),
        # Renamed before: the modules' first names.
        "base": ("thredfi_provider.operators.base_operator",),
        "sync": ("thredfi_provider.operators.sync_operator",),
        "lookups": (f"{_SYNC}.lookups",),
        "batch": (
            f"{_SYNC}.record_outcome",
            f"{_SYNC}.batch_runner",
            "thredfi_provider.hooks.task_state",
        ),
    },
)
