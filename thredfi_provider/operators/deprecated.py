"""Old operator names, kept working for a release with a deprecation warning.

They promised what they did not do ("upsert" created only); the new names say what happens.
Each alias keeps its old return value, so DAGs that index it keep working until migrated.
"""

from __future__ import annotations

import warnings
from typing import Any


def warn_renamed(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is deprecated; use {new}, which returns the sync summary "
        "(created/updated/unchanged/voided/conflicts/failed/ids)",
        DeprecationWarning,
        stacklevel=3,
    )


def ids_only(summary: Any) -> dict[str, str]:
    """The old return value of the onboarding and party operators: ``{external_id: id}``."""
    return dict(summary.ids)
