"""Sandbox settings, including opt-in fault injection.

Every knob can come from code (tests, fixtures), CLI flags or ``THREDFI_SANDBOX_*`` env vars,
so a user's own DAG tests can reproduce a fault run by exporting the same seed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

DEFAULT_PARTNER_ID = "5a9d2c1e-0f4b-4c83-9b61-7d2e1a3c4b5f"
DEFAULT_API_KEY = "sandbox-api-key"
DEFAULT_TOKEN_LIFETIME = 3600  # every published ``expires_in`` example (CONTRACT.md §1.3)
STRICT_TOKEN_LIFETIME = 5  # strict mode: a client that never renews a token fails within seconds

PaginationStyle = Literal["both", "next", "page_info"]
PartnerTokenBody = Literal["any", "form", "json"]


@dataclass(frozen=True)
class FaultConfig:
    """Probabilities are per request, drawn from one seeded RNG in arrival order."""

    error_rate: float = 0.0  # answer 500/502/503 without running the handler
    error_status: int = 0  # 0: a mix of 500/502/503; otherwise always this status (e.g. 503)
    rate_limit_rate: float = 0.0  # answer 429 with Retry-After
    retry_after: float = 1.0
    reset_rate: float = 0.0  # abort the TCP connection before the handler runs
    drop_after_commit_rate: float = 0.0  # run the handler (commit), then abort instead of answering
    slow_rate: float = 0.0
    slow_seconds: float = 0.5
    latency_seconds: float = 0.0  # added to every request
    requests_per_minute: int = 0  # 0 = unlimited; beyond it, 429 with Retry-After to the window end
    seed: int = 0
    include_token_endpoints: bool = True
    echo_authorization: bool = False  # injected errors quote the request's Authorization header back

    @property
    def active(self) -> bool:
        return any(
            (
                self.error_rate,
                self.rate_limit_rate,
                self.reset_rate,
                self.drop_after_commit_rate,
                self.slow_rate,
                self.latency_seconds,
                self.requests_per_minute,
            )
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> FaultConfig:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"THREDFI_SANDBOX_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _coerce(raw, f.type)
        return cls(**values)

    def merged(self, **changes: Any) -> FaultConfig:
        return replace(self, **changes)


@dataclass(frozen=True)
class SandboxConfig:
    """``strict=True`` holds clients to the API reference where the published pages disagree
    (docs/sandbox.md, "Strict mode"); the default accepts every published variant."""

    partners: dict[str, str] = field(default_factory=lambda: {DEFAULT_PARTNER_ID: DEFAULT_API_KEY})
    token_lifetime: int | None = None  # seconds; None: the mode's default (see ``token_seconds``)
    signing_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    pagination: PaginationStyle = "both"
    partner_token_body: PartnerTokenBody = "any"  # noqa: S105 - a body style, not a secret
    activation_delay: float = 0.0
    db_path: str | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    strict: bool = False

    @property
    def token_seconds(self) -> int:
        """The token lifetime in force: the one set, else 3600 s, or 5 s in strict mode."""
        if self.token_lifetime is not None:
            return self.token_lifetime
        return STRICT_TOKEN_LIFETIME if self.strict else DEFAULT_TOKEN_LIFETIME


def strict_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """``THREDFI_SANDBOX_STRICT`` (``1``/``true``/``yes``/``on``), the CLI's default for ``--strict``."""
    env = os.environ if environ is None else environ
    return bool(_coerce(env.get("THREDFI_SANDBOX_STRICT", ""), bool))


def _coerce(raw: str, type_name: Any) -> Any:
    name = str(type_name)
    if "bool" in name:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if "int" in name:
        return int(raw)
    return float(raw)
