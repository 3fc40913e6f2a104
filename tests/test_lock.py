"""The installs are the tested set: uv.lock agrees with pyproject.toml, every compat line has its pins.

A fresh machine that resolves the newest of everything can turn main red overnight (cryptography 51
did it to Airflow 2.11, 3.0 and 3.1 with nothing in the repo changed). These tests fail when the
lock and ``pyproject.toml`` name different dependencies, when a compat line has no constraints file
or one that leaves a package floating, and when the compat script would run a line without it.
"""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = tomllib.loads((ROOT / "uv.lock").read_text())


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def scripts(name: str) -> Any:
    """A module of ``scripts/`` (not a package: the scripts import each other by name)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "scripts"))


def declared() -> set[tuple[str, frozenset[str], str, str]]:
    """pyproject's dependencies and extras as (name, extras, specifier, marker).

    An extra that names the project itself (``dev`` takes ``[test,docs]``) is flattened, as uv
    records it.
    """
    project = PYPROJECT["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]

    def flat(extra: str) -> list[Requirement]:
        out = []
        for req in map(Requirement, extras[extra]):
            if normal(req.name) == normal(project["name"]):
                out += [r for inner in sorted(req.extras) for r in flat(inner)]
            else:
                out.append(req)
        return out

    def entry(req: Requirement, extra: str | None) -> tuple[str, frozenset[str], str, str]:
        marker = str(req.marker) if req.marker else ""
        if extra is not None:
            marker = f"extra == '{extra}'" + (f" and ({marker})" if marker else "")
        return (normal(req.name), frozenset(req.extras), str(SpecifierSet(str(req.specifier))), marker)

    found = {entry(Requirement(text), None) for text in project["dependencies"]}
    return found | {entry(req, extra) for extra in extras for req in flat(extra)}


def locked_root() -> dict[str, Any]:
    return next(p for p in LOCK["package"] if p["name"] == PYPROJECT["project"]["name"])


def locked() -> set[tuple[str, frozenset[str], str, str]]:
    """What uv.lock recorded of pyproject when it was last resolved."""
    return {
        (
            normal(entry["name"]),
            frozenset(entry.get("extras", [])),
            str(SpecifierSet(entry.get("specifier", ""))),
            entry.get("marker", ""),
        )
        for entry in locked_root()["metadata"]["requires-dist"]
    }


def locked_version(name: str) -> set[str]:
    return {str(p["version"]) for p in LOCK["package"] if normal(p["name"]) == normal(name)}


def test_the_lock_names_what_pyproject_declares() -> None:
    only_pyproject = sorted(map(str, declared() - locked()))
    only_lock = sorted(map(str, locked() - declared()))
    hint = "uv.lock and pyproject.toml disagree: run `make lock` and commit uv.lock"
    assert not only_pyproject, f"{hint}; in pyproject.toml only: {only_pyproject}"
    assert not only_lock, f"{hint}; in uv.lock only: {only_lock}"


def test_the_lock_has_every_extra() -> None:
    assert set(locked_root()["metadata"]["provides-extras"]) == set(
        PYPROJECT["project"]["optional-dependencies"]
    )


def test_the_build_backend_is_pinned_once_everywhere() -> None:
    """The editable install's build (hatchling) floats unless pinned; the three places agree."""
    (pin,) = PYPROJECT["tool"]["uv"]["build-constraint-dependencies"]
    req = Requirement(pin)
    assert normal(req.name) == "hatchling"
    assert str(req.specifier).startswith("=="), f"{pin} is not a pin"
    version = str(req.specifier)[2:]
    build = (ROOT / "constraints" / "build.txt").read_text()
    assert f"hatchling=={version}\n" in build
    assert locked_version("hatchling") == {version}


def test_make_installs_the_lock_with_a_pinned_installer() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^UV_VERSION := \d+\.\d+\.\d+$", makefile, re.M)
    assert '"uv==$(UV_VERSION)"' in makefile
    install = makefile.split("$(STAMP): pyproject.toml uv.lock\n", 1)[1].split("\n\n", 1)[0]
    assert "uv sync" in install
    assert "--locked" in install
    assert "uv pip install" not in install
    assert "--upgrade" not in install


LINES = scripts("constraints").LINES


@pytest.mark.parametrize("line", LINES)
def test_every_compat_line_pins_every_package(line: str) -> None:
    text = (ROOT / "constraints" / f"airflow-{line}.txt").read_text()
    entries = [x for x in text.splitlines() if x.strip() and not x.startswith("#")]
    loose = [x for x in entries if not re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[^\s;]+( ; .*)?", x)]
    assert entries
    assert not loose, f"floating in airflow-{line}.txt: {loose}"
    airflow = [x for x in entries if x.startswith("apache-airflow==")]
    assert len(airflow) == 1
    assert airflow[0].startswith(f"apache-airflow=={line}."), airflow


@pytest.mark.parametrize("line", LINES)
def test_each_lines_known_pins_hold_in_its_file(line: str) -> None:
    constraints = scripts("constraints")
    pinned = {
        normal(name): version
        for name, _, version in (
            x.split(" ;")[0].partition("==")
            for x in (ROOT / "constraints" / f"airflow-{line}.txt").read_text().splitlines()
        )
        if version
    }
    for pin in constraints.PINS.get(line, []):
        req = Requirement(pin)
        assert req.specifier.contains(pinned[normal(req.name)]), (
            f"{line}: {req.name}=={pinned[normal(req.name)]} breaks {pin}"
        )


def test_cryptography_51_is_kept_away_from_airflow_2_11() -> None:
    """The breakage that turned CI red (Fernet's ``is_encrypted`` gone): named, so it stays pinned."""
    assert "cryptography<51" in scripts("constraints").PINS["2.11"]
    text = (ROOT / "constraints" / "airflow-2.11.txt").read_text()
    version = re.search(r"^cryptography==(\d+)\.", text, re.M)
    assert version is not None
    assert int(version.group(1)) < 51


@pytest.mark.parametrize("line", LINES)
def test_the_compat_install_uses_the_lines_constraints(line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    compat = scripts("compat")
    monkeypatch.setattr(
        compat, "uv", lambda: "uv"
    )  # the command is checked, not run (make test-newest has no uv)
    command = compat.install_command(line, Path("/nowhere/python"))
    assert command[command.index("-c") + 1] == str(ROOT / "constraints" / f"airflow-{line}.txt")
    assert command[command.index("--build-constraints") + 1] == str(ROOT / "constraints" / "build.txt")


def test_a_line_without_its_constraints_file_does_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    constraints = scripts("constraints")
    compat = scripts("compat")
    monkeypatch.setattr(compat, "uv", lambda: "uv")
    monkeypatch.setattr(constraints, "CONSTRAINTS", tmp_path)
    with pytest.raises(SystemExit, match=r"no constraints file for Airflow 2\.11"):
        compat.install_command("2.11", Path("/nowhere/python"))
