"""The renamed operators' shared shims: the warning naming what replaced them, their old return.

The old operator names promised what they did not do ("upsert" created only); the new names say
what happens. Each alias keeps its old return value, so DAGs that index it keep working until
migrated (:mod:`thredfi_provider._deprecations` holds the policy and the removal version).
"""

from __future__ import annotations

from typing import Any

from thredfi_provider._deprecations import REMOVAL, warn_deprecated

__all__ = ["REMOVAL", "ids_only", "warn_deprecated", "warn_renamed"]


def warn_renamed(old: str, new: str) -> None:
    warn_deprecated(
        old,
        new,
        why=", which returns the sync summary (created/updated/unchanged/voided/conflicts/failed/ids)",
        stacklevel=5,  # warn_deprecated, this, the operator's __init__, Airflow's apply_defaults, the caller
    )


def ids_only(summary: Any) -> dict[str, str]:
    """The old return value of the onboarding and party operators: ``{external_id: id}``."""
    return dict(summary.ids)
