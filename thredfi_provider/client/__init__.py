"""Airflow-free Thredfi client (usable from scripts, notebooks and the trigger alike)."""

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
from thredfi_provider.client.settings import ENVIRONMENTS, ClientSettings, InsecureURLError, resolve_base_url

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
