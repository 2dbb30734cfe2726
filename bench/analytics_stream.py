"""The funnel counters' consumer: CPU, write units and cost per million stream records (docs/analytics.md).

Builds realistic clicks with the redirect's own item builder over ``warm_click.py``'s corpus
(``click_item_size.click_item``: User-Agents, IPs, cookies as the redirect stores them), gives each
an ad of a small account (4 campaigns × 3 ad sets × 3 ads, utm_content per ad, utm_term per
placement), shapes them as Lambda's DynamoDB stream records, and runs ``funil.analytics.stream.count_batch``
over batches of ``--batch`` records (the template's BatchSize) with the real IP database and click
judge, the table answered in memory. It reports per batch and per record: warm CPU, chunk items
written and their write units (1 KB each), and the cost per million records at the prices of
``cost_model.py`` for a 256 MB arm64 function (the CPU measured here, scaled to the share of a
vCPU 256 MB gets and cost_model's Graviton allowance: billed time is wall time).

Usage: python bench/analytics_stream.py [--records 20000] [--batch 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stubs
import click_item_size
import cost_model

_stubs.use_redirect_env()
_stubs.add_paths()

MEMORY_GB = 256 / 1024
CAMPAIGNS, ADSETS, ADS = 4, 3, 3
PLACEMENTS = ("Instagram_Reels", "Instagram_Stories", "Facebook_Mobile_Feed")


class MemoryItems:
    """The parts of the table the consumer uses, in memory: it records each write's size."""

    def __init__(self) -> None:
        self.writes: list[int] = []

    def put(self, item: Any, condition: str | None = None) -> None:
        from funil.adapters.dynamo import serialize

        self.writes.append(click_item_size.item_size(serialize(item)))

    def transact_write(self, writes: Any) -> None:
        for write in writes:  # DynamoDB bills a transaction's writes twice
            self.put(write.item)
            self.put(write.item)

    def update(self, pk: str, sk: str, expression: str, values: Any, **_: Any) -> dict[str, Any]:
        self.writes.append(1024)  # a suspect click's verdict: one unit (the click is ~0.7 KB)
        return {}


def ad_params(rng: random.Random) -> dict[str, str]:
    campaign, adset, ad = rng.randrange(CAMPAIGNS), rng.randrange(ADSETS), rng.randrange(ADS)
    placement = rng.choice(PLACEMENTS)
    return {
        "utm_source": "facebook",
        "utm_medium": "paid",
        "utm_campaign": f"campanha-{campaign}",
        "utm_content": f"criativo-{campaign}-{adset}-{ad}",
        "utm_term": placement,
        "campaign_id": f"12021000000{campaign:04d}",
        "campaign_name": f"Campanha {campaign}",
        "adset_id": f"12021000001{campaign:02d}{adset:02d}",
        "adset_name": f"Conjunto {adset}",
        "ad_id": f"12021000002{campaign:02d}{adset:01d}{ad:01d}",
        "ad_name": f"Criativo {ad}",
        "placement": placement,
    }


def records(count: int, seed: int) -> list[dict[str, Any]]:
    from funil.adapters.dynamo import serialize

    rng = random.Random(seed)
    now = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    shaped = []
    for kind, event in _stubs.corpus(count * 2, seed=seed):
        if kind == "bot":
            continue
        event["queryStringParameters"] = {**(event.get("queryStringParameters") or {}), **ad_params(rng)}
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in event["queryStringParameters"].items())
        item = click_item_size.click_item(event, now)
        wire = serialize(item)
        shaped.append(
            {
                "eventID": f"{len(shaped):032x}",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "ApproximateCreationDateTime": float(int(now.timestamp())),
                    "Keys": {"pk": wire["pk"], "sk": wire["sk"]},
                    "NewImage": wire,
                    "SequenceNumber": str(10**21 + len(shaped)),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
        )
        if len(shaped) == count:
            break
    return shaped


def measure(count: int, batch: int, seed: int) -> dict[str, Any]:
    from funil import wiring
    from funil.analytics.stream import count_batch
    from funil.config import settings

    deps = wiring.analytics_stream(settings())
    items = MemoryItems()
    deps.items = items  # type: ignore[assignment]
    stream = records(count, seed)
    count_batch(stream[: min(batch, len(stream))], deps)  # warm: the IP database and patterns loaded
    items.writes.clear()
    cpu: list[float] = []
    for start in range(0, len(stream), batch):
        began = time.process_time()
        count_batch(stream[start : start + batch], deps)
        cpu.append((time.process_time() - began) * 1000)
    units = sum(max(1, math.ceil(size / 1024)) for size in items.writes)
    batches = len(cpu)
    per_million = 1_000_000 / len(stream)
    # Billed time is wall time: at 256 MB Lambda gives 256/1,769 of a vCPU, and Graviton is assumed
    # slower per core than this machine (cost_model's assumptions).
    duration_s = sum(cpu) / 1000 * cost_model.VCPU_MB / 256 * cost_model.ARM_SLOWDOWN
    dollars = {
        "lambda_requests": batches * per_million * cost_model.LAMBDA_REQUEST,
        "lambda_duration": duration_s * per_million * MEMORY_GB * cost_model.LAMBDA_ARM_GB_S,
        "dynamodb_writes": units * per_million * cost_model.DDB_WRU,
    }
    return {
        "records": len(stream),
        "batch": batch,
        "batches": batches,
        "cpu_ms_per_batch": {"mean": statistics.fmean(cpu), "max": max(cpu)},
        "cpu_us_per_record": sum(cpu) * 1000 / len(stream),
        "writes": len(items.writes),
        "write_units": units,
        "chunk_bytes_mean": statistics.fmean(items.writes) if items.writes else 0,
        "write_units_per_record": units / len(stream),
        "usd_per_million_records": {**dollars, "total": sum(dollars.values())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.records, args.batch, args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['records']} click records in {result['batches']} batches of {result['batch']}")
    per_batch = result["cpu_ms_per_batch"]
    print(f"CPU per batch: mean {per_batch['mean']:.1f} ms, max {per_batch['max']:.1f} ms")
    print(f"CPU per record: {result['cpu_us_per_record']:.1f} µs")
    print(f"writes: {result['writes']} ({result['write_units']} units, mean {result['chunk_bytes_mean']:.0f} B)")
    print(f"write units per record: {result['write_units_per_record']:.4f}")
    for name, value in result["usd_per_million_records"].items():
        print(f"  {name:16s} ${value:.4f} per million records")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
