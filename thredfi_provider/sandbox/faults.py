"""Opt-in fault injection as pure ASGI middleware, deterministic from a seed.

Faults are drawn in request arrival order from one seeded RNG, so the N-th request of a
run meets the same fault every time. "Reset" aborts the TCP connection before the handler
runs; "drop after commit" runs the handler (the write lands) and then aborts instead of
answering: the case that duplicates records in clients without idempotency.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from thredfi_provider.sandbox.config import FaultConfig

Scope = dict[str, Any]
Message = dict[str, Any]


@dataclass(frozen=True)
class Plan:
    kind: str  # "ok", "error", "rate_limit", "reset", "drop"
    status: int = 200
    delay: float = 0.0
    retry_after: float = 0.0


class FaultController:
    def __init__(self, config: FaultConfig, counters: Counter[str]) -> None:
        self.counters = counters
        self.configure(config)

    def configure(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._window = (0, 0)  # (minute, count)

    def draw(self, path: str) -> Plan:
        cfg = self.config
        if not cfg.include_token_endpoints and path.endswith("/oauth2/token/"):
            return Plan("ok")
        u, slow, pick = self._rng.random(), self._rng.random(), self._rng.random()
        delay = cfg.latency_seconds + (cfg.slow_seconds if slow < cfg.slow_rate else 0.0)
        if cfg.requests_per_minute:
            minute = int(time.time() // 60)
            current, count = self._window
            count = count + 1 if current == minute else 1
            self._window = (minute, count)
            if count > cfg.requests_per_minute:
                return Plan("rate_limit", 429, delay, retry_after=float(60 - int(time.time()) % 60))
        edges = (
            ("error", cfg.error_rate),
            ("rate_limit", cfg.rate_limit_rate),
            ("reset", cfg.reset_rate),
            ("drop", cfg.drop_after_commit_rate),
        )
        threshold = 0.0
        for kind, rate in edges:
            threshold += rate
            if u < threshold:
                error_status = cfg.error_status or (500, 502, 503)[int(pick * 3)]
                status = {"error": error_status, "rate_limit": 429}.get(kind, 0)
                return Plan(kind, status, delay, retry_after=cfg.retry_after)
        return Plan("ok", delay=delay)


class FaultInjectionMiddleware:
    def __init__(self, app: Any, controller: FaultController) -> None:
        self.app = app
        self.controller = controller

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        counters = self.controller.counters
        counters["requests"] += 1
        if not self.controller.config.active:
            await self.app(scope, receive, send)
            return
        plan = self.controller.draw(scope["path"])
        if plan.delay:
            await asyncio.sleep(plan.delay)
        if plan.kind != "ok":
            counters[f"fault_{plan.kind}"] += 1
        if plan.kind == "reset":
            await _abort(send)
        elif plan.kind in ("error", "rate_limit"):
            echoed = _authorization(scope) if self.controller.config.echo_authorization else None
            await _answer(send, plan, echoed)
        elif plan.kind == "drop":

            async def swallow(_message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            await _abort(send)
        else:
            await self.app(scope, receive, send)


def _authorization(scope: Scope) -> str:
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"), "")


async def _answer(send: Any, plan: Plan, echoed: str | None = None) -> None:
    if plan.kind == "rate_limit":
        body: dict[str, Any] = {"error": "Rate limit exceeded.", "error_code": "rate_limited"}
    else:
        body = {"error": "Internal server error (injected).", "error_code": "server_error"}
    if echoed is not None:
        # What a leaky proxy or framework does: the request's credentials quoted in the error.
        body["error"] += f" Request had Authorization: {echoed}"
        body["details"] = {"authorization": echoed}
    headers = [(b"content-type", b"application/json")]
    if plan.retry_after and plan.status in (429, 503):
        headers.append((b"retry-after", str(round(plan.retry_after, 3)).encode()))
    payload = json.dumps(body).encode()
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": plan.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _abort(send: Any) -> None:
    """Reset the client's TCP connection. uvicorn's ``send`` is bound to its request cycle,
    which holds the transport; aborting it sends RST, exactly what a crashing proxy does."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:  # pragma: no cover - another ASGI server: fall back to a 502
        await _answer(send, Plan("error", 502))
        return
    transport.abort()
    # Let the protocol notice the lost connection so uvicorn does not try to answer with a 500.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
