"""Client settings: where Thredfi is, who we are, and how patient to be.

The published documentation names several hosts (see CONTRACT.md §2); users pick one by
environment name or give a URL. Plain http is refused unless the host is loopback or the
user opts in, so a typo can never send the API key in clear text across a network.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ENVIRONMENTS: dict[str, str] = {
    "production": "https://backend.thredfi.com",
    "staging": "https://staging-backend.thredfi.com",
    "development": "https://dev-backend.thredfi.com",
    "sandbox": "https://sandbox.thredfi.com",
}
DEFAULT_ENVIRONMENT = "sandbox"
MAX_PAGE_SIZE = 100


class InsecureURLError(ValueError):
    """The base URL would send credentials unencrypted to a non-loopback host."""


def resolve_base_url(host_or_env: str | None, *, allow_insecure_http: bool = False) -> str:
    """Turn an environment name or URL into a normalised base URL, refusing unsafe ones."""
    value = (host_or_env or DEFAULT_ENVIRONMENT).strip()
    if value.lower() in ENVIRONMENTS:
        return ENVIRONMENTS[value.lower()]
    if "://" not in value:
        value = f"https://{value}"
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"Thredfi base URL must be an http(s) URL or one of {sorted(ENVIRONMENTS)}")
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        raise InsecureURLError(
            f"refusing plain http to {parts.hostname}: use https, a loopback host, "
            "or set allow_insecure_http in the connection extras"
        )
    path = parts.path.rstrip("/")
    # Users paste the API root sometimes; the client adds /v1/platform itself.
    for suffix in ("/v1/platform", "/v1"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return f"{parts.scheme}://{parts.netloc}{path}"


def is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ClientSettings:
    """Everything the client needs; immutable so one instance can be shared by threads."""

    base_url: str
    partner_id: str
    api_key: str = field(repr=False)
    timeout: float = 30.0  # each socket operation (connect, each read)
    attempt_timeout: float = 60.0  # one attempt, connect plus the whole body
    max_retries: int = 5
    max_retry_seconds: float = 120.0  # the whole call, retries and their waits included
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    page_size: int = MAX_PAGE_SIZE
    verify: bool | str = True
    pool_size: int = 32
    token_refresh_margin: float = 300.0

    def __post_init__(self) -> None:
        if not self.partner_id:
            raise ValueError("Thredfi partner UUID (connection login) is empty")
        if not self.api_key:
            raise ValueError("Thredfi API key (connection password) is empty")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {self.page_size}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.pool_size < 1:
            raise ValueError(f"pool_size must be >= 1, got {self.pool_size}")
        for name in ("timeout", "attempt_timeout", "max_retry_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a number of seconds > 0, got {getattr(self, name)!r}")
        for name in ("backoff_initial", "backoff_max", "token_refresh_margin"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not isinstance(self.verify, bool | str) or self.verify == "":
            raise ValueError(f"verify must be true, false or a CA bundle path, got {self.verify!r}")
