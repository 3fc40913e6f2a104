"""After an ambiguous failure, read, then decide: a state change settled by the record's state.

A void, an archive or an unarchive is a POST that Thredfi may apply and whose answer may then be
lost (a dropped connection, a proxy's 502). The client retries it, and the retry meets the
state the first attempt made: a strict server answers a second void of a void invoice with 409
(CONTRACT.md §5.5), so the retry's status says "conflict" for a void that succeeded. Which of the
two happened is not in the error; it is in the record. So when the action fails in a way that
leaves it unknown whether it applied, the record is read back and its state decides: already in
the state asked for is success; anything else re-raises the original error. A genuine conflict
(voiding a paid invoice) reads back as paid, so it stays a conflict.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from thredfi_provider.client.errors import ThredfiConflictError, ThredfiError, ThredfiTransientError

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.resources import Resource

log = logging.getLogger(__name__)

Record = dict[str, Any]


def is_ambiguous(exc: ThredfiError) -> bool:
    """Whether the action may have been applied despite the error, or the error may be its echo.

    - 409: a state conflict, which is what a retry of an applied void, archive or unarchive gets
      from a strict server; or a genuine one. Only the record can tell.
    - transient (connection dropped, timeout, 5xx, 429 once retries ran out): an attempt may have
      reached Thredfi and been applied before its answer was lost.

    400, 401, 403 and 404 are refusals of the request itself: nothing was applied.
    """
    return isinstance(exc, ThredfiConflictError | ThredfiTransientError)


def act_or_read_back(
    client: ThredfiClient,
    business_id: str,
    resource: Resource,
    record_id: str,
    action: str,
    *,
    done: Callable[[Record], bool],
    read: Callable[[str], Record] | None = None,
) -> Record:
    """POST ``action`` on the record; on an ambiguous failure, read it back and ask ``done``.

    Returns what Thredfi answered, or the record read back when it is already in the state the
    action asks for. Otherwise raises the action's own error: a failed read-back does too (it
    settles nothing, and the original error is the one that says what went wrong).

    ``read`` reads one record by id (the operator's, which may fall back to a list); by
    default ``client.get``.
    """
    try:
        return client.action(business_id, resource, record_id, action)
    except ThredfiError as exc:
        if not is_ambiguous(exc):
            raise
        failure = exc
    reader = read or (lambda rid: client.get(business_id, resource, rid))
    try:
        held = reader(record_id)
    except ThredfiError as unread:
        log.warning(
            "%s %s %s failed and reading it back failed too: %s", action, resource.name, record_id, unread
        )
        raise failure from None
    if not done(held):
        raise failure
    log.info(
        "%s %s %s: the call failed (%s) but Thredfi already holds it in the state asked for: done",
        action, resource.name, record_id, type(failure).__name__,
    )  # fmt: skip
    return held
