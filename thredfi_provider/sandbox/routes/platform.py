"""Tokens and businesses: the partner-level half of the API."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from thredfi_provider.sandbox.config import PartnerTokenBody
from thredfi_provider.sandbox.errors import ApiError, validation
from thredfi_provider.sandbox.ledger import seed_chart
from thredfi_provider.sandbox.models import CURRENCIES, BusinessCreate, BusinessUpdate, TokenRequest
from thredfi_provider.sandbox.routes.common import save_if_changed
from thredfi_provider.sandbox.state import (
    SandboxState,
    list_filters,
    new_id,
    now_iso,
    owned_business,
    paginate,
    partner_claims,
    query_key,
    state_of,
)
from thredfi_provider.sandbox.store import Record

router = APIRouter(prefix="/v1/platform")

# Entity types validated per country (CONTRACT.md §8). GB is published; the other tables were
# cut in the captured pages and hold the codes seen elsewhere plus common legal forms.
ENTITY_TYPES: dict[str, tuple[str, ...]] = {
    "GB": ("limited", "sole_trader", "llp", "partnership", "plc"),
    "DE": ("gmbh", "ug", "ag", "kg", "ohg", "gbr", "einzelunternehmen"),
    "NL": ("bv", "nv", "vof", "eenmanszaak", "cv", "maatschap"),
    "ES": ("sl", "sa", "autonomo", "sc", "slne"),
    "BE": ("bv", "nv", "srl", "sa", "vof", "eenmanszaak"),
    "MY": ("sdn_bhd", "berhad", "sole_proprietorship", "partnership", "llp"),
    "SG": ("pte_ltd", "sole_proprietorship", "partnership", "llp"),
}
MARKETS = (
    "GB",
    "DE",
    "FR",
    "NL",
    "ES",
    "BE",
    "IT",
    "IE",
    "AT",
    "PT",
    "SE",
    "NO",
    "DK",
    "FI",
    "IS",
    "MY",
    "SG",
)


def _basic_partner(state: SandboxState, header: str | None) -> str:
    if not header or not header.startswith("Basic "):
        raise ApiError(401, "authentication_required", "Authentication required - missing or invalid API key")
    try:
        partner_id, _, api_key = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError(401, "authentication_required", "Malformed Basic credentials.") from None
    expected = state.config.partners.get(partner_id)
    if expected is None or not hmac.compare_digest(expected.encode(), api_key.encode()):
        raise ApiError(401, "invalid_credentials", "Invalid partner credentials.")
    return partner_id


_TOKEN_BODY_SCHEMA = TokenRequest.model_json_schema()
_TOKEN_OPENAPI = {
    "requestBody": {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": {"schema": _TOKEN_BODY_SCHEMA},
            "application/json": {"schema": _TOKEN_BODY_SCHEMA},
        },
    }
}


@router.post("/oauth2/token/", tags=["authentication"], openapi_extra=_TOKEN_OPENAPI)
async def partner_token(request: Request) -> JSONResponse:
    """Basic partner credentials -> partner (unscoped) token. Accepts form, JSON or no body;
    strict mode only the OpenAPI's JSON body with ``client_id``."""
    state = state_of(request)
    state.counters["partner_token"] += 1
    partner_id = _basic_partner(state, request.headers.get("Authorization"))
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if state.config.strict:
        form = _api_reference_token_body(raw, content_type, partner_id)
    else:
        form = _token_body(raw, content_type, state.config.partner_token_body, partner_id)
    if form.get("grant_type", "client_credentials") != "client_credentials":
        raise validation("grant_type", "grant_type must be client_credentials.")
    return JSONResponse(state.tokens.mint(partner_id))


def _token_body(raw: bytes, content_type: str, mode: PartnerTokenBody, partner_id: str) -> dict[str, Any]:
    """Every published variant (CONTRACT.md §1.1), or the one ``partner_token_body`` names."""
    if raw and content_type == "application/x-www-form-urlencoded":
        if mode == "json":
            raise ApiError(415, "unsupported_media_type", "Send the token request as application/json.")
        return {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    if raw:
        if mode == "form":
            raise ApiError(400, "validation_error", "grant_type must be sent form-encoded.")
        return _json_object(raw, partner_id)
    if mode != "any":
        raise validation("grant_type", "This field is required.")
    return {}


def _api_reference_token_body(raw: bytes, content_type: str, partner_id: str) -> dict[str, Any]:
    """The OpenAPI's request body: JSON only, ``client_id`` required (CONTRACT.md §1.1, §10)."""
    if raw and content_type != "application/json":
        raise validation(
            "non_field_errors", f'Unsupported media type "{content_type}"; send application/json.'
        )
    form = _json_object(raw, partner_id) if raw else {}
    try:
        TokenRequest.model_validate(form)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    return form


def _json_object(raw: bytes, partner_id: str) -> dict[str, Any]:
    try:
        form = json.loads(raw)
    except ValueError:
        raise validation("non_field_errors", "Malformed JSON body.") from None
    if not isinstance(form, dict):
        raise validation("non_field_errors", "Expected a JSON object.")
    if form.get("client_id") not in (None, partner_id):
        raise validation("client_id", "client_id must equal the Basic auth username.")
    return form


@router.post("/{business_id}/oauth2/token/", tags=["authentication"])
async def business_token(request: Request, business_id: str) -> JSONResponse:
    """Partner token -> token scoped to one business the partner owns."""
    state = state_of(request)
    state.counters["business_token"] += 1
    claims = partner_claims(request)
    owned_business(request, claims.partner_id, business_id)
    return JSONResponse(state.tokens.mint(claims.partner_id, business_id))


def render_business(state: SandboxState, business: Record) -> Record:
    out = {k: v for k, v in business.items() if k != "partner_id"}
    activation = dt.datetime.fromisoformat(business["activation_at"].replace("Z", "+00:00"))
    out["is_active"] = dt.datetime.now(dt.UTC) >= activation and not business.get("is_archived", False)
    return out


def _check_entity_type(country: str, entity_type: str | None) -> str:
    if not entity_type:
        return ""
    code = entity_type.strip().lower()
    allowed = ENTITY_TYPES.get(country)
    if allowed is not None and code not in allowed:
        raise ApiError(
            400,
            "validation_error",
            f"Invalid entity_type '{code}' for country {country}. Valid options: {', '.join(allowed)}",
            {"entity_type": [f"Invalid entity_type '{code}' for country {country}."]},
        )
    return code


@router.get("/businesses/", tags=["businesses"])
async def list_businesses(
    request: Request,
    country: str | None = None,
    entity_type: str | None = None,
    external_id: str | None = None,
    is_archived: bool | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1)] = 20,
) -> dict[str, Any]:
    """The parameters are declared for the schema; filters are read through ``list_filters``."""
    state = state_of(request)
    claims = partner_claims(request)
    q = list_filters(request, "businesses")
    archived = is_archived if "is_archived" in q else None

    def keep(b: Record) -> bool:
        return (
            (not q.get("country") or b["country"].lower() == q["country"].lower())
            and (not q.get("entity_type") or b["entity_type"].lower() == q["entity_type"].lower())
            and (not q.get("external_id") or b["external_id"] == q["external_id"])
            and (archived is None or bool(b.get("is_archived")) == archived)
        )

    key = query_key(q, "country", "entity_type", "external_id", "is_archived")
    items = state.store.query("businesses", claims.partner_id, key, keep)
    return paginate(request, items, lambda b: render_business(state, b))


@router.post("/businesses/", tags=["businesses"], status_code=201)
async def create_business(request: Request, body: BusinessCreate) -> JSONResponse:
    """Idempotent on ``external_id``: a repeat returns the existing business with 200."""
    state = state_of(request)
    claims = partner_claims(request)
    existing = state.store.by_external_id("businesses", claims.partner_id, body.external_id)
    if existing is not None:
        return JSONResponse(
            {**render_business(state, existing), "_meta": {"created": False}}, status_code=200
        )
    country = body.country.upper()
    if country not in MARKETS:
        raise validation("country", f"Unsupported country {country}.")
    if body.base_currency and body.currency and body.base_currency.upper() != body.currency.upper():
        raise validation("base_currency", "base_currency and currency disagree.")
    currency = (body.base_currency or body.currency or "GBP").upper()
    if currency not in CURRENCIES:
        raise validation("base_currency", f"Invalid currency code. Must be one of: {', '.join(CURRENCIES)}")
    now = now_iso()
    activation = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=state.config.activation_delay)
    business: Record = {
        "id": new_id(),
        "partner_id": claims.partner_id,
        "external_id": body.external_id,
        "legal_name": body.legal_name,
        "name": body.legal_name,
        "entity_type": _check_entity_type(country, body.entity_type),
        "phone_number": body.phone_number,
        "tin": body.tin,
        "vat_number": body.vat_number,
        "company_number": body.company_number,
        "country": country,
        "province": body.province,
        "eu_nace_industry_code": body.eu_nace_industry_code,
        "email": body.email,
        "base_currency": currency,
        "currency": currency,
        "accounting_method": body.accounting_method,
        "fiscal_year_end": body.fiscal_year_end.isoformat() if body.fiscal_year_end else None,
        "coa_language": body.coa_language or "en",
        "activation_at": activation.isoformat().replace("+00:00", "Z"),
        "is_archived": False,
        "created_at": now,
        "updated_at": now,
        "metadata": body.metadata,
    }
    state.store.put("businesses", business)
    seed_chart(state, business)
    return JSONResponse({**render_business(state, business), "_meta": {"created": True}}, status_code=201)


@router.get("/businesses/{business_id}/", tags=["businesses"])
async def get_business(request: Request, business_id: str) -> Record:
    state = state_of(request)
    claims = partner_claims(request)
    return render_business(state, owned_business(request, claims.partner_id, business_id))


# Not partner-mutable (CONTRACT.md §5.2): refused when a PATCH would change them, accepted when
# it resends the stored value. ``currency`` is the older guides' name for ``base_currency``.
IMMUTABLE_BUSINESS_FIELDS = {
    "country": "country",
    "base_currency": "base_currency",
    "currency": "base_currency",
}


@router.patch("/businesses/{business_id}/", tags=["businesses"])
async def update_business(request: Request, business_id: str, body: BusinessUpdate) -> Record:
    """Partial update of the fields update-business publishes; ``country``, ``base_currency`` (or
    ``currency``) and ``external_id`` may be resent unchanged, never changed (400 naming them)."""
    state = state_of(request)
    claims = partner_claims(request)
    stored = owned_business(request, claims.partner_id, business_id)
    extra = body.model_extra or {}
    for name, stored_as in IMMUTABLE_BUSINESS_FIELDS.items():
        if name in extra and str(extra[name]).upper() != stored[stored_as]:
            raise validation(name, f"{name} cannot be changed (it is {stored[stored_as]}).")
    if "external_id" in extra and extra["external_id"] != stored["external_id"]:
        raise validation("external_id", "external_id cannot be changed.")
    changes = body.model_dump(exclude_unset=True, exclude=set(extra))
    for required in ("legal_name", "email"):
        if required in changes and changes[required] is None:
            raise validation(required, "This field may not be null.")
    if "entity_type" in changes:
        changes["entity_type"] = _check_entity_type(stored["country"], changes["entity_type"])
    if changes.get("fiscal_year_end"):
        changes["fiscal_year_end"] = changes["fiscal_year_end"].isoformat()
    if "legal_name" in changes:
        changes["name"] = changes["legal_name"]
    if "metadata" in changes:
        changes["metadata"] = changes["metadata"] or {}
    business = save_if_changed(state, "businesses", stored, {**stored, **changes})
    return render_business(state, business)
