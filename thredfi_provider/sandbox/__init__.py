"""A local Thredfi Partner API for tests and demos (never imported by operators).

``from thredfi_provider.sandbox import SandboxServer`` loads FastAPI and uvicorn only then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thredfi_provider.sandbox.config import FaultConfig, SandboxConfig
    from thredfi_provider.sandbox.server import SandboxServer

__all__ = ["FaultConfig", "SandboxConfig", "SandboxServer"]


def __getattr__(name: str) -> Any:
    if name == "SandboxServer":
        from thredfi_provider.sandbox.server import SandboxServer

        return SandboxServer
    if name in ("FaultConfig", "SandboxConfig"):
        from thredfi_provider.sandbox import config

        return getattr(config, name)
    raise AttributeError(name)
