"""Error bodies in the published shape: ``{"error", "error_code", "details"}``.

In strict mode a 400 answers in Django REST framework's plain shape instead: field errors nested
like the request (``{"line_items": [{"unit_price": ["A valid integer is required."]}]}``), one
``{}`` per valid list item, and ``non_field_errors`` for errors that name no field.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

FieldPath = Sequence[str | int]
NON_FIELD = "non_field_errors"
_LOCATIONS = ("body", "query", "path", "header")

# DRF's wording for the validation errors a client can trigger; other types keep pydantic's.
DRF_MESSAGES: dict[str, str] = {
    "missing": "This field is required.",
    "int_type": "A valid integer is required.",
    "int_parsing": "A valid integer is required.",
    "int_from_float": "A valid integer is required.",
    "float_type": "A valid number is required.",
    "float_parsing": "A valid number is required.",
    "bool_type": "Must be a valid boolean.",
    "bool_parsing": "Must be a valid boolean.",
    "string_type": "Not a valid string.",
    "string_too_short": "Ensure this field has at least {min_length} characters.",
    "string_too_long": "Ensure this field has no more than {max_length} characters.",
    "string_pattern_mismatch": "Enter a valid value.",
    "greater_than": "Ensure this value is greater than {gt}.",
    "greater_than_equal": "Ensure this value is greater than or equal to {ge}.",
    "less_than_equal": "Ensure this value is less than or equal to {le}.",
    "literal_error": '"{input}" is not a valid choice.',
    "list_type": 'Expected a list of items but got type "{input_type}".',
    "dict_type": 'Expected a dictionary of items but got type "{input_type}".',
    "too_short": "Ensure this field has at least {min_length} elements.",
    "too_long": "Ensure this field has no more than {max_length} elements.",
    "date_parsing": "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
    "date_from_datetime_parsing": "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
    "value_error": "{error}",
    "json_invalid": "JSON parse error - {error}",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        details: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.details = details
        self.headers = headers


def validation(field: str, message: str) -> ApiError:
    return ApiError(400, "validation_error", "Validation errors in request data", {field: [message]})


def error_body(error_code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "error_code": error_code}
    if details:
        body["details"] = details
    return body


def drf_body(errors: Iterable[tuple[FieldPath, str]]) -> dict[str, Any]:
    """Nest ``(path, message)`` pairs the way DRF renders serializer errors."""
    root: dict[str, Any] = {}
    for path, message in errors:
        keys = [*path] if path and isinstance(path[-1], str) else [*path, NON_FIELD]
        node: Any = root
        for key, following in itertools.pairwise(keys):
            node = _child(node, key, [] if isinstance(following, int) else {})
        node.setdefault(keys[-1], []).append(message)
    return root


def _child(node: Any, key: str | int, empty: list[Any] | dict[str, Any]) -> Any:
    if isinstance(node, list) and isinstance(key, int):
        node.extend({} for _ in range(key + 1 - len(node)))
        return node[key]
    return node.setdefault(key, empty)


def dotted_path(field: str) -> FieldPath:
    """``"line_items.0.account_code"`` (the sandbox's own ``details`` keys) as a path."""
    return tuple(int(part) if part.isdigit() else part for part in field.split("."))


def error_path(err: dict[str, Any]) -> FieldPath:
    return tuple(p for p in err.get("loc", ()) if p not in _LOCATIONS)


def drf_error(err: dict[str, Any]) -> tuple[FieldPath, str]:
    """One pydantic error as a DRF ``(path, message)``; a JSON syntax error names no field."""
    template = DRF_MESSAGES.get(err["type"])
    context = {**err.get("ctx", {}), "input": err.get("input"), "input_type": type(err.get("input")).__name__}
    message = template.format(**context) if template else str(err.get("msg"))
    return (() if err["type"] == "json_invalid" else error_path(err)), message


def _count(request: Request, status: int) -> None:
    """Tests assert on refusals by status (e.g. no 403 in a run that must respect token scope)."""
    request.app.state.sandbox.counters[f"status_{status}"] += 1


def _strict(request: Request) -> bool:
    return bool(request.app.state.sandbox.config.strict)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        _count(request, exc.status)
        if exc.status == 400 and _strict(request):
            errors = [(dotted_path(f), m) for f, messages in (exc.details or {}).items() for m in messages]
            body = drf_body(errors or [((), exc.message)])
        else:
            body = error_body(exc.error_code, exc.message, exc.details)
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        _count(request, 400)
        if _strict(request):
            return JSONResponse(drf_body(drf_error(err) for err in exc.errors()), status_code=400)
        details: dict[str, list[str]] = {}
        for err in exc.errors():
            field = ".".join(str(p) for p in error_path(err)) or NON_FIELD
            details.setdefault(field, []).append(str(err.get("msg")))
        return JSONResponse(
            error_body("validation_error", "Validation errors in request data", details), status_code=400
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        _count(request, exc.status_code)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)
