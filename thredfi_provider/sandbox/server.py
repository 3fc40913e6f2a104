"""Run the sandbox in-process on a free loopback port (tests, the demo, users' DAG tests)."""

from __future__ import annotations

import dataclasses
import secrets
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from thredfi_provider.sandbox.app import create_asgi
from thredfi_provider.sandbox.config import FaultConfig, SandboxConfig
from thredfi_provider.sandbox.faults import FaultController
from thredfi_provider.sandbox.state import SandboxState


class SandboxServer:
    """A running sandbox on a loopback port; as a context manager it stops on exit.

    .. seealso:: :doc:`/sandbox`
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SandboxConfig()
        self.app, self._asgi = create_asgi(self.config)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self._server = uvicorn.Server(
            uvicorn.Config(
                self._asgi,
                log_level="warning",
                lifespan="off",
                access_log=False,
                timeout_keep_alive=30,
                backlog=2048,
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def partner_id(self) -> str:
        return next(iter(self.config.partners))

    @property
    def api_key(self) -> str:
        return self.config.partners[self.partner_id]

    @property
    def state(self) -> SandboxState:
        state: SandboxState = self.app.state.sandbox
        return state

    def connection_uri(self, conn_type: str = "thredfi") -> str:
        """An Airflow connection URI pointing at this sandbox (for ``AIRFLOW_CONN_*``)."""
        from urllib.parse import quote

        # The URL as an extra, not ``?scheme=http``: Airflow warns that it cannot mask "http" (too
        # short) whenever it parses such a URI.
        login, password = quote(self.partner_id, safe=""), quote(self.api_key, safe="")
        return f"{conn_type}://{login}:{password}@/?base_url={quote(self.base_url, safe='')}"

    def connection_json(self, conn_type: str = "thredfi") -> str:
        """The same connection in Airflow's JSON form."""
        import json

        return json.dumps(
            {
                "conn_type": conn_type,
                "login": self.partner_id,
                "password": self.api_key,
                "host": self.base_url,
            }
        )

    def start(self) -> SandboxServer:
        self._sock.listen(2048)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="thredfi-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("Thredfi sandbox did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()
        self.state.store.close()

    @property
    def running(self) -> bool:
        """Started and not stopped."""
        return self._thread is not None and self._thread.is_alive() and not self._server.should_exit

    def reset(self, config: SandboxConfig | None = None) -> SandboxServer:
        """Start over on the same port, as a new server would: no records, idempotency keys,
        tokens, counters or faults, and a new signing key, so every token issued before is refused.

        ``config`` replaces the settings (partners and API keys included; its signing key is used
        as given). Strict mode is fixed when the server is built, so it must not change.
        Records written to a ``db_path`` are read back from it, as after a restart.
        """
        if config is None:
            config = dataclasses.replace(self.config, signing_key=secrets.token_hex(32))
        if config.strict != self.config.strict:
            raise ValueError("a sandbox's strict mode is fixed when it is built; start another server")
        state = SandboxState.create(config)
        faults = FaultController(config.faults, state.counters)
        previous = self.state
        self.config = config
        self.app.state.sandbox, self.app.state.faults, self._asgi.controller = state, faults, faults
        previous.store.close()
        return self

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------- test controls

    def set_faults(self, faults: FaultConfig | None = None, **changes: Any) -> FaultConfig:
        """Replace the fault configuration (reseeding the RNG)."""
        controller = self.app.state.faults
        config = faults or FaultConfig()
        controller.configure(dataclasses.replace(config, **changes))
        result: FaultConfig = controller.config
        return result

    def expire_tokens(self) -> None:
        self.state.tokens.expire_all()

    def revoke_tokens(self, business_id: str) -> int:
        return self.state.tokens.revoke(business_id)

    @property
    def issued_tokens(self) -> list[str]:
        """Every token this sandbox minted (newest 100,000): what a leak search looks for."""
        return list(self.state.tokens.issued)

    def counter(self, name: str) -> int:
        return int(self.state.counters[name])

    def records(self, kind: str, business_id: str | None = None) -> list[dict[str, Any]]:
        store = self.state.store
        if business_id is not None:
            return list(store.all(kind, business_id))
        return [
            r
            for owner_records in (store.all(kind, b["id"]) for b in self._all_businesses())
            for r in owner_records
        ]

    def _all_businesses(self) -> list[dict[str, Any]]:
        return [b for partner in self.config.partners for b in self.state.store.all("businesses", partner)]
