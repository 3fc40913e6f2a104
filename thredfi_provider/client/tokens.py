"""Thredfi's two-step token cache: one partner token, one token per business.

Tokens are minted lazily and reused until a margin before ``expires_in`` (10% of the
lifetime, capped by the settings' margin), so a long sync pays for two token requests, not
one per call. Each key has its own lock: threads asking for the same business wait on one
fetch instead of stampeding the token endpoint, while other businesses proceed in parallel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PARTNER_KEY = "__partner__"


@dataclass(frozen=True)
class TokenGrant:
    access_token: str = field(repr=False)
    expires_in: float


@dataclass
class _CachedToken:
    value: str = field(repr=False)
    refresh_at: float


class TokenCache:
    """Thread-safe cache of bearer tokens keyed by business id (or the partner key)."""

    def __init__(
        self,
        fetch: Callable[[str], TokenGrant],
        *,
        max_margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_margin = max_margin
        self._clock = clock
        self._tokens: dict[str, _CachedToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def get(self, key: str) -> str:
        cached = self._tokens.get(key)
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.value
        with self._lock_for(key):
            cached = self._tokens.get(key)
            if cached is not None and self._clock() < cached.refresh_at:
                return cached.value
            grant = self._fetch(key)
            margin = min(self._max_margin, grant.expires_in * 0.1)
            self._tokens[key] = _CachedToken(grant.access_token, self._clock() + grant.expires_in - margin)
            return grant.access_token

    def invalidate(self, key: str, value: str | None = None) -> None:
        """Drop a token the server rejected; ``value`` guards against dropping a fresher one."""
        with self._lock_for(key):
            cached = self._tokens.get(key)
            if cached is not None and (value is None or cached.value == value):
                del self._tokens[key]

    def clear(self) -> None:
        self._tokens.clear()

    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())
