"""Where a sync's records come from, read lazily so a million rows never sit in memory at once.

A source is a list, a rendered XCom or JSON string, a callable (a generator is welcome), or a
query in a database Airflow has a connection for (:class:`SqlRecords`). The operators pull
records from it ``chunk_size`` at a time; nothing here reads ahead of what they ask for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from thredfi_provider.compat import Context

T = TypeVar("T")


class SqlRecords:
    """Records from a query, run inside the task through the connection's common-sql hook.

    Rows become dicts keyed by the query's column names, fetched ``fetch_size`` at a time from a
    server-side cursor where the driver has one (:func:`streaming_cursor`), so the task never
    holds the result set. The query's connection (and, for PostgreSQL, its transaction) stays
    open while the sync runs and is closed when it ends, failed or not.

    ``sql`` and ``parameters`` are templated (Airflow renders them with the operator's fields).
    Bind the interval as parameters rather than formatting it into the SQL.

    .. seealso:: :doc:`/operators/parties` (an example DAG streams customers and vendors with
        it) and :doc:`/scale`
    """

    template_fields: Sequence[str] = ("conn_id", "sql", "parameters")

    def __init__(
        self,
        *,
        conn_id: str,
        sql: str,
        parameters: Mapping[str, Any] | Sequence[Any] | None = None,
        fetch_size: int = 5_000,
    ) -> None:
        if fetch_size < 1:
            raise ValueError(f"fetch_size must be at least 1, got {fetch_size}")
        self.conn_id = conn_id
        self.sql = sql
        self.parameters = parameters
        self.fetch_size = fetch_size

    def __repr__(self) -> str:  # what the UI shows for the rendered field
        return f"SqlRecords(conn_id={self.conn_id!r}, sql={self.sql!r}, parameters={self.parameters!r})"

    def __iter__(self) -> Iterator[dict[str, Any]]:
        from thredfi_provider.compat import BaseHook

        hook = BaseHook.get_hook(self.conn_id)
        get_conn = getattr(hook, "get_conn", None)
        if get_conn is None:
            raise TypeError(f"connection {self.conn_id!r} has no DB-API hook ({type(hook).__name__})")
        conn = get_conn()
        if not hasattr(conn, "cursor"):
            raise TypeError(f"connection {self.conn_id!r} is not a DB-API connection ({type(conn).__name__})")
        try:
            cursor = streaming_cursor(conn)
            try:
                if self.parameters is None:
                    cursor.execute(self.sql)
                else:
                    cursor.execute(self.sql, self.parameters)
                columns = [str(d[0]) for d in cursor.description or ()]
                while rows := cursor.fetchmany(self.fetch_size):
                    for row in rows:
                        yield dict(zip(columns, row, strict=True))
            finally:
                cursor.close()
        finally:
            conn.close()


def streaming_cursor(conn: Any) -> Any:
    """A cursor that fetches rows from the server as they are asked for, where the driver has one.

    A plain psycopg2 or MySQLdb cursor loads the whole result at ``execute``, which would make
    ``fetch_size`` bound nothing: PostgreSQL (psycopg2 and psycopg 3) gets a named, server-side
    cursor, MySQL an unbuffered ``SSCursor``. Other drivers (SQLite, Snowflake, most DB-API
    drivers) already fetch lazily, or have no such cursor, and get the default.
    """
    module = type(conn).__module__.split(".")[0]
    if module in ("psycopg2", "psycopg"):
        return conn.cursor(name="thredfi_records")
    if module in ("MySQLdb", "pymysql"):
        cursors = __import__(f"{module}.cursors", fromlist=["SSCursor"])
        return conn.cursor(cursors.SSCursor)
    return conn.cursor()


RecordsSource = (
    Sequence[Mapping[str, Any]] | Callable[..., Iterable[Mapping[str, Any]]] | SqlRecords | str | None
)


def iter_records(source: RecordsSource, context: Context) -> Iterator[Mapping[str, Any]]:
    """The source's records, one at a time, in the source's order."""
    if source is None:
        return iter(())
    if isinstance(source, SqlRecords):
        return iter(source)
    if callable(source):
        # Decide from the signature, never by catching TypeError: that would run a callable a
        # second time when its own body raises TypeError.
        produced = call_with_context(source, context)
        if isinstance(produced, Mapping):
            return iter((produced,))
        return iter(produced if produced is not None else ())
    if isinstance(source, str):
        parsed = json.loads(source) if source.strip() else []
        return iter(parsed if isinstance(parsed, list) else [parsed])
    if isinstance(source, Mapping):
        return iter((source,))
    return iter(source)


def load_records(source: RecordsSource, context: Context) -> list[Mapping[str, Any]]:
    """Every record at once, for the operators that need them all (a reconciliation)."""
    return list(iter_records(source, context))


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter), read as they are needed."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def call_with_context(func: Callable[..., Any], context: Context) -> Any:
    """Call a records callable with what its signature asks for, as Airflow's callables are.

    Parameters named like context keys (``ds``, ``ti``, ``data_interval_start`` ...) get those
    values, ``**kwargs`` gets the whole context, and one other required positional parameter
    (``def rows(context)``) gets the context itself. Decided from the signature, never by
    catching ``TypeError``, which would run the callable twice when its own body raises it.
    """
    import inspect

    parameters = inspect.signature(func).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        kwargs = dict(context)
    else:
        kwargs = {name: context[name] for name in parameters if name in context}  # type: ignore[literal-required]
    missing = [
        p
        for p in parameters.values()
        if p.name not in kwargs
        and p.default is p.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(missing) > 1:
        raise TypeError(
            f"records callable {getattr(func, '__name__', func)!r} needs {[p.name for p in missing]}; "
            "give it one context parameter, or parameters named like context keys"
        )
    if missing and missing[0].kind is missing[0].POSITIONAL_ONLY:
        return func(context, **kwargs)
    if missing:
        kwargs[missing[0].name] = context
    return func(**kwargs)
