"""An Airflow connection, parsed once and checked, becomes the client's settings.

Every mistake is reported with the connection id and the field it is in, when the connection
is read, not later as a raw ``requests`` error in the middle of a sync. Parsing is pure (no
masking, no I/O) so the triggerer may call it from its event loop.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from thredfi_provider.client.settings import ClientSettings, InsecureURLError, resolve_base_url
from thredfi_provider.get_provider_info import CONN_FIELDS

ENVIRONMENT_NAMES = frozenset({"production", "staging", "development", "sandbox"})
_TRUE = frozenset({"true", "yes", "on"})
_FALSE = frozenset({"false", "no", "off"})
# The numeric extras, from the one list the form and the docs use too.
_NUMBERS: dict[str, type[int] | type[float]] = {
    name: int if "integer" in spec["schema"]["type"] else float
    for name, spec in CONN_FIELDS.items()
    if {"integer", "number"} & set(spec["schema"]["type"])
}


class ThredfiConnectionConfigError(ValueError):
    """A Thredfi connection field is missing or malformed; the message names the field."""

    def __init__(self, conn_id: str | None, field: str, problem: str) -> None:
        self.conn_id = conn_id
        self.field = field
        super().__init__(f"Thredfi connection {conn_id or '(unnamed)'!r}: {field}: {problem}")


class InsecureConnectionError(ThredfiConnectionConfigError, InsecureURLError):
    """The connection would send the API key in clear text to a host that is not loopback."""


def settings_from_connection(conn: Any) -> ClientSettings:
    """Map an Airflow connection to client settings.

    login = partner UUID, password = API key, host = environment name
    (``production``/``staging``/``development``/``sandbox``) or base URL, port optional;
    extras tune the client (see the connection docs).
    """
    conn_id = getattr(conn, "conn_id", None)

    def fail(field: str, problem: str) -> ThredfiConnectionConfigError:
        return ThredfiConnectionConfigError(conn_id, field, problem)

    extra = _extra(conn.extra, fail)
    allow_http = _flag(extra, "allow_insecure_http", False, fail)
    base = _base_url(str(extra.get("base_url") or conn.host or ""), extra, conn.port, fail)
    options: dict[str, Any] = {name: _number(extra, name, cast, fail) for name, cast in _NUMBERS.items()}
    options = {name: value for name, value in options.items() if value is not None}
    verify = _verify(extra, fail)
    try:
        return ClientSettings(
            base_url=resolve_base_url(base or None, allow_insecure_http=allow_http),
            partner_id=conn.login or "",
            api_key=conn.password or "",
            verify=verify,
            **options,
        )
    except InsecureURLError as exc:
        raise InsecureConnectionError(conn_id, "host", str(exc)) from None
    except ValueError as exc:
        raise fail(_field_of(str(exc)), str(exc)) from None


def _extra(raw: Any, fail: Any) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise fail("extra", f"is not valid JSON ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(parsed, dict):
        raise fail("extra", f"must be a JSON object, got {type(parsed).__name__}")
    return parsed


def _flag(extra: dict[str, Any], name: str, default: bool, fail: Any) -> bool:
    value = extra.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise fail(f"extra.{name}", f"must be true or false, got {value!r}")


def _number(extra: dict[str, Any], name: str, cast: type[int] | type[float], fail: Any) -> float | None:
    value = extra.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise fail(f"extra.{name}", f"must be a number, got {value!r}")
    try:
        number = cast(value)
    except (TypeError, ValueError):
        raise fail(f"extra.{name}", f"must be {'a whole number' if cast is int else 'a number'}, "
                                    f"got {value!r}") from None  # fmt: skip
    if cast is int and isinstance(value, float) and not value.is_integer():
        raise fail(f"extra.{name}", f"must be a whole number, got {value!r}")
    return number


def _verify(extra: dict[str, Any], fail: Any) -> bool | str:
    """TLS verification: ``true``, ``false`` or a CA bundle path; never a truthy accident."""
    value = extra.get("verify", True)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in {"true", "false"}:
            return text.lower() == "true"
        if text and os.path.exists(text):
            return text
    raise fail(
        "extra.verify",
        f"must be true, false (explicitly) or the path of a CA bundle that exists, got {value!r}",
    )


def _base_url(base: str, extra: dict[str, Any], port: Any, fail: Any) -> str:
    """Host or URL plus the connection's port, IPv6 literals included."""
    base = base.strip()
    if not base or base.lower() in ENVIRONMENT_NAMES:
        if port and base:
            raise fail("port", f"cannot be combined with the environment name {base!r}")
        return base
    if "://" not in base:
        scheme = str(extra.get("scheme") or "https")
        if base.count(":") >= 2 and not base.startswith("["):
            base = f"[{base}]"  # a bare IPv6 literal
        base = f"{scheme}://{base}"
    parts = urlsplit(base)
    try:
        has_port = parts.port is not None
    except ValueError:
        raise fail("host", f"has an invalid port: {base!r}") from None
    if port and not has_port:
        if not str(port).isdigit() or not 0 < int(port) < 65536:
            raise fail("port", f"must be 1-65535, got {port!r}")
        host = parts.hostname or ""
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        base = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return base


def _field_of(message: str) -> str:
    """Which field a ClientSettings complaint is about (its messages start with the name)."""
    if "partner UUID" in message:
        return "login"
    if "API key" in message:
        return "password"
    if "base URL" in message or "plain http" in message:
        return "host"
    first = message.split(" ", 1)[0]
    return f"extra.{first}" if first in _NUMBERS or first == "verify" else "connection"
