"""Assemble the sandbox: the FastAPI app, wrapped in the fault injector at the very outside.

The injector must be the outermost layer so it receives uvicorn's own ``send`` (and so its
transport) to abort connections; Starlette's middleware stack would hand it a wrapper.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI

from thredfi_provider.sandbox.config import SandboxConfig
from thredfi_provider.sandbox.errors import install_error_handlers
from thredfi_provider.sandbox.faults import FaultController, FaultInjectionMiddleware
from thredfi_provider.sandbox.models import STRICT
from thredfi_provider.sandbox.routes import (
    bill_payments,
    control,
    general_ledger,
    parties,
    payables,
    payments,
    platform,
    receivables,
)
from thredfi_provider.sandbox.state import SandboxState
from thredfi_provider.version import __version__


class RequestIdMiddleware:
    """Stamp every response with ``X-Request-ID`` (pure ASGI: no per-request task overhead)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", uuid.uuid4().hex.encode()),
                ]
            await send(message)

        await self.app(scope, receive, stamped)


class StrictModeMiddleware:
    """Mark every request strict, for the request-body models (their validation cannot see the app)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        token = STRICT.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            STRICT.reset(token)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """The API alone (used for the OpenAPI schema and schemathesis)."""
    config = config or SandboxConfig()
    app = FastAPI(
        title="Thredfi Partner API (local sandbox)",
        version=__version__,
        description="A local stand-in for the Thredfi Partner API, for tests and demos.",
        docs_url="/docs",
        redoc_url=None,
    )
    state = SandboxState.create(config)
    app.state.sandbox = state
    app.state.faults = FaultController(config.faults, state.counters)
    install_error_handlers(app)
    # Order matters: payments routers come before ``/invoices/{id}/`` and ``/bills/{id}/``.
    for router in (
        platform.router,
        payments.router,
        bill_payments.router,
        payables.router,
        parties.router,
        receivables.router,
        general_ledger.router,
    ):
        app.include_router(router)
    app.include_router(control.router)
    app.add_middleware(RequestIdMiddleware)
    if config.strict:
        app.add_middleware(StrictModeMiddleware)
    return app


def create_asgi(config: SandboxConfig | None = None) -> tuple[FastAPI, FaultInjectionMiddleware]:
    """The API behind the fault injector: what the server actually runs."""
    app = create_app(config)
    return app, FaultInjectionMiddleware(app, app.state.faults)
