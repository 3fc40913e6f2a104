"""Sync invoices: create, update (PUT) while unpaid, void what the source cancelled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from thredfi_provider.client.resources import INVOICE
from thredfi_provider.operators.job_runner import Outcome, conflict, updated
from thredfi_provider.operators.sync_operator import ThredfiSyncOperator

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.lines import LineItem
    from thredfi_provider.client.models import Invoice
    from thredfi_provider.client.resources import Resource
    from thredfi_provider.operators.business_lookups import BusinessLookups, Record

# States in which a document's amounts are settled: editing or voiding it would rewrite history.
SETTLED = frozenset({"paid", "partially_paid", "partial", "partially paid"})
VOID = frozenset({"void", "voided", "cancelled", "canceled"})


def status_of(held: Record) -> str:
    return str(held.get("status") or "").strip().lower()


def line_payloads(lookups: BusinessLookups, label: str, lines: Sequence[LineItem]) -> list[dict[str, Any]]:
    """Lines in the API reference's shape, with account codes resolved to account ids."""
    rendered = []
    for index, line in enumerate(lines):
        account_id, code = line.account_ref
        if account_id is None and code is not None:
            account_id = lookups.account_id(label, f"line_items[{index}].account_code", code)
        rendered.append(line.payload(account_id))
    return rendered


def put_unless_settled(
    client: ThredfiClient, lookups: BusinessLookups, resource: Resource[Any], what: str,
    payload: dict[str, Any], held: Record, diff: Differences,
) -> Outcome:  # fmt: skip
    """Invoices and bills: a full PUT, refused (as a conflict) once paid or voided.

    What Thredfi answers is compared again: a field its PUT does not take (the API reference's
    update has no ``sent_at``) would otherwise read as "updated" on every run and never land.
    """
    from thredfi_provider.client.compare import differences, is_unknown

    status = status_of(held)
    if status in SETTLED or status in VOID:
        return conflict(held, diff, f"the {what} is {status} in Thredfi and cannot be edited")
    after = client.update(lookups.business_id, resource, str(held["id"]), payload, method="PUT")
    ignored = {k: v for k, v in differences(resource, payload, after).items() if not is_unknown(v[0])}
    if ignored:
        return conflict(after, ignored, f"Thredfi's update of this {what} does not change this field")
    return updated(held, diff)


class ThredfiSyncInvoicesOperator(ThredfiSyncOperator["Invoice"]):
    """Make Thredfi's invoices match the source's and report per record.

    Each record is checked before sending: required fields, integer cents, dates, currency
    equal to the business's base currency, a customer that exists, account codes in the chart
    of accounts. Then a new invoice is created, an edited one is updated (``PUT``) while it is
    unpaid, a cancelled one (``cancelled: true`` or ``status: "cancelled"``) is voided, and an
    edit of a paid or voided invoice is a conflict (see ``on_conflict``).

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
            return None
        if held is None:
            return Outcome("unchanged")  # cancelled before it ever reached Thredfi: nothing to void
        status = status_of(held)
        if status in VOID:
            return Outcome("unchanged", str(held["id"]))
        if status in SETTLED:
            return Outcome(
                "conflict", str(held["id"]), field="cancelled", held=status, sent=True,
                reason=f"the invoice is {status} in Thredfi; refund or credit it instead of voiding",
            )  # fmt: skip
        client.action(lookups.business_id, INVOICE, str(held["id"]), "void")
        return Outcome("voided", str(held["id"]))

    def change(
        self, client: ThredfiClient, lookups: BusinessLookups, record: Invoice, payload: dict[str, Any],
        held: Record, diff: Differences,
    ) -> Outcome:  # fmt: skip
        return put_unless_settled(client, lookups, self.resource, "invoice", payload, held, diff)
