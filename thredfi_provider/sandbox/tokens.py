"""Signed, expiring tokens for the sandbox (HS256 JWTs via PyJWT).

A generation counter lets tests force every issued token to expire at once ("token expired
mid-run"); ``revoke`` invalidates the tokens of one business ("token revoked"). The authority
remembers what it issued so a test can search logs and XComs for every token, not just one.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import jwt

from thredfi_provider.sandbox.errors import ApiError

PARTNER_SCOPE = "partner"
REMEMBERED = 100_000  # the newest issued tokens kept for leak searches and revocation
BUSINESS_SCOPE = "business_access"


@dataclass(frozen=True)
class Claims:
    partner_id: str
    scope: str
    business_id: str | None


class TokenAuthority:
    def __init__(self, signing_key: str, lifetime: int) -> None:
        self._key = signing_key
        self.lifetime = lifetime
        self.generation = 0
        self.issued: deque[str] = deque(maxlen=REMEMBERED)  # for leak searches in tests
        self._business_of: dict[str, str] = {}  # jti -> business, for per-business revocation
        self._revoked: set[str] = set()

    def mint(self, partner_id: str, business_id: str | None = None) -> dict[str, Any]:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": "thredfi-sandbox",
            "partner_id": partner_id,
            "scope": BUSINESS_SCOPE if business_id else PARTNER_SCOPE,
            "iat": now,
            "exp": now + self.lifetime,
            "gen": self.generation,
            "jti": secrets.token_hex(8),
        }
        if business_id:
            payload["business_id"] = business_id
        token = jwt.encode(payload, self._key, algorithm="HS256")
        self.issued.append(token)
        if business_id:
            self._business_of[payload["jti"]] = business_id
            if len(self._business_of) > REMEMBERED:  # a long-running sandbox stays bounded
                del self._business_of[next(iter(self._business_of))]
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime}
        if business_id:
            body.update(scope=BUSINESS_SCOPE, business_id=business_id)
        return body

    def verify(self, authorization: str | None) -> Claims:
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(401, "authentication_required", "Authentication credentials were not provided.")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            payload = jwt.decode(token, self._key, algorithms=["HS256"], options={"require": ["exp", "iat"]})
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "invalid_token", "Token has expired.") from None
        except jwt.InvalidTokenError:
            raise ApiError(401, "invalid_token", "Token is invalid.") from None
        if payload.get("gen") != self.generation:
            raise ApiError(401, "invalid_token", "Token has expired.")
        if payload.get("jti") in self._revoked:
            raise ApiError(401, "invalid_token", "Token has been revoked.")
        return Claims(payload["partner_id"], payload["scope"], payload.get("business_id"))

    def expire_all(self) -> None:
        """Invalidate every token issued so far (forced expiry / revocation)."""
        self.generation += 1

    def revoke(self, business_id: str) -> int:
        """Revoke every token issued so far for one business; returns how many."""
        revoked = {jti for jti, owner in self._business_of.items() if owner == business_id}
        self._revoked |= revoked
        return len(revoked)
