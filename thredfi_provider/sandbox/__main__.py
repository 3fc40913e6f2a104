"""``python -m thredfi_provider.sandbox`` / ``thredfi-sandbox``: serve the sandbox on a port."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading

from thredfi_provider.sandbox.config import (
    DEFAULT_API_KEY,
    DEFAULT_PARTNER_ID,
    FaultConfig,
    SandboxConfig,
    strict_from_env,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env_faults = FaultConfig.from_env()
    parser = argparse.ArgumentParser(prog="thredfi-sandbox", description="Local Thredfi Partner API sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("THREDFI_SANDBOX_PORT", "8765")))
    parser.add_argument("--db", help="SQLite file that keeps state across restarts (default: memory only)")
    parser.add_argument(
        "--partner-id", default=os.environ.get("THREDFI_SANDBOX_PARTNER_ID", DEFAULT_PARTNER_ID)
    )
    parser.add_argument("--api-key", default=os.environ.get("THREDFI_SANDBOX_API_KEY", DEFAULT_API_KEY))
    parser.add_argument(
        "--token-lifetime", type=int, default=None, help="seconds (default: 3600, or 5 with --strict)"
    )
    parser.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=strict_from_env(),
        help="hold clients to the API reference (docs/sandbox.md; also THREDFI_SANDBOX_STRICT=1)",
    )
    parser.add_argument("--pagination", choices=["both", "next", "page_info"], default="both")
    parser.add_argument("--partner-token-body", choices=["any", "form", "json"], default="any")
    parser.add_argument(
        "--activation-delay", type=float, default=0.0, help="seconds before a business is active"
    )
    faults = parser.add_argument_group("fault injection (also THREDFI_SANDBOX_<NAME> env vars)")
    for field in dataclasses.fields(FaultConfig):
        flag = "--" + field.name.replace("_", "-")
        default = getattr(env_faults, field.name)
        if isinstance(default, bool):
            faults.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            faults.add_argument(flag, type=type(default), default=default)
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    fault_config = FaultConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(FaultConfig)})
    return SandboxConfig(
        partners={args.partner_id: args.api_key},
        token_lifetime=args.token_lifetime,
        pagination=args.pagination,
        partner_token_body=args.partner_token_body,
        activation_delay=args.activation_delay,
        db_path=args.db,
        faults=fault_config,
        strict=args.strict,
    )


def connection_help(connection: str) -> str:
    """What to paste into Airflow: the host is the sandbox's http:// URL, so no ``scheme`` extra is
    needed (the environment name ``sandbox`` means Thredfi's own https://sandbox.thredfi.com)."""
    return (
        "Point Airflow at it (the key is this sandbox's, not a secret):\n"
        f"  export AIRFLOW_CONN_THREDFI_DEFAULT='{connection}'\n"
        "or\n"
        f"  airflow connections add thredfi_default --conn-json '{connection}'"
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = config_from_args(args)
    from thredfi_provider.sandbox.server import SandboxServer

    server = SandboxServer(config, host=args.host, port=args.port).start()
    mode = " in strict mode" if config.strict else ""
    print(f"Thredfi sandbox listening on {server.base_url} (partner {server.partner_id}){mode}", flush=True)
    print(connection_help(server.connection_json()), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
