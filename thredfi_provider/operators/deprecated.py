"""Old names, kept working until a stated release, as Airflow's providers deprecate.

The old operator names promised what they did not do ("upsert" created only); the new names say
what happens. Each alias keeps its old return value, so DAGs that index it keep working until
migrated. Every warning is ``AirflowProviderDeprecationWarning`` and names :data:`REMOVAL`; the
changelog lists each shim and when it goes, and the test suite turns the provider's deprecation
warnings into errors everywhere but the tests of the shims themselves.
"""

from __future__ import annotations

import warnings
from typing import Any

#: The release that removes every shim below.
REMOVAL = "2.0"


def warn_deprecated(old: str, new: str, *, why: str = "", stacklevel: int = 4) -> None:
    """``<old> is deprecated and will be removed in 2.0; use <new>`` (Airflow's category)."""
    from thredfi_provider.compat import AirflowProviderDeprecationWarning

    warnings.warn(
        f"{old} is deprecated and will be removed in {REMOVAL}; use {new}{why}",
        AirflowProviderDeprecationWarning,
        stacklevel=stacklevel,
    )


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
