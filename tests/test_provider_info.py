"""Provider metadata is valid against Airflow's own schemas and Airflow discovers the provider."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
import pytest

from thredfi_provider.get_provider_info import get_provider_info

AIRFLOW_DIR = Path(airflow.__file__).parent


def _schema(name: str) -> dict:
    return json.loads((AIRFLOW_DIR / name).read_text())


@pytest.mark.compat
def test_provider_info_matches_airflow_schema():
    jsonschema.validate(get_provider_info(), _schema("provider_info.schema.json"))


def test_connection_types_match_provider_yaml_schema():
    schema = _schema("provider.yaml.schema.json")
    item_schema = {
        **schema["properties"]["connection-types"]["items"],
        "definitions": schema.get("definitions", {}),
    }
    for item in get_provider_info()["connection-types"]:
        jsonschema.validate(item, item_schema)
        assert item["conn-fields"], "declarative conn-fields are expected"


def test_every_listed_module_and_class_imports():
    info = get_provider_info()
    for section in ("hooks", "operators", "sensors", "triggers"):
        for entry in info.get(section, []):
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for conn in info["connection-types"]:
        module, _, cls = conn["hook-class-name"].rpartition(".")
        hook = getattr(importlib.import_module(module), cls)
        assert hook.conn_type == conn["connection-type"]
        assert hook.hook_name == conn["hook-name"]
        assert hook.default_conn_name == "thredfi_default"


def test_entry_point_is_registered():
    names = [ep.value for ep in entry_points(group="apache_airflow_provider")]
    assert "thredfi_provider.get_provider_info:get_provider_info" in names


@pytest.mark.compat
def test_airflow_providers_list_shows_the_package(tmp_path):
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    airflow_bin = Path(sys.executable).with_name("airflow")
    out = subprocess.run(
        [str(airflow_bin), "providers", "list", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    listing = next(line for line in out.stdout.splitlines() if line.startswith("[{"))
    packages = {p["package_name"] for p in json.loads(listing)}
    assert "airflow-provider-thredfi" in packages
