"""``[core] hostname_callable`` for the distributed run: each Celery worker reports its own name.

Both workers share one machine, so the default (the machine's FQDN) would make every task
instance's ``hostname`` the same; ``THREDFI_SCALE_HOSTNAME`` (set per worker by
``scripts/distributed.py``) makes the UI and the run's summary say which worker ran what.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("THREDFI_SCALE_HOSTNAME") or socket.getfqdn()
