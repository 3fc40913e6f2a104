"""pytest fixtures for testing DAGs against the sandbox (auto-registered via ``pytest11``).

Kept import-light: the server is imported only when a test asks for a fixture.

Every test gets a sandbox as a new one would be: no records, tokens, counters or faults, a new
random API key and signing key. Building and stopping a server costs about 0.3 s, so the
servers a test used are reset and handed to the next test (same port) rather than stopped;
a sandbox with a ``db_path`` is always new, and one stopped by its test is not reused.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from thredfi_provider.sandbox.config import SandboxConfig
    from thredfi_provider.sandbox.server import SandboxServer


class _Idle:
    """Servers no test holds, by strict mode (fixed when a server is built), each reset on return."""

    def __init__(self) -> None:
        self.servers: dict[bool, list[SandboxServer]] = {}

    def take(self, config: SandboxConfig) -> SandboxServer:
        from thredfi_provider.sandbox.server import SandboxServer

        idle = self.servers.get(config.strict, [])
        if config.db_path is None and idle:
            return idle.pop().reset(config)
        return SandboxServer(config).start()

    def give_back(self, server: SandboxServer) -> None:
        if server.config.db_path is not None or not server.running:
            server.stop()
            return
        from thredfi_provider.sandbox.config import SandboxConfig

        # Drop the test's records now; while idle no key opens it.
        server.reset(SandboxConfig(strict=server.config.strict, partners={}))
        self.servers.setdefault(server.config.strict, []).append(server)

    def stop_all(self) -> None:
        for servers in self.servers.values():
            for server in servers:
                server.stop()
        self.servers.clear()


@pytest.fixture(scope="session")
def _thredfi_idle_sandboxes() -> Iterator[_Idle]:
    idle = _Idle()
    yield idle
    idle.stop_all()


def _forget_shared_clients() -> None:
    """The provider's hooks keep one client per connection settings per process, tokens included.
    A reused sandbox has the same URL, so a test that sets the same API key again would get the
    previous test's client and its refused tokens: forget them, as a new process would."""
    hooks = sys.modules.get("thredfi_provider.hooks.thredfi")
    if hooks is not None:
        hooks.clear_shared_clients()


@pytest.fixture
def thredfi_sandbox_factory(
    _thredfi_idle_sandboxes: _Idle,
) -> Iterator[Callable[..., SandboxServer]]:
    """Start sandboxes with custom settings: ``thredfi_sandbox_factory(pagination="next", faults=...)``,
    ``thredfi_sandbox_factory(strict=True)``.

    Each gets a random API key, so a leak of it in a test log is a real finding.
    """
    from thredfi_provider.sandbox.config import SandboxConfig

    started: list[SandboxServer] = []

    def start(**config: Any) -> SandboxServer:
        config.setdefault(
            "partners", {"3f1c2b7a-9d4e-4c1a-8b2f-6e5d4c3b2a10": "sk_" + secrets.token_urlsafe(24)}
        )
        server = _thredfi_idle_sandboxes.take(SandboxConfig(**config))
        started.append(server)
        return server

    yield start
    for server in started:
        _thredfi_idle_sandboxes.give_back(server)
    if started:
        _forget_shared_clients()


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
