"""Small modules with one job each: no module of the package over 300 lines, the routes aside.

The sandbox's route modules mirror the API reference's pages one to one, so they may be longer.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "thredfi_provider"
LIMIT = 300


def test_no_module_is_over_300_lines_except_the_sandbox_routes():
    routes = PACKAGE / "sandbox" / "routes"
    too_long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if routes not in path.parents and (n := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert not too_long, f"split these by job: {too_long}"
