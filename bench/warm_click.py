"""Warm CPU per click of the redirect (``GET /go/{slug}``) with DynamoDB I/O stubbed.

Budget (docs/architecture.md §8): warm handler CPU <= 1.5 ms per click excluding I/O; exactly one DynamoDB
write per human click and no other network call (link routes come from the per-container cache).

Variants, each over the same corpus of realistic events (see ``_stubs.corpus``):

- ``serve_click``: ``funil.click.entry.serve_click`` with ``ClickDeps`` built on the real repositories
  and ``Table`` over an in-memory client (``FakeDynamoClient``): the handler's own CPU, including
  its DynamoDB type serialisation, excluding the SDK.
- ``lambda_handler``: ``functions/redirect/app.lambda_handler`` with its module-level ``DEPS``
  replaced by the same stubbed dependencies.
- ``lambda_handler+sdk``: the same handler over the module's real boto3 client, answered in memory
  at botocore's ``before-send`` hook (parameter validation, JSON serialisation, SigV4 signing and
  response parsing run; the socket does not). Not the budget's figure: it shows what the SDK adds
  to billed duration.

The link cache's clock is frozen, so every read after the first per slug would be a cache bug (in
production a container reloads a slug once per LINK_CACHE_SECONDS). Per-click CPU is
``time.process_time_ns`` around the call; the garbage collector stays on, as in Lambda.

Usage: python bench/warm_click.py [--clicks 20000] [--warmup 2000] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stubs

_stubs.use_redirect_env()
_stubs.add_paths()

BUDGET_US = 1500.0
VARIANTS = ("serve_click", "lambda_handler", "lambda_handler+sdk")


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def summarise(values_ns: list[int]) -> dict[str, float]:
    us = sorted(value / 1000 for value in values_ns)
    return {
        "n": len(us),
        "mean_us": statistics.fmean(us) if us else float("nan"),
        "p50_us": _quantile(us, 0.50),
        "p90_us": _quantile(us, 0.90),
        "p99_us": _quantile(us, 0.99),
        "max_us": us[-1] if us else float("nan"),
    }


def _deps(table: Any) -> Any:
    from funil.click.entry import ClickDeps
    from funil.click.storage import Clicks, Links
    from funil.clock import utc_now
    from funil.config import settings

    current = settings()
    return ClickDeps(
        # Frozen clock: the cache never expires during the run.
        links=Links(table, current.link_cache_seconds, monotonic=lambda: 0.0),
        clicks=Clicks(table),
        settings=current,
        now=utc_now,
        # The key is read from Secrets Manager once per container (then every few minutes), not per click.
        ip_hash_key=lambda _arn: _stubs.BENCH_IP_HASH_KEY.encode(),
    )


def build_variant(name: str) -> tuple[Callable[[dict[str, Any]], Any], Any]:
    """(call, store) for a variant; ``store`` counts the DynamoDB calls it receives."""
    from funil.adapters.dynamo import Table
    from funil.click.entry import serve_click

    if name == "serve_click":
        client = _stubs.FakeDynamoClient(_stubs.config_items())
        deps = _deps(Table(_stubs.TABLE_NAME, client))  # type: ignore[arg-type]
        return (lambda event: serve_click(event, deps)), client.store
    import app  # functions/redirect/app.py, imported as Lambda does ("app.lambda_handler")

    context = _stubs.LambdaContext()

    if name == "lambda_handler":
        client = _stubs.FakeDynamoClient(_stubs.config_items())
        app.DEPS = _deps(Table(_stubs.TABLE_NAME, client))  # type: ignore[arg-type]
        return (lambda event: app.lambda_handler(event, context)), client.store
    if name == "lambda_handler+sdk":
        real_client = _stubs.redirect_client()
        store = _stubs.install_wire_stub(real_client, _stubs.config_items())
        app.DEPS = _deps(Table(_stubs.TABLE_NAME, real_client))
        return (lambda event: app.lambda_handler(event, context)), store
    raise ValueError(name)


def _reset_ua_caches() -> None:
    from funil.click import useragent

    useragent.classify.cache_clear()


def run_variant(name: str, warmup: list[tuple[str, dict]], events: list[tuple[str, dict]]) -> dict[str, Any]:
    from funil.click import useragent

    call, store = build_variant(name)
    _reset_ua_caches()
    problems: list[str] = []
    statuses: Counter[int] = Counter()

    def one(kind: str, event: dict[str, Any]) -> tuple[int, bool, int]:
        puts_before = store.calls["PutItem"]
        misses_before = useragent.classify.cache_info().misses
        started = time.process_time_ns()
        response = call(event)
        elapsed = time.process_time_ns() - started
        puts = store.calls["PutItem"] - puts_before
        expected = 0 if kind == "bot" else 1
        if puts != expected and len(problems) < 10:
            problems.append(f"{kind} click made {puts} puts (expected {expected})")
        statuses[response["statusCode"]] += 1
        return elapsed, useragent.classify.cache_info().misses != misses_before, len(response["body"])

    for kind, event in warmup:
        one(kind, event)
    reads_after_warmup = store.calls["GetItem"] + store.calls["BatchGetItem"]
    puts_after_warmup = store.calls["PutItem"]
    statuses.clear()
    gc.collect()

    all_ns: list[int] = []
    by_kind: dict[str, list[int]] = defaultdict(list)
    by_ua_cache: dict[str, list[int]] = defaultdict(list)
    body_bytes: list[int] = []
    for kind, event in events:
        elapsed, missed, size = one(kind, event)
        all_ns.append(elapsed)
        by_kind[kind].append(elapsed)
        by_ua_cache["ua_miss" if missed else "ua_hit"].append(elapsed)
        if size:
            body_bytes.append(size)

    humans = sum(1 for kind, _ in events if kind != "bot")
    puts_measured = store.calls["PutItem"] - puts_after_warmup
    reads_measured = store.calls["GetItem"] + store.calls["BatchGetItem"] - reads_after_warmup
    unexpected = {op: n for op, n in store.calls.items() if op not in ("GetItem", "BatchGetItem", "PutItem")}
    if puts_measured != humans:
        problems.append(f"{puts_measured} puts for {humans} human clicks")
    if reads_measured:
        problems.append(f"{reads_measured} reads after warm-up (cache frozen: expected 0)")
    for slug, reads in store.reads_by_slug.items():
        if reads != 1:
            problems.append(f"slug {slug} loaded {reads} times (expected once)")
    if unexpected:
        problems.append(f"unexpected calls: {unexpected}")
    if set(store.put_conditions) != {"attribute_not_exists(pk)"}:
        problems.append(f"unconditional or unexpected put conditions: {dict(store.put_conditions)}")

    return {
        "variant": name,
        "overall": summarise(all_ns),
        "by_kind": {kind: summarise(values) for kind, values in sorted(by_kind.items())},
        "by_ua_cache": {key: summarise(values) for key, values in sorted(by_ua_cache.items())},
        "calls": {
            "human_clicks": humans,
            "bot_clicks": len(events) - humans,
            "puts": puts_measured,
            "puts_per_human_click": puts_measured / humans if humans else 0.0,
            "reads_after_first_per_slug": reads_measured,
            "link_loads_per_slug": dict(store.reads_by_slug),
            "all_calls_incl_warmup": dict(store.calls),
        },
        "statuses": dict(statuses),
        "page_bytes": {"mean": statistics.fmean(body_bytes), "max": max(body_bytes)} if body_bytes else {},
        "problems": problems,
    }


def render(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"warm CPU per click (time.process_time_ns), {meta['clicks']} clicks after {meta['warmup']} warm-up; "
        f"budget {BUDGET_US:.0f} µs (docs/architecture.md §8)",
        f"python {meta['python']} on {meta['machine']}, {meta['cpus']} CPUs",
        "",
        f"{'variant':<22}{'mean µs':>10}{'p50 µs':>10}{'p90 µs':>10}{'p99 µs':>10}{'max µs':>10}  budget",
    ]
    for result in results:
        s = result["overall"]
        verdict = "ok" if s["mean_us"] <= BUDGET_US else "OVER"
        if result["variant"].endswith("+sdk"):
            verdict = "(info)"
        lines.append(
            f"{result['variant']:<22}{s['mean_us']:>10.0f}{s['p50_us']:>10.0f}{s['p90_us']:>10.0f}"
            f"{s['p99_us']:>10.0f}{s['max_us']:>10.0f}  {verdict}"
        )
    for result in results:
        lines += ["", f"[{result['variant']}] by visitor kind / User-Agent cache"]
        rows = list(result["by_kind"].items()) + list(result["by_ua_cache"].items())
        for key, s in rows:
            lines.append(
                f"  {key:<20}{s['n']:>7}{s['mean_us']:>10.0f}{s['p50_us']:>10.0f}{s['p90_us']:>10.0f}"
                f"{s['p99_us']:>10.0f}"
            )
        calls = result["calls"]
        lines.append(
            f"  DynamoDB: {calls['puts']} puts for {calls['human_clicks']} human clicks "
            f"({calls['puts_per_human_click']:.3f}/click), 0 for {calls['bot_clicks']} bots; "
            f"reads after the first per slug: {calls['reads_after_first_per_slug']}; "
            f"loads per slug {calls['link_loads_per_slug']}"
        )
        lines.append(f"  statuses {result['statuses']}, bridge page bytes {result['page_bytes']}")
        lines.append(
            "  call checks: " + ("PASS" if not result["problems"] else "FAIL " + "; ".join(result["problems"]))
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ", ".join(VARIANTS)
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args(argv)

    warmup = _stubs.corpus(args.warmup, seed=args.seed + 1)
    events = _stubs.corpus(args.clicks, seed=args.seed)
    meta = {
        "clicks": args.clicks,
        "warmup": args.warmup,
        "seed": args.seed,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "cpus": len(__import__("os").sched_getaffinity(0)),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "corpus_kinds": dict(Counter(kind for kind, _ in events)),
        "distinct_user_agents": len({event["headers"]["user-agent"] for _, event in events}),
    }
    results = [run_variant(name, warmup, events) for name in args.variants.split(",") if name]
    if args.json:
        print(json.dumps({"meta": meta, "budget_us": BUDGET_US, "results": results}, indent=2))
    else:
        print(render(results, meta))
        print(f"\ncorpus: {meta['corpus_kinds']}, {meta['distinct_user_agents']} distinct User-Agents")
    return 1 if any(result["problems"] for result in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
