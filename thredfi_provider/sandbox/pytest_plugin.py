"""pytest fixtures for testing DAGs against the sandbox (auto-registered via ``pytest11``).

Kept import-light: the server is imported only when a test asks for a fixture.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from thredfi_provider.sandbox.server import SandboxServer


@pytest.fixture
def thredfi_sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    """Start sandboxes with custom settings: ``thredfi_sandbox_factory(pagination="next", faults=...)``,
    ``thredfi_sandbox_factory(strict=True)``.

    Each gets a random API key, so a leak of it in a test log is a real finding.
    """
    from thredfi_provider.sandbox.config import SandboxConfig
    from thredfi_provider.sandbox.server import SandboxServer

    started: list[SandboxServer] = []

    def start(**config: Any) -> SandboxServer:
        config.setdefault(
            "partners", {"3f1c2b7a-9d4e-4c1a-8b2f-6e5d4c3b2a10": "sk_" + secrets.token_urlsafe(24)}
        )
        server = SandboxServer(SandboxConfig(**config)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def thredfi_sandbox(thredfi_sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    """A fresh sandbox with default settings."""
    return thredfi_sandbox_factory()


@pytest.fixture
def thredfi_strict_sandbox(thredfi_sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    """A fresh sandbox in strict mode: the API reference's fields, filters and errors, 5 s tokens."""
    return thredfi_sandbox_factory(strict=True)


@pytest.fixture
def thredfi_conn_id(thredfi_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """``thredfi_default`` pointing at the sandbox, through ``AIRFLOW_CONN_THREDFI_DEFAULT``."""
    from thredfi_provider.hooks.thredfi import ThredfiHook  # here, not at plugin load: import-free

    conn_id = ThredfiHook.default_conn_name
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", thredfi_sandbox.connection_uri())
    return conn_id
