"""Airflow-free Thredfi client (usable from scripts, notebooks and the trigger alike).

Names resolve lazily, so importing ``thredfi_provider.client.errors`` (as operator modules do
for typing) does not pay for requests and tenacity at DAG-parse time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thredfi_provider.client.client import ClientStats, CreateResult, ThredfiClient
    from thredfi_provider.client.errors import (
        PERMANENT_ERRORS,
        ThredfiAuthError,
        ThredfiConflictError,
        ThredfiConnectionError,
        ThredfiError,
        ThredfiNotFoundError,
        ThredfiPermissionError,
        ThredfiRateLimitError,
        ThredfiRecordError,
        ThredfiServerError,
        ThredfiTransientError,
        ThredfiValidationError,
    )
    from thredfi_provider.client.settings import (
        ENVIRONMENTS,
        ClientSettings,
        InsecureURLError,
        resolve_base_url,
    )

_HOMES = {
    "client": ("ClientStats", "CreateResult", "ThredfiClient"),
    "errors": (
        "PERMANENT_ERRORS",
        "ThredfiAuthError",
        "ThredfiConflictError",
        "ThredfiConnectionError",
        "ThredfiError",
        "ThredfiNotFoundError",
        "ThredfiPermissionError",
        "ThredfiRateLimitError",
        "ThredfiRecordError",
        "ThredfiServerError",
        "ThredfiTransientError",
        "ThredfiValidationError",
    ),
    "settings": ("ENVIRONMENTS", "ClientSettings", "InsecureURLError", "resolve_base_url"),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}
__all__ = [
    "ENVIRONMENTS",
    "PERMANENT_ERRORS",
    "ClientSettings",
    "ClientStats",
    "CreateResult",
    "InsecureURLError",
    "ThredfiAuthError",
    "ThredfiClient",
    "ThredfiConflictError",
    "ThredfiConnectionError",
    "ThredfiError",
    "ThredfiNotFoundError",
    "ThredfiPermissionError",
    "ThredfiRateLimitError",
    "ThredfiRecordError",
    "ThredfiServerError",
    "ThredfiTransientError",
    "ThredfiValidationError",
    "resolve_base_url",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
