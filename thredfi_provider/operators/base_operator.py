"""What every Thredfi operator shares: the hook, and turning client errors into task states."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from thredfi_provider.compat import BaseOperator
from thredfi_provider.hooks.thredfi import ThredfiHook

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient


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

    #: What the last ``execute`` read and wrote (see :func:`~.lineage.lineage`); set by each operator.
    lineage_facts: dict[str, Any] | None = None

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """What this run read and wrote, for Airflow's OpenLineage listener (:doc:`/lineage`)."""
        if self.lineage_facts is None:
            return None
        from thredfi_provider.operators.lineage import lineage

        return lineage(**self.lineage_facts)

    def client(self) -> ThredfiClient:
        """The hook's shared client; a missing or malformed connection fails without retries."""
        with task_state_from_errors():
            return self.hook.get_conn()


@contextmanager
def task_state_from_errors() -> Generator[None]:
    """Permanent errors fail the task without retries; transient ones keep Airflow's retries.

    Permanent: a 4xx, a record refused before sending, a malformed connection, a connection that
    does not exist. Retrying those only delays the message by the retries' backoff (five minutes
    and more with the examples' defaults), and each retry fails the same way.
    """
    from thredfi_provider.client.errors import ThredfiError
    from thredfi_provider.compat import AirflowFailException, AirflowNotFoundException
    from thredfi_provider.hooks.connection import ThredfiConnectionConfigError

    try:
        yield
    except ThredfiError as exc:
        if exc.retryable:
            raise
        raise AirflowFailException(str(exc)) from exc
    except ThredfiConnectionConfigError as exc:
        raise AirflowFailException(str(exc)) from exc
    except AirflowNotFoundException as exc:
        raise AirflowFailException(f"{exc} (create it, then clear the task; a retry cannot find it)") from exc
