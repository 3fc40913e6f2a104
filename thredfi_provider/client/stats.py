"""What a client has done, counted for tests, benchmarks and the token-economy claims.

One typed method per event, so a misspelt counter is a type error, not a silent new attribute.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class ClientStats:
    """Counters shared by every thread of one client."""

    requests: int = 0
    token_requests: int = 0
    retries: int = 0
    reauthentications: int = 0

    def __post_init__(self) -> None:
        # Not a field: the counters stay plain data (asdict, copy), the lock is the instance's.
        self._lock = threading.Lock()

    def sent(self) -> None:
        """An HTTP exchange was attempted (API or token)."""
        with self._lock:
            self.requests += 1

    def token_requested(self) -> None:
        with self._lock:
            self.token_requests += 1

    def retried(self) -> None:
        with self._lock:
            self.retries += 1

    def reauthenticated(self) -> None:
        """A 401 made the client drop a token and mint a fresh one."""
        with self._lock:
            self.reauthentications += 1
