"""Invoice sync throughput: ThredfiSyncInvoicesOperator vs the integration guide's pattern, and the ceiling.

The guide's pattern is what a first integration writes: for every invoice, ``requests.post`` a
partner token, then a business token, then the invoice, each on a new connection. The operator
shares one session and one token cache over ``max_workers`` threads. Both push the same number
of invoices to the same sandbox process in the same run, into two businesses of equal size. The
ceiling is the sandbox's own rate for a trivial authenticated GET over keep-alive connections:
the operator's invoices/s as a fraction of it says how much of the server the operator uses.

Loopback has no network latency, so there the ratio is bounded by the sandbox's CPU (the guide's
pattern makes 3 requests per invoice, the operator about 1). Users talk to Thredfi over a
network, so the same comparison runs again with a simulated round trip (``--rtt``, default 20 ms,
added by the sandbox to every request). There the guide's pattern runs on a sample of
``--naive-sample`` invoices (it is strictly sequential, so its rate is steady from the first
invoice) to keep the whole benchmark within its time budget; the operator still syncs all N.

    python benchmarks/bench_sync_throughput.py [--n 2000] [--rtt 0.02] [--naive-sample 200]
"""

from __future__ import annotations

import argparse
import threading
import time

import requests
from harness import (
    API_KEY,
    PARTNER_ID,
    Sandbox,
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


def naive_guide_pattern(base_url: str, business_id: str, customer_id: str, records: list[dict]) -> None:
    """The integration guide's code, once per invoice: no session, no token reuse."""
    for record in records:
        partner = requests.post(
            f"{base_url}/v1/platform/oauth2/token/", auth=(PARTNER_ID, API_KEY),
            data={"grant_type": "client_credentials"}, timeout=30,
        ).json()["access_token"]  # fmt: skip
        business = requests.post(
            f"{base_url}/v1/platform/{business_id}/oauth2/token/",
            headers={"Authorization": f"Bearer {partner}"}, timeout=30,
        ).json()["access_token"]  # fmt: skip
        body = {**record, "customer_id": customer_id}
        body.pop("customer_external_id")
        body["line_items"] = [{**li, "unit_price": li["unit_price_cents"]} for li in body["line_items"]]
        response = requests.post(
            f"{base_url}/v1/platform/businesses/{business_id}/invoices/", json=body,
            headers={"Authorization": f"Bearer {business}"}, timeout=30,
        )  # fmt: skip
        response.raise_for_status()


def ceiling(box: Sandbox, business_id: str, seconds: float = 3.0, threads: int = 8) -> float:
    """Requests/s the sandbox answers for GET business with keep-alive sessions, saturated."""
    token = client_for(box).business_token(business_id)
    url = f"{box.base_url}/v1/platform/businesses/{business_id}/invoices/?page_size=1"
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def worker(slot: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"
            while time.perf_counter() < stop:
                session.get(url, timeout=30).raise_for_status()
                counts[slot] += 1

    start = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def compare(n: int, naive_n: int, *flags: str) -> dict[str, float]:
    """Operator and guide pattern against one fresh sandbox; rates, token counts and the ceiling."""
    from thredfi_provider.hooks import thredfi as hook_module
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    hook_module.clear_shared_clients()  # a fresh process's token cache, as a new task would have
    with sandbox(*flags) as box:
        use_connection(box)
        setup = client_for(box)
        op_business = onboard(setup, "bench-operator")
        naive_business = onboard(setup, "bench-naive")
        naive_customer = next(iter(setup.list_records(naive_business, "customers")))["id"]

        tokens_before = box.token_requests()
        operator = ThredfiSyncInvoicesOperator(
            task_id="sync", business_id=op_business, records=invoices("op", n)
        )
        summary, op_seconds = timed(run_operator, operator)
        op_tokens = box.token_requests() - tokens_before
        assert summary["created"] == n, summary

        tokens_before = box.token_requests()
        _, naive_seconds = timed(
            naive_guide_pattern, box.base_url, naive_business, naive_customer, invoices("naive", naive_n)
        )
        naive_tokens = box.token_requests() - tokens_before
        top = ceiling(box, op_business)
    return {
        "op_seconds": op_seconds, "op_rate": n / op_seconds, "op_tokens": op_tokens,
        "naive_seconds": naive_seconds, "naive_rate": naive_n / naive_seconds,
        "naive_tokens_per_1000": naive_tokens * 1000 / naive_n, "ceiling": top,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rtt", type=float, default=0.02, help="simulated round trip, seconds")
    parser.add_argument("--naive-sample", type=int, default=200)
    args = parser.parse_args()

    local = compare(args.n, args.n)
    remote = compare(args.n, min(args.naive_sample, args.n), "--latency-seconds", str(args.rtt))
    rtt_ms = round(args.rtt * 1000)
    rows = []
    for label, r, naive_n in (
        ("loopback", local, args.n),
        (f"{rtt_ms} ms RTT", remote, min(args.naive_sample, args.n)),
    ):
        rows.append(
            [
                f"{label}: ThredfiSyncInvoicesOperator (defaults)",
                args.n,
                r["op_seconds"],
                r["op_rate"],
                r["op_tokens"],
                r["op_tokens"] * 1000 / args.n,
            ]
        )
        rows.append(
            [
                f"{label}: integration guide (fresh tokens, no session)",
                naive_n,
                r["naive_seconds"],
                r["naive_rate"],
                "",
                r["naive_tokens_per_1000"],
            ]
        )
    table(
        "Invoice sync, same sandbox per scenario, same run",
        ["pattern", "invoices", "seconds", "invoices/s", "token requests", "tokens per 1,000"],
        rows,
    )
    table(
        "Ceiling: trivial authenticated GET, 8 keep-alive sessions",
        ["scenario", "sandbox requests/s", "operator as a fraction of it", "operator / guide"],
        [
            [
                "loopback",
                local["ceiling"],
                local["op_rate"] / local["ceiling"],
                local["op_rate"] / local["naive_rate"],
            ],
            [
                f"{rtt_ms} ms RTT",
                remote["ceiling"],
                remote["op_rate"] / remote["ceiling"],
                remote["op_rate"] / remote["naive_rate"],
            ],
        ],
    )
    key_figures(
        "sync_throughput",
        n=args.n,
        loopback_operator_per_s=local["op_rate"],
        loopback_naive_per_s=local["naive_rate"],
        loopback_speedup=local["op_rate"] / local["naive_rate"],
        rtt_operator_per_s=remote["op_rate"],
        rtt_naive_per_s=remote["naive_rate"],
        rtt_speedup=remote["op_rate"] / remote["naive_rate"],
        operator_token_requests=max(local["op_tokens"], remote["op_tokens"]),
        naive_tokens_per_1000=local["naive_tokens_per_1000"],
        loopback_fraction_of_ceiling=local["op_rate"] / local["ceiling"],
    )


if __name__ == "__main__":
    main()
