"""OpenLineage: what a sync, the ledger export and the reconcile operator read and wrote.

One naming scheme (``docs/lineage.md``), the same string as the ``thredfi`` Asset URI, so lineage
backends and Airflow's Assets agree:

- a business's resource: namespace ``thredfi://<host>[:<port>]``, name
  ``businesses/<business_id>/<resource path>`` (``businesses/6f1c…/invoices``); the businesses
  themselves: ``businesses``;
- a file an operator wrote (the details report, the ledger export, the reconcile report): the
  OpenLineage naming of its store (namespace ``file`` and the absolute path; ``s3://bucket`` and
  the key);
- the source: a :class:`~thredfi_provider.operators.sources.SqlRecords` query, parsed by the
  OpenLineage provider's SQL parser with its connection's dialect and database; a list, an XCom
  or a callable names no dataset.

Only Airflow's OpenLineage listener calls into this module (through
``get_openlineage_facets_on_complete``): without the ``openlineage`` extra nothing here is
imported, and a DAG file that imports an operator pays nothing for it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

log = logging.getLogger(__name__)

SCHEME = "thredfi"


def namespace(base_url: str) -> str:
    """``thredfi://<host>[:<port>]`` for the Thredfi environment a connection points at."""
    return f"{SCHEME}://{urlsplit(base_url).netloc.lower()}"


def resource_name(business_id: str | None, resource_path: str) -> str:
    path = resource_path.strip("/")
    return path if business_id is None or path == "businesses" else f"businesses/{business_id}/{path}"


def asset_uri(base_url: str, business_id: str | None, resource_path: str) -> str:
    """The Asset URI of the same dataset: ``thredfi://<host>/businesses/<id>/invoices``."""
    return f"{namespace(base_url)}/{resource_name(business_id, resource_path)}"


def file_dataset(url: str) -> Any:
    """A file an operator wrote, named as OpenLineage names files in its store."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    parts = urlsplit(str(url))
    if parts.scheme in ("", "file"):
        return Dataset(namespace="file", name=parts.path if parts.scheme else str(url))
    bucket = parts.hostname or parts.netloc.rsplit("@", 1)[-1]  # s3://conn@bucket/key -> bucket
    return Dataset(namespace=f"{parts.scheme}://{bucket}", name=parts.path.lstrip("/"))


def sql_inputs(source: Any) -> list[Any]:
    """The tables a ``SqlRecords`` query reads, as the OpenLineage SQL parser names them.

    With the connection's database info (PostgreSQL, Snowflake, ...), the OpenLineage provider's
    own helper, as ``SQLExecuteQueryOperator`` uses it. A hook without it (SQLite) still names its
    tables: the parsed query's tables, in the namespace ``<conn type>://<host>``.
    """
    conn_id, sql = getattr(source, "conn_id", None), getattr(source, "sql", None)
    if not conn_id or not sql:
        return []
    try:
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.sqlparser import SQLParser, get_openlineage_facets_with_sql

        from thredfi_provider.compat import BaseHook

        hook: Any = BaseHook.get_hook(conn_id)
        found = get_openlineage_facets_with_sql(hook=hook, sql=sql, conn_id=conn_id, database=None,
                                                use_connection=False)  # fmt: skip
        if found is not None:
            return list(found.inputs)
        connection = hook.get_connection(conn_id)
        parsed = SQLParser(
            dialect=getattr(hook, "get_openlineage_database_dialect", lambda _c: None)(connection)
        ).parse(sql)
        where = f"{connection.conn_type}://{connection.host or ''}"
        return [
            Dataset(namespace=where, name=table.qualified_name)
            for table in (parsed.in_tables if parsed else [])
        ]
    except Exception as exc:  # lineage is best effort: it never fails the task it describes
        log.info("Thredfi lineage: could not read the tables of %s's query: %s", conn_id, exc)
        return []


def lineage(
    base_url: str,
    resource_path: str,
    written: Mapping[str | None, int],
    *,
    source: Any = None,
    files: Iterable[str | None] = (),
    read_only: bool = False,
) -> OperatorLineage[Any, Any]:
    """Inputs and outputs of one run: ``written`` is the rows each business's resource received.

    ``read_only`` (the ledger export, reconcile): the Thredfi datasets (and reconcile's source) are
    inputs and the files are the outputs; otherwise the source is the input, and Thredfi's datasets
    (with their row counts) and the details report are the outputs.
    """
    from airflow.providers.common.compat.openlineage.facet import (
        Dataset,
        OutputDataset,
        OutputStatisticsOutputDatasetFacet,
    )
    from airflow.providers.openlineage.extractors import OperatorLineage

    ns = namespace(base_url)
    written_files = [file_dataset(url) for url in files if url]
    if read_only:
        thredfi = [
            Dataset(namespace=ns, name=resource_name(b, resource_path)) for b in sorted(written, key=str)
        ]
        return OperatorLineage(inputs=[*thredfi, *sql_inputs(source)], outputs=written_files)
    outputs = [
        OutputDataset(
            namespace=ns,
            name=resource_name(business_id, resource_path),
            outputFacets={"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=rows)},
        )
        for business_id, rows in sorted(written.items(), key=lambda item: str(item[0]))
    ]
    return OperatorLineage(inputs=sql_inputs(source), outputs=[*outputs, *written_files])
