"""Per-app sandbox state and the helpers every route shares (auth scopes, paging, ids)."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from thredfi_provider.sandbox.config import SandboxConfig
from thredfi_provider.sandbox.errors import ApiError
from thredfi_provider.sandbox.store import Record, Store
from thredfi_provider.sandbox.tokens import BUSINESS_SCOPE, PARTNER_SCOPE, Claims, TokenAuthority

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

# The filters each list endpoint documents (CONTRACT.md §5), used only in strict mode: there any
# other query parameter is ignored, as a server that does not know it would, and every row comes
# back. ``page`` and ``page_size`` always apply. Invoice ``status`` is the pagination guide's
# example (§4); invoice payments publish descriptions only, so their names are the ones the
# sibling endpoints use for the same filters (invoices' ``customer_id``, bill payments' rest).
DOCUMENTED_FILTERS: dict[str, frozenset[str]] = {
    "businesses": frozenset({"country", "entity_type", "is_archived"}),
    "customers": frozenset(),  # the list's parameters were cut from every captured page
    "vendors": frozenset(
        {"external_id", "external_id_contains", "include_archived", "name", "name_contains"}
    ),
    "invoices": frozenset(
        {"customer_external_id", "customer_id", "due_at_start", "due_at_end", "max_amount", "status"}
    ),
    "payments": frozenset({"status", "customer_id", "invoice_id", "payment_date_start", "payment_date_end"}),
    "bills": frozenset(),  # no list parameters were captured for bills
    "bill_payments": frozenset(
        {"status", "payment_method", "vendor_id", "bill_id", "payment_date_start", "payment_date_end"}
    ),
    "journal_entries": frozenset({"date_from", "date_to", "status"}),
    "accounts": frozenset({"account_type"}),
}


@dataclass
class SandboxState:
    config: SandboxConfig
    store: Store
    tokens: TokenAuthority
    counters: collections.Counter[str] = field(default_factory=collections.Counter)

    @classmethod
    def create(cls, config: SandboxConfig) -> SandboxState:
        return cls(config, Store(config.db_path), TokenAuthority(config.signing_key, config.token_seconds))


def state_of(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def new_id() -> str:
    return str(uuid.uuid4())


def now_iso() -> str:
    """ISO 8601 UTC with microseconds always present, so timestamps also sort as strings."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def touched(previous: str | None) -> str:
    """A new ``updated_at``: now, but strictly after ``previous`` even within one microsecond, so
    an ``updated_at`` watermark never misses a change."""
    now = now_iso()
    if previous:
        last = dt.datetime.fromisoformat(previous.replace("Z", "+00:00"))
        if dt.datetime.fromisoformat(now.replace("Z", "+00:00")) <= last:
            later = last + dt.timedelta(microseconds=1)
            now = later.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return now


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def body_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def partner_claims(request: Request) -> Claims:
    """Partner-level endpoints: a partner token is required (a business token is refused)."""
    claims = state_of(request).tokens.verify(request.headers.get("Authorization"))
    if claims.scope != PARTNER_SCOPE:
        raise ApiError(403, "permission_denied", "This endpoint requires a partner (unscoped) token.")
    return claims


def owned_business(request: Request, partner_id: str, business_id: str) -> Record:
    business = state_of(request).store.get("businesses", business_id)
    if business is None or business["partner_id"] != partner_id:
        raise ApiError(404, "business_not_found", "Business not found.")
    return business


def business_context(request: Request, business_id: str) -> Record:
    """Business resources need a business-scoped token for exactly this business (the guides' rule)."""
    claims = state_of(request).tokens.verify(request.headers.get("Authorization"))
    if claims.scope != BUSINESS_SCOPE:
        raise ApiError(
            403, "permission_denied", "This endpoint requires a business-scoped token; verify business_id."
        )
    if claims.business_id != business_id:
        raise ApiError(403, "permission_denied", "Token business_id does not match the business in the path.")
    return owned_business(request, claims.partner_id, business_id)


def paginate(request: Request, items: list[Record], render: Any = None) -> dict[str, Any]:
    """Both published envelopes, or one of them, as configured (CONTRACT.md §4)."""
    try:
        page = int(request.query_params.get("page", 1))
        size = int(request.query_params.get("page_size", DEFAULT_PAGE_SIZE))
    except ValueError:
        raise ApiError(400, "validation_error", "Invalid page or page_size.") from None
    if page < 1 or size < 1:
        raise ApiError(400, "validation_error", "page and page_size must be positive.")
    size = min(size, MAX_PAGE_SIZE)
    total = len(items)
    total_pages = max(1, -(-total // size))
    if page > total_pages:
        raise ApiError(404, "not_found", "Invalid page.")
    chunk = items[(page - 1) * size : page * size]
    results = [render(r) for r in chunk] if render else chunk
    style = state_of(request).config.pagination
    body: dict[str, Any] = {"count": total}
    if style in ("both", "next"):
        body["next"] = str(request.url.include_query_params(page=page + 1)) if page < total_pages else None
        body["previous"] = str(request.url.include_query_params(page=page - 1)) if page > 1 else None
    if style in ("both", "page_info"):
        body["page_info"] = {
            "total_count": total,
            "current_page": page,
            "total_pages": total_pages,
            "page_size": size,
        }
    body["results"] = results
    return body


def list_filters(request: Request, endpoint: str) -> Mapping[str, str]:
    """The query parameters a list acts on: all of them, or in strict mode the documented ones."""
    params = request.query_params
    if not state_of(request).config.strict:
        return params
    documented = DOCUMENTED_FILTERS[endpoint]
    return {name: value for name, value in params.items() if name in documented}


def query_key(params: Mapping[str, str], *names: str) -> tuple[tuple[str, str], ...]:
    return tuple((n, params.get(n, "")) for n in names)
