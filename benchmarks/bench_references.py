"""Resolving payment references against the strict published API: pages, not references.

1,000 payments reference invoices by ``external_id`` in a business of 20,000 invoices. The
contract documents no ``external_id`` filter for invoices, so the strict sandbox ignores it.
The operator probes the filter once, sees it ignored, and reads the invoice list once in pages
(an index); a naive client scanning the list per reference would cost 1,000 x 200 requests.
Budget from the issue: at most 20,000 / 100 + 10 list requests. The count is read from the
client itself, so it covers every GET of the invoice list.

    python benchmarks/bench_references.py [--invoices 20000] [--payments 1000]
"""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from harness import (
    client_for,
    invoices,
    key_figures,
    onboard,
    run_operator,
    sandbox,
    table,
    timed,
    use_connection,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--payments", type=int, default=1_000)
    args = parser.parse_args()
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
    from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator

    with sandbox("--strict") as box:
        use_connection(box)
        business_id = onboard(client_for(box), "refs")
        records = invoices("inv", args.invoices)
        run_operator(
            ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=records, max_workers=8)
        )
        step = args.invoices // args.payments
        payments = [
            {"external_id": f"pay-{i}", "amount_cents": 100, "payment_date": "2024-03-10",
             "allocations": [{"invoice_external_id": f"inv-{i * step}", "amount_cents": 100}]}
            for i in range(args.payments)
        ]  # fmt: skip
        lists: list[str] = []
        real = ThredfiClient.request

        def counting(self, method, path, **kwargs):
            if method == "GET" and urlsplit(path).path.rstrip("/").endswith("/invoices"):
                lists.append(path)
            return real(self, method, path, **kwargs)

        ThredfiClient.request = counting  # type: ignore[method-assign]
        summary, seconds = timed(
            run_operator, ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, records=payments)
        )
        ThredfiClient.request = real  # type: ignore[method-assign]
    budget = args.invoices // 100 + 10
    assert (summary["created"], summary["failed"]) == (args.payments, []), summary
    table(
        f"{args.payments} payment references into {args.invoices} invoices, strict sandbox (filter ignored)",
        ["measure", "value"],
        [["invoice list requests", len(lists)], ["budget (invoices/100 + 10)", budget],
         ["naive per-reference scan would cost", args.payments * (args.invoices // 100)],
         ["seconds for the whole payment sync", seconds]],
    )  # fmt: skip
    key_figures("references", invoices=args.invoices, payments=args.payments, list_requests=len(lists),
                budget=budget, within_budget=len(lists) <= budget)  # fmt: skip
    if len(lists) > budget:
        raise SystemExit("over budget")


if __name__ == "__main__":
    main()
