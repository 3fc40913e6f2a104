"""The one seam between the provider and Airflow: every Airflow import goes through here.

Airflow moved the names a provider needs between 2.11 and 3.x (``airflow.models.baseoperator`` to
``airflow.sdk``, ``Dataset`` to ``Asset``, exceptions to ``airflow.sdk.exceptions``), and added
features that only newer lines have. Keeping every import and every version check in this module
means the rest of the provider reads as if there were one Airflow, and supporting a new line (or
dropping an old one) is a change to one file.

Names resolve lazily (PEP 562): importing this module costs a version parse, not the SDK, so a DAG
file that imports one operator pays only for what that operator touches. A name is looked up in
``apache-airflow-providers-common-compat`` (which tries the SDK path first, then the Airflow 2
one) unless this module knows a better home for it; once found it is cached in the module.

Gated features (each degrades cleanly on an older Airflow; ``docs/quickstart.md`` says how):

- **Assets** (3.0+). On 2.11 ``Asset`` is Airflow's ``Dataset``, with the same URI and the same
  scheduling; the UI calls it a dataset.
- **Declarative** ``conn-fields`` (3.2+). Older lines read the connection form from the hook's
  ``get_connection_form_widgets``/``get_ui_field_behaviour``, built from the same definitions.
- **Retry policies** (3.3+). :func:`retry_policy_kwargs` passes a policy where Airflow has them
  and nothing below, where the task's ``retries`` apply (permanent Thredfi errors still fail at
  once through ``AirflowFailException``).
- **Backoff multipliers** (3.2+). :func:`exponential_backoff` gives older lines ``True``, their
  doubling backoff, in place of a multiplier they would refuse at parse time.
- **ResumableJobMixin** (3.3+). Below, common-compat's stand-in submits a new job on every try,
  which is what the provider's idempotent creates already make safe.
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION_STRING

if TYPE_CHECKING:
    from airflow.exceptions import AirflowProviderDeprecationWarning
    from airflow.providers.common.compat.connection import get_async_connection
    from airflow.sdk import (
        Asset,
        BaseHook,
        BaseOperator,
        BaseSensorOperator,
        Context,
        CronDataIntervalTimetable,
        ObjectStoragePath,
        Param,
        PokeReturnValue,
        ResumableJobMixin,
        XComArg,
        conf,
        dag,
        task,
        task_group,
    )
    from airflow.sdk.definitions.retry_policy import RetryPolicy
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )
    from airflow.sdk.log import mask_secret
    from airflow.triggers.base import BaseTrigger, TriggerEvent

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_VERSION_STRING",
    "HAS_ASSETS",
    "HAS_BACKOFF_MULTIPLIER",
    "HAS_DECLARATIVE_CONN_FIELDS",
    "HAS_RESUMABLE_JOBS",
    "HAS_RETRY_POLICY",
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowProviderDeprecationWarning",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "Asset",
    "BaseHook",
    "BaseOperator",
    "BaseSensorOperator",
    "BaseTrigger",
    "Context",
    "CronDataIntervalTimetable",
    "ObjectStoragePath",
    "Param",
    "PokeReturnValue",
    "ResumableJobMixin",
    "RetryPolicy",
    "TriggerEvent",
    "XComArg",
    "conf",
    "dag",
    "exponential_backoff",
    "get_async_connection",
    "mask_secret",
    "retry_policy_kwargs",
    "task",
    "task_group",
]


def _minor(version: str) -> tuple[int, int]:
    """``"3.1.8"``, ``"2.11.0.dev0"``, ``"3.3.0rc1"`` -> (major, minor); no ``packaging`` needed."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        raise RuntimeError(f"cannot read Airflow's version from {version!r}")
    return int(match.group(1)), int(match.group(2))


AIRFLOW_VERSION: tuple[int, int] = _minor(AIRFLOW_VERSION_STRING)
#: Assets (3.0+); on 2.11 ``Asset`` is ``airflow.datasets.Dataset``.
HAS_ASSETS = AIRFLOW_VERSION >= (3, 0)
#: The providers manager reads ``conn-fields`` from provider info (3.2+); older lines ask the hook.
HAS_DECLARATIVE_CONN_FIELDS = AIRFLOW_VERSION >= (3, 2)
#: ``retry_policy=`` on operators (3.3+).
HAS_RETRY_POLICY = AIRFLOW_VERSION >= (3, 3)
#: ``ResumableJobMixin`` with a task state store to resume from (3.3+).
HAS_RESUMABLE_JOBS = AIRFLOW_VERSION >= (3, 3)
#: ``retry_exponential_backoff`` takes a multiplier (3.2+); before, a bool whose growth is doubling.
HAS_BACKOFF_MULTIPLIER = AIRFLOW_VERSION >= (3, 2)

# Names common-compat does not map (or maps somewhere less direct): where to look, newest first.
_OWN_PATHS: dict[str, tuple[str, ...]] = {
    "CronDataIntervalTimetable": ("airflow.sdk", "airflow.timetables.interval"),
    "BaseTrigger": ("airflow.triggers.base",),
    "TriggerEvent": ("airflow.triggers.base",),
    "get_async_connection": ("airflow.providers.common.compat.connection",),
    "AirflowProviderDeprecationWarning": ("airflow.exceptions",),
}
# Where Airflow 3 keeps a name, tried first on 3.x so a DAG file pays nothing beyond the
# ``airflow.sdk`` it already imported (common-compat's import costs a few ms per parse). A name
# missing there (one 3.0 kept elsewhere, a 3.3 feature on an older 3.x) falls to common-compat.
_SDK_EXCEPTIONS = ("AirflowException", "AirflowFailException", "AirflowNotFoundException",
                   "AirflowSensorTimeout", "AirflowSkipException")  # fmt: skip
_SDK_HOMES: dict[str, str] = {
    **dict.fromkeys(_SDK_EXCEPTIONS, "airflow.sdk.exceptions"),
    "mask_secret": "airflow.sdk.log",
    "RetryPolicy": "airflow.sdk.definitions.retry_policy",
}
# Only where Airflow has them: asking for one below 3.3 is a bug the caller should see at once.
_NEEDS_3_3 = {"RetryPolicy"}


def __getattr__(name: str) -> Any:
    """Resolve an Airflow name on first use and cache it here (PEP 562)."""
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _NEEDS_3_3 and not HAS_RETRY_POLICY:
        raise AttributeError(
            f"{name} needs Airflow 3.3 or later (this is {AIRFLOW_VERSION_STRING}); "
            "use retry_policy_kwargs(), which degrades to Airflow's retries"
        )
    value: Any
    if name in _OWN_PATHS:
        value = _first(name, _OWN_PATHS[name])
    elif name in __all__:
        value = _from_sdk(name) if HAS_ASSETS else None
        if value is None:
            from airflow.providers.common.compat import sdk

            value = getattr(sdk, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def _from_sdk(name: str) -> Any:
    try:
        return getattr(importlib.import_module(_SDK_HOMES.get(name, "airflow.sdk")), name)
    except (ImportError, AttributeError):
        return None


def _first(name: str, modules: tuple[str, ...]) -> Any:
    for module in modules:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise AttributeError(f"{name} is in none of {', '.join(modules)} on Airflow {AIRFLOW_VERSION_STRING}")


def retry_policy_kwargs(policy: RetryPolicy | None) -> dict[str, Any]:
    """``{"retry_policy": policy}`` where Airflow has retry policies (3.3+), else ``{}``.

    Below 3.3 an operator given a policy keeps the task's ``retries``/``retry_delay``: the
    provider's permanent errors fail at once anyway (``AirflowFailException``), so what is lost is
    only the finer choice a policy makes among retryable ones.
    """
    if policy is None or not HAS_RETRY_POLICY:
        return {}
    return {"retry_policy": policy}


def exponential_backoff(multiplier: float = 2.0) -> float | bool:
    """A ``retry_exponential_backoff`` value every supported line accepts.

    3.2 and later take the multiplier; older lines take only ``True``, which doubles the delay
    each try, so a multiplier of 2 means the same everywhere and another degrades to doubling.
    """
    if HAS_BACKOFF_MULTIPLIER:
        return multiplier
    return multiplier > 1
