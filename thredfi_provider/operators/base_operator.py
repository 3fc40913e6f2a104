"""What every Thredfi operator shares: the hook, and turning client errors into task states."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from thredfi_provider.compat import BaseOperator
from thredfi_provider.hooks.thredfi import ThredfiHook


class ThredfiBaseOperator(BaseOperator):
    """Base for Thredfi operators.

    :param thredfi_conn_id: the ``thredfi`` connection (default ``thredfi_default``).
    """

    template_fields: Sequence[str] = ("thredfi_conn_id",)
    ui_color = "#e8f1fb"

    def __init__(self, *, thredfi_conn_id: str = ThredfiHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.thredfi_conn_id = thredfi_conn_id

    @cached_property
    def hook(self) -> ThredfiHook:
        return ThredfiHook(thredfi_conn_id=self.thredfi_conn_id)


@contextmanager
def task_state_from_errors() -> Generator[None]:
    """Permanent Thredfi errors fail the task without retries; transient ones keep Airflow's retries."""
    from thredfi_provider.client.errors import ThredfiError
    from thredfi_provider.compat import AirflowFailException

    try:
        yield
    except ThredfiError as exc:
        if exc.retryable:
            raise
        raise AirflowFailException(str(exc)) from exc
