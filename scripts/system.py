"""``make test-system``: the example DAGs end to end (tests/system/) against a Thredfi environment.

With ``THREDFI_SYSTEM_HOST``, ``THREDFI_SYSTEM_PARTNER`` and ``THREDFI_SYSTEM_KEY`` set, against
that environment (``development`` with your development credentials, say). Without them, against
the strict sandbox, started here on a free loopback port and stopped at the end: what CI runs.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from thredfi_provider.sandbox.process import sandbox_process

ROOT = Path(__file__).resolve().parents[1]
SANDBOX_PARTNER = "5b7e2a10-5e5f-4c2b-9a51-2f0d3c4b5a61"


def main() -> int:
    env = dict(os.environ)
    with ExitStack() as stack:
        if not all(env.get(f"THREDFI_SYSTEM_{name}") for name in ("HOST", "PARTNER", "KEY")):
            key = "sk_system_" + secrets.token_urlsafe(16)
            base_url, _ = stack.enter_context(sandbox_process(SANDBOX_PARTNER, key, "--strict"))
            print(f"System tests against the strict sandbox at {base_url}", flush=True)
            env.update(
                THREDFI_SYSTEM_HOST=base_url, THREDFI_SYSTEM_PARTNER=SANDBOX_PARTNER, THREDFI_SYSTEM_KEY=key
            )
        else:
            print(
                f"System tests against {env['THREDFI_SYSTEM_HOST']} (partner {env['THREDFI_SYSTEM_PARTNER']})"
            )
        pytest = [sys.executable, "-m", "pytest", "-q", "-s", "-m", "system", str(ROOT / "tests" / "system"),
                  *sys.argv[1:]]  # fmt: skip
        return subprocess.run(pytest, env=env, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
