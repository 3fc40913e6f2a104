"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from thredfi_provider.version import __version__

INTEGRATION = "Thredfi"

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema"],
    "relabeling": {"login": "Partner UUID", "password": "API key", "host": "Environment or base URL"},
    # The port is shown: "Test" in Airflow 3.3's connection list sends the form's port (0 when the
    # field is hidden), which the api-server compares with the stored one.
    "placeholders": {
        "login": "00000000-0000-0000-0000-000000000000",
        "password": "Thredfi partner API key",
        "host": "sandbox | development | staging | production | https://...",
    },
}

# Every extra the connection parser reads (hooks/connection.py derives its numbers from this), the
# form shows, and docs/connection.md lists: one list, held equal by tests/hooks/test_connection_config.py.
CONN_FIELDS: dict[str, Any] = {
    "base_url": {
        "label": "Base URL",
        "description": "Overrides the host when you keep the URL in the extras.",
        "schema": {"type": ["string", "null"]},
    },
    "scheme": {
        "label": "Scheme",
        "description": "For a host without one: https (default), or http for a local sandbox.",
        "schema": {"type": ["string", "null"], "enum": ["https", "http", None]},
    },
    "timeout": {
        "label": "Timeout (s)",
        "description": "Each socket operation (connect, each read) in seconds.",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": 30},
    },
    "attempt_timeout": {
        "label": "Attempt deadline (s)",
        "description": "One attempt as a whole: connect plus the entire answer, however slowly it drips.",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": 60},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retries for connection errors, 429 and 5xx (exponential backoff with jitter).",
        "schema": {"type": ["integer", "null"], "minimum": 0, "maximum": 20, "default": 5},
    },
    "max_retry_seconds": {
        "label": "Retry budget (s)",
        "description": "One call's whole time, retries and waits included; a longer Retry-After "
        "ends the call with a retryable error.",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": 120},
    },
    "backoff_initial": {
        "label": "Backoff start (s)",
        "description": "The first wait between retries; exponential with full jitter after it.",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": 0.5},
    },
    "backoff_max": {
        "label": "Backoff cap (s)",
        "description": "The longest wait between two retries.",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": 30},
    },
    "page_size": {
        "label": "Page size",
        "description": "Records per list page (Thredfi allows at most 100).",
        "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": 100, "default": 100},
    },
    "pool_size": {
        "label": "Connection pool",
        "description": "HTTP connections kept alive per host.",
        "schema": {"type": ["integer", "null"], "minimum": 1, "default": 32},
    },
    "verify": {
        "label": "Verify TLS",
        "description": "Verify TLS certificates (or a CA bundle path in the extra JSON).",
        "schema": {"type": ["boolean", "null"], "default": True},
    },
    "allow_insecure_http": {
        "label": "Allow plain http",
        "description": "Permit http:// to a non-loopback host. Never needed for Thredfi itself.",
        "schema": {"type": ["boolean", "null"], "default": False},
    },
}


ASSET_URIS: dict[str, Any] = {
    "schemes": ["thredfi"],
    "handler": "thredfi_provider.assets.sanitize_uri",
    "factory": "thredfi_provider.assets.create_asset",
    "to_openlineage_converter": "thredfi_provider.assets.convert_asset_to_openlineage",
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-thredfi",
        "name": "Thredfi",
        "description": "Sync businesses, customers, invoices, payments and bills to the "
        "`Thredfi <https://thredfi.com>`__ accounting API and export its general ledger.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://docs.thredfi.com/",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": INTEGRATION, "python-modules": ["thredfi_provider.hooks.thredfi"]}],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "thredfi_provider.operators.businesses",
                    "thredfi_provider.operators.parties",
                    "thredfi_provider.operators.invoices",
                    "thredfi_provider.operators.payments",
                    "thredfi_provider.operators.bills",
                    "thredfi_provider.operators.ledger",
                    "thredfi_provider.operators.generic",
                    "thredfi_provider.operators.reconcile",
                ],
            }
        ],
        "sensors": [
            {"integration-name": INTEGRATION, "python-modules": ["thredfi_provider.sensors.resource"]}
        ],
        "triggers": [
            {"integration-name": INTEGRATION, "python-modules": ["thredfi_provider.triggers.resource"]}
        ],
        # Airflow 3 reads asset-uris, 2.11 dataset-uris: one scheme, one normaliser, for both.
        "asset-uris": [ASSET_URIS],
        "dataset-uris": [ASSET_URIS],
        "connection-types": [
            {
                "connection-type": "thredfi",
                "hook-class-name": "thredfi_provider.hooks.thredfi.ThredfiHook",
                "hook-name": "Thredfi",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
    }
