"""The ``thredfi`` Asset URI scheme, registered in the provider info (``asset-uris``).

``thredfi://<host>[:<port>]/businesses/<business_id>/<resource path>`` names what a sync writes,
as its OpenLineage dataset does (namespace ``thredfi://<host>``, name the path; see
the operators' lineage), so an Asset a DAG schedules on and the lineage a
backend shows are the same thing. Airflow calls :func:`sanitize_uri` on every ``thredfi://`` Asset
a DAG declares, :func:`create_asset` builds one, and the OpenLineage provider calls
:func:`convert_asset_to_openlineage` for Assets in a task's inlets and outlets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult

if TYPE_CHECKING:
    from thredfi_provider.compat import Asset

SCHEME = "thredfi"


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """One spelling per dataset: the host lower-cased, :443 dropped, no trailing slash; a path required."""
    if not uri.netloc:
        raise ValueError("a thredfi:// Asset URI needs a host: thredfi://<host>/businesses/<id>/<resource>")
    path = uri.path.rstrip("/")
    if not path:
        raise ValueError("a thredfi:// Asset URI needs a path: thredfi://<host>/businesses/<id>/<resource>")
    netloc = uri.netloc.lower().removesuffix(":443")
    return uri._replace(netloc=netloc, path=path, query="", fragment="")


def create_asset(
    *, host: str, business_id: str | None = None, resource: str = "invoice", extra: Any = None
) -> Asset:
    """``create_asset(host="backend.thredfi.com", business_id=..., resource="invoice")``.

    ``resource`` is the registry's name (``bill_payment``) or the path itself (``bills/payments``,
    what the URI carries), so the Asset names the data the operators' lineage does.
    """
    from thredfi_provider.client.resources import resolve
    from thredfi_provider.compat import Asset

    resource = resolve(resource).path
    path = resource if business_id is None else f"businesses/{business_id}/{resource}"
    return Asset(uri=f"{SCHEME}://{host.lower()}/{path}", extra=extra)


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any) -> Any:
    """The OpenLineage dataset an operator's own lineage emits for the same data."""
    from urllib.parse import urlsplit

    from airflow.providers.common.compat.openlineage.facet import Dataset

    parsed = urlsplit(asset.uri)
    return Dataset(namespace=f"{SCHEME}://{parsed.netloc}", name=parsed.path.lstrip("/"))
