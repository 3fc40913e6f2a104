"""The wheel holds the package and its entry points, and nothing else (no tests, no example DAGs).

``make package`` builds the sdist and the wheel and runs ``twine check --strict`` on them; this test
builds the wheel from the work tree (about 3 s) and reads what is in it.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (path,) = out.glob("airflow_provider_thredfi-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def _dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    (member,) = [n for n in wheel.namelist() if n.endswith(f".dist-info/{name}") and n.count("/") == 1]
    return wheel.read(member).decode()


def test_the_wheel_holds_the_package_only(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert "thredfi_provider/get_provider_info.py" in names
    assert "thredfi_provider/sandbox/pytest_plugin.py" in names
    assert "thredfi_provider/client/models.py" in names
    tops = {name.split("/", 1)[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"thredfi_provider"}
    assert not [n for n in names if n.startswith(("tests/", "dags/", "benchmarks/", "scripts/", "docs/"))]


def test_the_wheel_declares_the_airflow_and_pytest_entry_points(wheel: zipfile.ZipFile) -> None:
    entry_points = configparser.ConfigParser()
    entry_points.read_string(_dist_info(wheel, "entry_points.txt"))
    assert dict(entry_points["apache_airflow_provider"]) == {
        "provider_info": "thredfi_provider.get_provider_info:get_provider_info"
    }
    assert dict(entry_points["pytest11"]) == {"thredfi_sandbox": "thredfi_provider.sandbox.pytest_plugin"}


def test_the_metadata_declares_pydantic_and_the_project_urls(wheel: zipfile.ZipFile) -> None:
    metadata: Message = Parser().parsestr(_dist_info(wheel, "METADATA"))
    requires = [r for r in metadata.get_all("Requires-Dist", []) if "extra ==" not in r]
    assert any(r.replace(" ", "").startswith("pydantic>=2") for r in requires), requires
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL", []))
    assert set(urls) == {"Documentation", "Source", "Changelog", "Issues"}
    assert metadata["Description-Content-Type"] == "text/markdown"
