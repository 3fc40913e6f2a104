"""Typed errors for the Thredfi API.

The class decides what happens next: transient errors are retried by the client (and, when
retries run out, by Airflow), permanent ones fail fast. No error ever carries a credential:
messages are built from the response body and the request path only, and the client runs
them through its redactor before raising.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import requests


class ThredfiError(Exception):
    """Base class for everything the Thredfi client raises."""

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.error_code = error_code
        self.details = details or {}
        self.request_id = request_id
        self.method = method
        self.path = path
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"[HTTP {self.status}{' ' + self.error_code if self.error_code else ''}]")
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.details:
            fields = "; ".join(f"{k}: {_flatten(v)}" for k, v in sorted(self.details.items()))
            parts.append(f"details: {fields}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)

    def redact(self, secrets: frozenset[str]) -> ThredfiError:
        """Remove every known secret from every text this error carries.

        A server may echo the request (an ``Authorization`` header, a token) into its error
        body; nothing of that may reach a task log, an XCom or a trigger event.
        """
        self.message = _scrub(self.message, secrets)
        self.error_code = _scrub(self.error_code, secrets) if self.error_code else self.error_code
        self.request_id = _scrub(self.request_id, secrets) if self.request_id else self.request_id
        self.path = _scrub(self.path, secrets) if self.path else self.path
        self.details = {
            _scrub(str(key), secrets): _scrub(_flatten(value), secrets) for key, value in self.details.items()
        }
        self.args = (_scrub(self._render(), secrets),)
        return self

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self.message

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary for XCom and trigger events."""
        return {
            "type": type(self).__name__,
            "status": self.status,
            "error_code": self.error_code,
            "message": str(self),
        }


class ThredfiValidationError(ThredfiError):
    """400/422: the request is wrong; sending it again cannot succeed."""


class ThredfiAuthError(ThredfiError):
    """401 after a token refresh, or bad partner credentials."""


class ThredfiPermissionError(ThredfiError):
    """403: a valid token that may not touch this resource (wrong business scope)."""


class ThredfiNotFoundError(ThredfiError):
    """404: unknown id, or one that belongs to another partner."""


class ThredfiConflictError(ThredfiError):
    """409: duplicate or state conflict (for example an Idempotency-Key reused with another body)."""


class ThredfiTransientError(ThredfiError):
    """Faults that may pass: retried with backoff."""

    retryable: ClassVar[bool] = True


class ThredfiRateLimitError(ThredfiTransientError):
    """429: honour Retry-After."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ThredfiServerError(ThredfiTransientError):
    """5xx."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ThredfiConnectionError(ThredfiTransientError):
    """Connection refused or reset, or a timeout: the request may or may not have been applied."""


class ThredfiRetryLaterError(ThredfiTransientError):
    """Thredfi asked us to wait longer than the call's retry budget allows.

    Sleeping a day inside a task (or a "Test connection" click) helps nobody: the call ends at
    once, still retryable, and says when to come back, so Airflow's own task retry takes over.
    """

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ThredfiRecordError(ThredfiError, ValueError):
    """A record failed local validation; raised before any network call."""

    def __init__(self, record: str, field: str, problem: str) -> None:
        self.record = record
        self.field = field
        self.problem = problem
        super().__init__(f"record {record!r}: field {field!r}: {problem}", error_code="invalid_record")


PERMANENT_ERRORS: tuple[type[ThredfiError], ...] = (
    ThredfiValidationError,
    ThredfiAuthError,
    ThredfiPermissionError,
    ThredfiNotFoundError,
    ThredfiConflictError,
    ThredfiRecordError,
)

_STATUS_TO_ERROR: dict[int, type[ThredfiError]] = {
    400: ThredfiValidationError,
    401: ThredfiAuthError,
    403: ThredfiPermissionError,
    404: ThredfiNotFoundError,
    409: ThredfiConflictError,
    422: ThredfiValidationError,
}


def error_from_response(response: requests.Response, *, path: str) -> ThredfiError:
    """Build the typed error for a non-2xx response, tolerating every published body shape.

    The error-handling guide uses ``{error, error_code, details}``; the entity-types guide uses
    ``{error_code, detail}``; DRF uses ``{detail}`` or, for validation, the request's own shape
    (``{"line_items": [{"unit_price": ["..."]}]}``). Field errors become ``details`` keyed by
    field path, so a refused record names its field. Anything else becomes the reason phrase.
    """
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = None
    message = response.reason or "HTTP error"
    error_code: str | None = None
    details: dict[str, Any] = {}
    if isinstance(body, dict):
        envelope = {"error", "detail", "message", "error_code", "code", "details"} & body.keys()
        if envelope:
            raw_message = body.get("error") or body.get("detail") or body.get("message")
            if raw_message is not None:
                message = _flatten(raw_message)
            code = body.get("error_code") or body.get("code")
            error_code = str(code) if code is not None else None
            if isinstance(body.get("details"), dict | list):
                details = field_errors(body["details"])
        else:
            # DRF's plain validation body: the request's own shape, with a list of messages per field.
            details = field_errors(body)
            if details:
                message = "Validation errors in request data"
    elif isinstance(body, list) and body:
        message = _flatten(body)
    request_id = response.headers.get("X-Request-ID") or response.headers.get("X-Request-Id")
    common: dict[str, Any] = {
        "status": response.status_code,
        "error_code": error_code,
        "details": details,
        "request_id": request_id,
        "method": response.request.method if response.request is not None else None,
        "path": path,
    }
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        return ThredfiRateLimitError(message, retry_after=retry_after, **common)
    if status >= 500:
        return ThredfiServerError(message, retry_after=retry_after, **common)
    return _STATUS_TO_ERROR.get(status, ThredfiError)(message, **common)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import datetime as dt

    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def field_errors(value: Any, prefix: str = "") -> dict[str, str]:
    """``{"line_items": [{"unit_price": ["bad"]}]}`` -> ``{"line_items[0].unit_price": "bad"}``.

    A list of strings is a field's messages; a list of anything else is the field's items,
    indexed; empty items (a line with no error) are left out.
    """
    if isinstance(value, dict):
        found: dict[str, str] = {}
        for key, inner in value.items():
            found.update(field_errors(inner, f"{prefix}.{key}" if prefix else str(key)))
        return found
    if isinstance(value, list):
        if all(isinstance(item, str | int | float) for item in value):
            return {prefix or "non_field_errors": ", ".join(str(item) for item in value)} if value else {}
        found = {}
        for index, inner in enumerate(value):
            found.update(field_errors(inner, f"{prefix}[{index}]"))
        return found
    if value is None or value == "":
        return {}
    return {prefix or "non_field_errors": str(value)}


def _flatten(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_flatten(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_flatten(v)}" for k, v in value.items())
    return str(value)


def _scrub(text: str, secrets: frozenset[str]) -> str:
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "***")
    return text
