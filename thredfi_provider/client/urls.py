"""Where a request may go: the one place a URL is made, so a token never leaves its origin.

Ids come from source records and ``next`` links from servers; neither may turn a request into
a different, bearer-authenticated one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from thredfi_provider.client.errors import ThredfiValidationError

API_PREFIX = "/v1/platform"
# Thredfi ids are UUIDs (CONTRACT.md §3); anything outside this alphabet could rewrite the URL.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
# What a relative path may not hold: a query, a fragment, a backslash, a space or a control character.
_UNSAFE_PATH_CHAR = re.compile(r"[?#\\\x00-\x20]")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$)")

Origin = tuple[str, str, int | None]


def segment(value: str, field: str) -> str:
    """An id as one URL path segment, refused (before any request) if it could rewrite the URL.

    ``"b1?x="`` or ``"../../oauth2/token"`` must not become a different request.
    """
    if not isinstance(value, str) or not _ID.match(value):
        raise ThredfiValidationError(
            f"{field} {str(value)[:80]!r} is not a Thredfi id (letters, digits, '-' and '_' only)",
            error_code="invalid_id",
            details={field: "not a Thredfi id"},
        )
    return value


def origin(url: str) -> Origin:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def safe_origin(url: str) -> str:
    """Scheme, host and port only: never echo a URL's userinfo, path or query into an error."""
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}" if host else "another origin"


class UrlGuard:
    """Builds every request URL for one configured ``base_url``."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.origin = origin(base_url)

    def is_home(self, url: str) -> bool:
        return origin(url) == self.origin

    def url(self, path_or_url: str) -> str:
        """An absolute URL (a pagination ``next`` link, or a templated ``path``) is accepted only
        on the configured scheme, host and port. A relative path may not climb out of
        ``/v1/platform`` or carry its own query."""
        if "://" in path_or_url or path_or_url.startswith("//"):
            if not self.is_home(path_or_url):
                raise ThredfiValidationError(
                    f"refusing to send a Thredfi token to {safe_origin(path_or_url)}: only "
                    f"{self.base_url} is configured"
                )
            url = path_or_url
            path = urlsplit(url).path
        else:
            if _UNSAFE_PATH_CHAR.search(path_or_url):
                raise ThredfiValidationError(
                    f"path {path_or_url[:80]!r} may not contain '?', '#', '\\' or spaces; pass query "
                    "parameters as params"
                )
            path = (
                path_or_url
                if path_or_url.startswith(API_PREFIX + "/")
                else API_PREFIX + "/" + path_or_url.lstrip("/")
            )
            if not path.endswith("/"):
                path += "/"
            url = self.base_url + path
        if _DOT_SEGMENT.search(path):
            raise ThredfiValidationError(f"path {path[:80]!r} may not contain '.' or '..' segments")
        return url
