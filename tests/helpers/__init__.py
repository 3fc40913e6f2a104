"""Plain builders the suites share; fixtures live in ``conftest.py``.

The common ones, from ``builders``, are importable from here: ``make_client``, ``onboard``,
``business_with_parties``, ``held``, ``FAST_BACKOFF``, ``ROOT`` and ``DAGS``. The other modules each serve one kind of test:
``operators`` (run an operator with a stub context; invoice records), ``reliability`` (task
retries and the exact final state), ``sandbox_http`` (bare HTTP callers and request bodies for
the sandbox's own suite), ``guide`` (the integration guide's code), ``hostile_server`` (a
server that misbehaves on purpose) and ``sensors`` (an invoice paid while a sensor waits).
"""

from tests.helpers.builders import DAGS, FAST_BACKOFF, ROOT, business_with_parties, held, make_client, onboard

__all__ = ["DAGS", "FAST_BACKOFF", "ROOT", "business_with_parties", "held", "make_client", "onboard"]
