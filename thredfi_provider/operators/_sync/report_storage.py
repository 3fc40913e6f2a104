"""Where a large batch's per-record report is written, and how it is named.

Any ``ObjectStoragePath`` target works (a local path, ``s3://``, ``gs://``), resolved only when
a report is published, so a small batch never touches storage. Reports are named per mapped
instance and try: instances sharing one ``details_path``, or a retry, never overwrite (and so
mis-attribute) another's report.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from typing import IO, Any


def details_publisher(ti: Any, details_path: str | None, conn_id: str | None) -> Callable[[IO[str]], str]:
    """The ``publish`` a sync hands its summary: ``details_path``, or beside the task's logs."""

    def publish(spool: IO[str]) -> str:
        target = details_path or default_details_path(ti)
        if target.endswith(".jsonl"):
            target = target.removesuffix(".jsonl") + "." + report_name(ti)
        else:
            target = target.rstrip("/") + "/" + report_name(ti)
        return publish_to(target, conn_id)(spool)

    return publish


def publish_to(url: str, conn_id: str | None = None) -> Callable[[IO[str]], str]:
    """A ``publish`` that copies the spool to ``url`` (a local path or an fsspec URL)."""

    def publish(spool: IO[str]) -> str:
        path = storage_path(url, conn_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            shutil.copyfileobj(spool, out, length=1 << 20)
        return str(path)

    return publish


def default_details_path(ti: Any) -> str:
    """Beside the task's logs: ``{base_log_folder}/thredfi/dag_id=…/run_id=…/task_id=…/``.

    On a distributed deployment that folder is on the worker that ran the task; set
    ``details_path`` to shared storage when downstream tasks read the report elsewhere.
    """
    from thredfi_provider.compat import conf

    base = conf.get("logging", "base_log_folder", fallback=None) or tempfile.gettempdir()
    parts = [f"dag_id={ti.dag_id}", f"run_id={ti.run_id}", f"task_id={ti.task_id}"]
    return "/".join([base.rstrip("/"), "thredfi", *(_safe(p) for p in parts)]) + "/"


def report_name(ti: Any) -> str:
    """One file per mapped instance and try, so a retry never overwrites what a try reported."""
    map_index = getattr(ti, "map_index", -1)
    mapped = f"map_index={map_index}_" if map_index is not None and map_index >= 0 else ""
    return f"{mapped}attempt={getattr(ti, 'try_number', 1)}.jsonl"


def _safe(part: str) -> str:
    return part.replace("/", "_")


def storage_path(url: str, conn_id: str | None = None) -> Any:
    if "://" not in url:
        url = "file://" + url
    from thredfi_provider.compat import ObjectStoragePath

    return ObjectStoragePath(url, conn_id=conn_id)
