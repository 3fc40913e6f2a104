"""What Thredfi holds, looked up once per business (``operators/_sync/lookups.py``)."""

from __future__ import annotations

import pytest

from tests.helpers import make_client
from thredfi_provider.client.errors import ThredfiServerError
from thredfi_provider.operators._sync.lookups import BusinessLookups
from thredfi_provider.sandbox.config import FaultConfig


def test_a_transient_lookup_failure_is_not_remembered(thredfi_sandbox, seeded):
    """An outage during one record's lookup must not fail every later record of the business."""
    lookups = BusinessLookups(make_client(thredfi_sandbox, max_retries=0), seeded)
    lookups.client.business_token(seeded)  # tokens first: the fault below spares nothing
    thredfi_sandbox.set_faults(FaultConfig(error_rate=1.0, error_status=503))
    with pytest.raises(ThredfiServerError):
        _ = lookups.business
    thredfi_sandbox.set_faults()
    assert lookups.business["id"] == seeded
