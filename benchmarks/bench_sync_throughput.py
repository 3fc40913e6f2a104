"""Invoice sync throughput: the operator against the raw floor, a hand-written HttpHook job and the guide.

Four ways to push the same invoices into one sandbox process, each into a business of its own,
in the same run:

- **the provider**: ``ThredfiSyncInvoicesOperator`` with default settings;
- **the raw floor**: plain ``requests.Session()``s on 8 threads, two tokens fetched once, one
  POST per invoice with the body already in the API's shape: the least client work there is
  for the same creates;
- **the best hand-written HttpHook job**: what a careful user writes with the HTTP provider's
  ``HttpHook`` (tokens fetched once, one ``get_conn()`` session per thread on 8 threads,
  ``run_and_check`` per invoice);
- **the integration guide's pattern**: what a first integration writes: for every invoice,
  ``requests.post`` a partner token, then a business token, then the invoice, each on a new
  connection.

Loopback has no network latency, so there every rate is bounded by the sandbox's and the
client's CPU on a shared 2-core machine. Users talk to Thredfi over a network, so the same
comparison runs again with a simulated round trip (``--rtt``, default 20 ms, added by the
sandbox to every request). The guide's pattern runs on a sample (``--naive-loopback``, 500
invoices, and ``--naive-sample``, 200 at the round trip): it is strictly sequential, so its
rate is steady from the first invoice, and the sample keeps ``make bench`` within its time
budget; the other three sync all N.

    python benchmarks/bench_sync_throughput.py [--n 2000] [--rtt 0.02] [--naive-loopback 500] [--naive-sample 200]
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from harness import (
    API_KEY,
    PARTNER_ID,
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

THREADS = 8


def api_body(record: dict[str, Any], customer_id: str) -> dict[str, Any]:
    """An invoice in the API's own shape, as a hand-written job sends it."""
    body = {**record, "customer_id": customer_id}
    body.pop("customer_external_id")
    body["line_items"] = [{**li, "unit_price": li["unit_price_cents"]} for li in body["line_items"]]
    return body


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
        response = requests.post(
            f"{base_url}/v1/platform/businesses/{business_id}/invoices/", json=api_body(record, customer_id),
            headers={"Authorization": f"Bearer {business}"}, timeout=30,
        )  # fmt: skip
        response.raise_for_status()


def tokens_once(base_url: str, business_id: str) -> str:
    """A partner token, then the business token: the two requests a whole job needs."""
    partner = requests.post(
        f"{base_url}/v1/platform/oauth2/token/", auth=(PARTNER_ID, API_KEY),
        data={"grant_type": "client_credentials"}, timeout=30,
    ).json()["access_token"]  # fmt: skip
    return str(
        requests.post(
            f"{base_url}/v1/platform/{business_id}/oauth2/token/",
            headers={"Authorization": f"Bearer {partner}"}, timeout=30,
        ).json()["access_token"]
    )  # fmt: skip


def in_threads(records: list[dict[str, Any]], job: Any) -> None:
    """``job(chunk)`` on each of THREADS interleaved slices of ``records``, in parallel."""
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(job, [records[i::THREADS] for i in range(THREADS)]))


def raw_floor(base_url: str, business_id: str, customer_id: str, records: list[dict]) -> None:
    """Plain ``requests.Session()``s on 8 threads: two tokens, then one POST per invoice."""
    token = tokens_once(base_url, business_id)
    url = f"{base_url}/v1/platform/businesses/{business_id}/invoices/"
    bodies = [api_body(record, customer_id) for record in records]

    def job(chunk: list[dict[str, Any]]) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"
            for body in chunk:
                session.post(url, json=body, timeout=30).raise_for_status()

    in_threads(bodies, job)


def httphook_job(base_url: str, business_id: str, customer_id: str, records: list[dict]) -> None:
    """The best hand-written ``HttpHook`` job: tokens once, a session per thread, ``run_and_check``."""
    from airflow.providers.http.hooks.http import HttpHook

    os.environ["AIRFLOW_CONN_THREDFI_HTTP"] = base_url
    token = tokens_once(base_url, business_id)
    hook = HttpHook(method="POST", http_conn_id="thredfi_http")
    bodies = [api_body(record, customer_id) for record in records]

    def job(chunk: list[dict[str, Any]]) -> None:
        session = hook.get_conn(headers={"Authorization": f"Bearer {token}"})
        url = f"{hook.base_url}/v1/platform/businesses/{business_id}/invoices/"
        for body in chunk:
            prepared = session.prepare_request(requests.Request("POST", url, json=body))
            hook.run_and_check(session, prepared, {"timeout": 30})

    in_threads(bodies, job)


def compare(n: int, naive_n: int, *flags: str) -> dict[str, float]:
    """The four patterns against one fresh sandbox: rates and token requests."""
    from thredfi_provider.hooks import thredfi as hook_module
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    hook_module.clear_shared_clients()  # a fresh process's token cache, as a new task would have
    with sandbox(*flags) as box:
        use_connection(box)
        setup = client_for(box)
        businesses = {name: onboard(setup, f"bench-{name}") for name in ("raw", "operator", "hook", "naive")}
        customer = {
            name: next(iter(setup.list_records(business, "customers")))["id"]
            for name, business in businesses.items()
        }
        result: dict[str, float] = {}

        def measure(name: str, count: int, run: Any) -> None:
            before = box.token_requests()
            _, seconds = timed(run)
            result[f"{name}_rate"] = count / seconds
            result[f"{name}_seconds"] = seconds
            result[f"{name}_tokens"] = box.token_requests() - before

        measure(
            "raw", n, lambda: raw_floor(box.base_url, businesses["raw"], customer["raw"], invoices("raw", n))
        )
        operator = ThredfiSyncInvoicesOperator(
            task_id="sync", business_id=businesses["operator"], records=invoices("op", n)
        )
        measure("operator", n, lambda: result.setdefault("created", run_operator(operator)["created"]))
        assert result["created"] == n, result
        measure("hook", n, lambda: httphook_job(box.base_url, businesses["hook"], customer["hook"],
                                                invoices("hook", n)))  # fmt: skip
        measure("naive", naive_n, lambda: naive_guide_pattern(box.base_url, businesses["naive"],
                                                              customer["naive"], invoices("naive", naive_n)))  # fmt: skip
        for name in ("raw", "hook"):
            held = sum(1 for _ in setup.list_records(businesses[name], "invoices"))
            assert held == n, (name, held)
    result["naive_tokens_per_1000"] = result["naive_tokens"] * 1000 / naive_n
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rtt", type=float, default=0.02, help="simulated round trip, seconds")
    parser.add_argument("--naive-loopback", type=int, default=500, help="guide's sample on loopback")
    parser.add_argument("--naive-sample", type=int, default=200, help="guide's sample at the round trip")
    args = parser.parse_args()

    local = compare(args.n, min(args.naive_loopback, args.n))
    remote = compare(args.n, min(args.naive_sample, args.n), "--latency-seconds", str(args.rtt))
    rtt_ms = round(args.rtt * 1000)
    scenarios = (
        ("loopback", local, min(args.naive_loopback, args.n)),
        (f"{rtt_ms} ms RTT", remote, min(args.naive_sample, args.n)),
    )
    patterns = (
        ("operator", "ThredfiSyncInvoicesOperator (defaults)"),
        ("raw", "raw floor: requests.Session(), 8 threads"),
        ("hook", "hand-written HttpHook job, 8 threads"),
        ("naive", "integration guide (fresh tokens, no session)"),
    )
    rows = []
    for label, r, naive_n in scenarios:
        for key, name in patterns:
            count = naive_n if key == "naive" else args.n
            rows.append([f"{label}: {name}", count, r[f"{key}_seconds"], r[f"{key}_rate"], r[f"{key}_tokens"],
                         r[f"{key}_tokens"] * 1000 / count])  # fmt: skip
    table(
        "Invoice sync, one sandbox per scenario, same run",
        ["pattern", "invoices", "seconds", "invoices/s", "token requests", "tokens per 1,000"],
        rows,
    )
    table(
        "The provider side by side: its invoices/s over each other pattern's",
        ["scenario", "operator / raw floor", "operator / HttpHook job", "operator / guide"],
        [[label, r["operator_rate"] / r["raw_rate"], r["operator_rate"] / r["hook_rate"],
          r["operator_rate"] / r["naive_rate"]] for label, r, _ in scenarios],
    )  # fmt: skip
    key_figures(
        "sync_throughput",
        n=args.n,
        loopback_operator_per_s=local["operator_rate"],
        loopback_vs_raw_floor=local["operator_rate"] / local["raw_rate"],
        loopback_vs_httphook=local["operator_rate"] / local["hook_rate"],
        loopback_vs_guide=local["operator_rate"] / local["naive_rate"],
        rtt_operator_per_s=remote["operator_rate"],
        rtt_vs_raw_floor=remote["operator_rate"] / remote["raw_rate"],
        rtt_vs_httphook=remote["operator_rate"] / remote["hook_rate"],
        rtt_vs_guide=remote["operator_rate"] / remote["naive_rate"],
        operator_token_requests=max(local["operator_tokens"], remote["operator_tokens"]),
        naive_tokens_per_1000=local["naive_tokens_per_1000"],
    )


if __name__ == "__main__":
    main()
