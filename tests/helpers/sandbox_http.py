"""Bare HTTP callers for the sandbox's own suite and request bodies spelled as the API reference has them.

``Raw`` sends exactly what a test says and shows exactly what the server answers; ``Api`` asks for
the partner token as the OpenAPI has it (both modes accept that) and caches business tokens for
less than strict mode's 5 s lifetime. The bodies are valid in the default and the strict mode.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from thredfi_provider.sandbox.server import SandboxServer

API = "/v1/platform"


class Raw:
    """A bare HTTP caller, so the tests see exactly what the server answers."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()

    def partner_token(self) -> str:
        r = self.session.post(
            self.sandbox.base_url + API + "/oauth2/token/",
            auth=(self.sandbox.partner_id, self.sandbox.api_key),
            data={"grant_type": "client_credentials"},
        )
        r.raise_for_status()
        return r.json()["access_token"]

    def business_token(self, business_id: str) -> str:
        r = self.call("POST", f"/{business_id}/oauth2/token/", self.partner_token())
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.request(
            method, self.sandbox.base_url + API + path, headers=headers, timeout=10, **kwargs
        )


TOKEN_LIFETIME = 3  # seconds a cached business token is reused: under strict mode's 5 s


class Api(Raw):
    """``Raw``, asking for the partner token as the OpenAPI has it, which both modes accept."""

    def __init__(self, sandbox: SandboxServer) -> None:
        super().__init__(sandbox)
        self._tokens: dict[str, tuple[str, float]] = {}

    @property
    def strict(self) -> bool:
        return self.sandbox.config.strict

    def token_response(self, **kwargs: Any) -> requests.Response:
        auth = (self.sandbox.partner_id, self.sandbox.api_key)
        return self.session.post(
            self.sandbox.base_url + API + "/oauth2/token/", auth=auth, timeout=10, **kwargs
        )

    def partner_token(self) -> str:
        r = self.token_response(
            json={"grant_type": "client_credentials", "client_id": self.sandbox.partner_id}
        )
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def scoped(self, business_id: str) -> str:
        token, minted = self._tokens.get(business_id, ("", 0.0))
        if time.monotonic() - minted > TOKEN_LIFETIME:
            token = self.business_token(business_id)
            self._tokens[business_id] = (token, time.monotonic())
        return token

    def post(self, business_id: str, path: str, body: dict[str, Any]) -> requests.Response:
        return self.call("POST", f"/businesses/{business_id}/{path}", self.scoped(business_id), json=body)

    def get(self, business_id: str, path: str, **params: Any) -> requests.Response:
        return self.call("GET", f"/businesses/{business_id}/{path}", self.scoped(business_id), params=params)

    def create(self, business_id: str, path: str, body: dict[str, Any]) -> str:
        r = self.post(business_id, path, body)
        assert r.status_code == 201, r.text
        record = r.json()
        return str(record.get("payment", record)["id"])

    def business_response(self, body: dict[str, Any]) -> requests.Response:
        return self.call("POST", "/businesses/", self.partner_token(), json=body)

    def business(self, external_id: str = "b", **fields: Any) -> str:
        r = self.business_response(business_body(external_id, **fields))
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def business_body(external_id: str = "b", **fields: Any) -> dict[str, Any]:
    body = {
        "external_id": external_id,
        "legal_name": f"{external_id} Ltd",
        "entity_type": "limited",
        "email": f"{external_id}@example.com",
        "base_currency": "GBP",
    }
    return {k: v for k, v in {**body, **fields}.items() if v is not None}


def invoice_body(customer_id: str, external_id: str, cents: int = 1_000, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer_id": customer_id,
        "sent_at": "2024-03-01",
        "due_at": "2024-03-31",
        "line_items": [{"description": "Work", "quantity": 1, "unit_price": cents}],
        **fields,
    }


def payment_body(customer_id: str, invoice_id: str, external_id: str, cents: int, day: str) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer_id": customer_id,
        "total_amount_cents": cents,
        "payment_date": day,
        "allocations": [{"invoice_id": invoice_id, "amount_cents": cents}],
    }


def bill_body(vendor_id: str, external_id: str, cents: int, day: str) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "vendor_id": vendor_id,
        "bill_date": day,
        "line_items": [{"quantity": 1, "unit_price": cents}],
    }


def bill_payment_body(
    vendor_id: str, bill_id: str, external_id: str, cents: int, day: str, method: str
) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "vendor_id": vendor_id,
        "amount_cents": cents,
        "payment_date": day,
        "payment_method": method,
        "check_number": "42",
        "allocations": [{"bill_id": bill_id, "amount_cents": cents}],
    }


def without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in names}


def leaves(body: Any, path: tuple[Any, ...] = ()) -> set[tuple[Any, ...]]:
    """The field paths of a DRF error body: ``{"a": [{}, {"b": ["..."]}]}`` -> ``{("a", 1, "b")}``."""
    if isinstance(body, dict):
        return {leaf for key, value in body.items() for leaf in leaves(value, (*path, key))}
    if body and all(isinstance(item, str) for item in body):
        return {path}
    return {leaf for index, item in enumerate(body) for leaf in leaves(item, (*path, index))}
