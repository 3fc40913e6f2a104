"""Old names kept working until a stated release, as Airflow's providers deprecate.

Every shim warns with Airflow's ``AirflowProviderDeprecationWarning``, names its replacement and
:data:`REMOVAL`, and still works until then; the changelog lists each one. The test suite turns
the provider's deprecation warnings into errors everywhere but the shims' own tests.

Airflow-free on purpose, so the client's shims can use it too: the category is Airflow's
whenever Airflow is loaded (always, in a DAG file or a task), and a plain ``DeprecationWarning``
for a script that uses the client alone. Moved modules are registered the way Airflow's own
``add_deprecated_classes`` does it: a module object in ``sys.modules`` under the old name whose
attributes warn and resolve in the new module, so nothing is imported until an old name is used.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

#: The release that removes every shim.
REMOVAL = "2.0"


def category() -> type[Warning]:
    """``AirflowProviderDeprecationWarning`` when Airflow is loaded, else ``DeprecationWarning``."""
    if "airflow" not in sys.modules:
        return DeprecationWarning
    exceptions = importlib.import_module("airflow.exceptions")  # loaded with Airflow: no cost
    found: type[Warning] = getattr(exceptions, "AirflowProviderDeprecationWarning", DeprecationWarning)
    return found


def warn_deprecated(old: str, new: str, *, why: str = "", stacklevel: int = 3) -> None:
    """``<old> is deprecated and will be removed in 2.0; use <new>``, pointing at the caller."""
    warnings.warn(
        f"{old} is deprecated and will be removed in {REMOVAL}; use {new}{why}",
        category(),
        stacklevel=stacklevel,
    )


def add_moved_modules(package: str, moved: Mapping[str, Sequence[str]]) -> None:
    """Register ``package.<old>`` for each old module name, resolving in its new module(s).

    An old module whose contents were split lists several new modules; a name is looked up in
    each, in order. ``import package.old`` costs one empty module object; using a name warns.
    """
    for old, targets in moved.items():
        name = f"{package}.{old}"
        if name not in sys.modules:
            sys.modules[name] = _moved_module(name, tuple(targets))


def moved_names(module: str, moved: Mapping[str, str]) -> Any:
    """A module ``__getattr__`` for names that left a living module: ``{old name: "module:new"}``."""

    def __getattr__(attr: str) -> Any:
        if attr not in moved:
            raise AttributeError(f"module {module!r} has no attribute {attr!r}")
        target, _, new = moved[attr].partition(":")
        warn_deprecated(f"{module}.{attr}", f"{target}.{new}", stacklevel=3)
        found: Any = importlib.import_module(target)
        for part in new.split("."):  # "CUSTOMER.is_archived": an attribute of an object
            found = getattr(found, part)
        return found

    return __getattr__


def moved_to(module: str, targets: Sequence[str]) -> Any:
    """A module ``__getattr__`` for a module whose names moved, unrenamed, to ``targets``.

    A name is looked up in each target, in order; found, it warns and resolves; not found, it is
    the usual ``AttributeError``. Serves both a moved module's stand-in and a living module some
    of whose names left (``operators.summary``'s ``BatchSummary``).
    """

    def __getattr__(attr: str) -> Any:
        if not attr.startswith("__"):
            for target in targets:
                new = importlib.import_module(target)
                if hasattr(new, attr):
                    warn_deprecated(f"{module}.{attr}", f"{target}.{attr}", stacklevel=3)
                    return getattr(new, attr)
        raise AttributeError(f"module {module!r} (moved to {', '.join(targets)}) has no attribute {attr!r}")

    return __getattr__


def _moved_module(name: str, targets: tuple[str, ...]) -> types.ModuleType:
    module = types.ModuleType(name, f"Moved to {', '.join(targets)}; this name goes in {REMOVAL}.")
    module.__getattr__ = moved_to(name, targets)  # type: ignore[method-assign]
    return module
