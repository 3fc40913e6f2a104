"""Sync invoices: create, update (PUT) while unpaid, void what the source cancelled."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from thredfi_provider._deprecations import moved_names
from thredfi_provider.client.errors import ThredfiError
from thredfi_provider.client.resources import INVOICE
from thredfi_provider.operators._sync.read_back import act_or_read_back
from thredfi_provider.operators._sync.record_outcome import Outcome, conflict, updated
from thredfi_provider.operators.sync_operator import ThredfiSyncOperator

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.lines import LineItem
    from thredfi_provider.client.models import Invoice
    from thredfi_provider.client.resources import Resource
    from thredfi_provider.operators._sync.lookups import BusinessLookups, Record

# The status rules moved to the registry; the old names work until 2.0, with a warning.
__getattr__ = moved_names(__name__, {
    "SETTLED": "thredfi_provider.client.resources:SETTLED", "VOID": "thredfi_provider.client.resources:VOID",
    "status_of": "thredfi_provider.client.resources:Resource.status_of",
})  # fmt: skip

# update-invoice's published body (CONTRACT.md §5.5): an invoice PUT carries these and nothing else.
# The create's sent_at and metadata are not among them, so a change in either is a conflict.
INVOICE_UPDATE_FIELDS = frozenset({
    "invoice_number", "invoice_type", "memo", "external_id", "due_at", "document", "customer_id",
    "line_items", "additional_discount", "additional_sales_taxes_total", "tips",
})  # fmt: skip


def line_payloads(lookups: BusinessLookups, label: str, lines: Sequence[LineItem]) -> list[dict[str, Any]]:
    """Lines in the API reference's shape, with account codes resolved to account ids."""
    rendered = []
    for index, line in enumerate(lines):
        account_id, code = line.account_ref
        if account_id is None and code is not None:
            account_id = lookups.account_id(label, f"line_items[{index}].account_code", code)
        rendered.append(line.payload(account_id))
    return rendered


def _top(field: str) -> str:
    """``line_items[0].unit_price`` -> ``line_items``: the body field a difference lives in."""
    return re.split(r"[.\[]", field, maxsplit=1)[0]


def put_unless_settled(
    client: ThredfiClient, lookups: BusinessLookups, resource: Resource, what: str,
    payload: dict[str, Any], held: Record, diff: Differences, *, update_fields: frozenset[str] | None = None,
) -> Outcome:  # fmt: skip
    """Invoices and bills: a full PUT, refused (as a conflict) once paid or voided.

    ``update_fields`` are the fields the published update body lists (invoices:
    ``INVOICE_UPDATE_FIELDS``); the PUT carries only those, so a server that refuses unknown
    fields takes it. A changed field outside them cannot reach Thredfi this way: it is a conflict
    naming it (the other changes still applied); when it is the only change and what Thredfi holds
    for it is known, no PUT is sent (a diff from stored sync state does not know it: the PUT's
    answer tells).
    ``None`` sends the whole payload (update-bill's body is not captured, CONTRACT.md §5.8).

    What Thredfi answers is compared again with what was sent: a field its PUT did not take
    would otherwise read as "updated" on every run and never land.
    """
    from thredfi_provider.client.compare import differences, is_unknown

    if resource.is_settled(held) or resource.is_void(held):
        status = resource.status_of(held)
        return conflict(held, diff, f"the {what} is {status} in Thredfi and cannot be edited")
    body = payload if update_fields is None else {k: v for k, v in payload.items() if k in update_fields}
    uncarried = {name: change for name, change in diff.items() if _top(name) not in body}
    unpublished = f"Thredfi's published update of {what}s has no such field"
    only_uncarried = bool(uncarried) and len(uncarried) == len(diff)
    if only_uncarried and not any(is_unknown(theirs) for theirs, _ in uncarried.values()):
        return conflict(held, uncarried, unpublished)  # nothing the PUT could carry: no request
    after = client.update(lookups.business_id, resource, str(held["id"]), body, method="PUT")
    ignored = {k: v for k, v in differences(resource, body, after).items() if not is_unknown(v[0])}
    now = differences(resource, payload, after)  # what Thredfi holds, also where ``held`` did not say
    uncarried = {name: now[name] for name in uncarried if name in now}
    if uncarried:  # the PUT applied what it could; these stay as Thredfi has them
        return conflict(after, uncarried | ignored, f"{unpublished}; the other changes were applied")
    if ignored:
        return conflict(after, ignored, f"Thredfi's update of this {what} does not change this field")
    if only_uncarried:  # ``held`` did not show them, and Thredfi already holds what the source says
        return Outcome("unchanged", str(held["id"]))
    return updated(held, diff)


class ThredfiSyncInvoicesOperator(ThredfiSyncOperator["Invoice"]):
    """Make Thredfi's invoices match the source's and report per record.

    Each record is checked before sending: required fields, integer cents, dates, currency
    equal to the business's base currency, a customer that exists, account codes in the chart
    of accounts. Then a new invoice is created, an edited one is updated (``PUT``) while it is
    unpaid, a cancelled one (``cancelled: true`` or ``status: "cancelled"``) is voided, and an
    edit of a paid or voided invoice is a conflict (see ``on_conflict``). The ``PUT`` carries only
    update-invoice's published fields, so a changed ``sent_at`` or ``metadata`` is a conflict
    too; a void whose answer was lost is settled by reading the invoice back.

    .. seealso:: :doc:`/operators/invoices`
    """

    what: ClassVar[str] = "invoices"
    resource = INVOICE

    @classmethod
    def render(cls, lookups: BusinessLookups, label: str, record: Invoice) -> dict[str, Any]:
        lookups.check_currency(label, record.currency)
        payload = record.payload()
        payload["customer_id"] = lookups.party_id(
            label, "customer", record.customer_id, record.customer_external_id
        )
        payload["line_items"] = line_payloads(lookups, label, record.line_items)
        return payload

    def settle(
        self, client: ThredfiClient, lookups: BusinessLookups, record: Invoice, held: Record | None
    ) -> Outcome | None:
        if not record.cancelled:
            if held is not None and INVOICE.is_void(held):
                return Outcome(
                    "conflict", str(held["id"]), field="cancelled", held=True, sent=False,
                    reason="the invoice is void in Thredfi and a void cannot be undone; issue a new invoice",
                )  # fmt: skip
            return None
        if held is None:
            return Outcome("unchanged")  # cancelled before it ever reached Thredfi: nothing to void
        status = INVOICE.status_of(held)
        if INVOICE.is_void(held):
            return Outcome("unchanged", str(held["id"]))
        if INVOICE.is_settled(held):
            return Outcome(
                "conflict", str(held["id"]), field="cancelled", held=status, sent=True,
                reason=f"the invoice is {status} in Thredfi; refund or credit it instead of voiding",
            )  # fmt: skip
        # A void whose answer was lost is settled by the invoice's state, not the retry's 409.
        act_or_read_back(
            client, lookups.business_id, INVOICE, str(held["id"]), "void",
            done=INVOICE.is_void, read=lambda rid: self.read(client, lookups, rid),
        )  # fmt: skip
        return Outcome("voided", str(held["id"]))

    def read(self, client: ThredfiClient, lookups: BusinessLookups, record_id: str) -> Record:
        """One invoice by id, from its GET, or from the published list when that GET is refused.

        GET invoice by id appears only in the widget (CONTRACT.md §5.1 row 15; no doc page), so a
        404 or 405 from it is not taken as the answer: the list (a published endpoint) is read
        until a row with this id is found, checked here, not by a filter the server may ignore.
        Only an invoice the list does not show either is not found.
        """
        try:
            return client.get(lookups.business_id, INVOICE, record_id)
        except ThredfiError as exc:
            if exc.status not in (404, 405):
                raise
            for row in client.list_records(lookups.business_id, INVOICE):
                if str(row.get("id")) == record_id:
                    return row
            raise

    def change(
        self, client: ThredfiClient, lookups: BusinessLookups, record: Invoice, payload: dict[str, Any],
        held: Record, diff: Differences,
    ) -> Outcome:  # fmt: skip
        fields = INVOICE_UPDATE_FIELDS
        return put_unless_settled(
            client, lookups, self.resource, "invoice", payload, held, diff, update_fields=fields
        )
