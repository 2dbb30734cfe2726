"""DynamoDB size of the click item the redirect writes, and the write units it costs (docs/cost.md).

Builds the item with ``funil.click.capture.build_click_item`` from ``events/redirect_get.json`` (and from the
benchmark corpus of ``warm_click.py``, for the spread), with the ``_fbp`` the redirect keeps or mints,
serialises it with ``funil.adapters.dynamo.serialize`` exactly as the redirect's PutItem sends it,
and sizes it with DynamoDB's rules
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
attribute name bytes + value bytes; strings UTF-8 bytes; numbers ~1 byte per 2 significant digits
+ 1; booleans/null 1; maps and lists 3 bytes + 1 byte per element + their elements.
Budget (docs/architecture.md §8): the corpus's 99th percentile within 1 KB, one write unit.

Usage: python bench/click_item_size.py [--clicks 5000] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stubs

_stubs.use_redirect_env()
_stubs.add_paths()

WRITE_UNIT_BYTES = 1024
STORAGE_OVERHEAD_BYTES = 100  # per item, for storage billing only (same page)


def _number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return math.ceil(significant / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    (kind, inner), = value.items()  # fmt: skip
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(item) + 1 for name, item in inner.items())
    if kind == "L":
        return 3 + sum(value_size(item) + 1 for item in inner)
    if kind == "SS":
        return sum(len(item.encode()) for item in inner)
    if kind == "NS":
        return sum(_number_size(item) for item in inner)
    raise ValueError(kind)


def item_size(wire_item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in wire_item.items())


def write_units(size_bytes: int) -> int:
    return max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))


def click_item(event: dict[str, Any], now: datetime) -> dict[str, Any]:
    from funil import clock, http, ids, meta_cookies
    from funil.click.capture import ClickRequest, build_click_item
    from funil.click.links import route_from_items
    from funil.config import settings

    items = _stubs.config_items()
    slug = http.path_parameter(event, "slug") or "demo"
    link = next(item for item in items if item.get("type") == "link" and item["slug"] == slug)
    bots = [item for item in items if item.get("type") == "bot"]
    pixel = next(item for item in items if item.get("type") == "pixel") if link.get("pixel_id") else None
    route = route_from_items(link, bots, pixel)
    current = settings()
    cookies = http.cookies(event)
    # The visitor's _fbp, or the one the redirect mints (a full-size random part: the largest case).
    fbp = meta_cookies.valid_fbp(cookies.get("_fbp")) or meta_cookies.new_fbp(
        clock.to_epoch_ms(now), meta_cookies.FBP_PAYLOAD_MAX
    )
    return build_click_item(
        ClickRequest(
            query=http.query_pairs(event),
            cookies=cookies,
            headers={key.lower(): value for key, value in (event.get("headers") or {}).items()},
            source_ip=http.source_ip(event),
        ),
        route=route,
        bot=route.targets[0],
        token=ids.new_click_token(),
        now=now,
        fbp=fbp,
        ip_hash_secret=_stubs.BENCH_IP_HASH_KEY.encode(),
        trusted_proxy_hops=current.trusted_proxy_hops,
        ttl_margin_days=current.click_ttl_margin_days,
    ).item


def percentile(sorted_values: list[int], share: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * share))]


def measure(clicks: int) -> dict[str, Any]:
    from funil.adapters.dynamo import serialize

    now = datetime(2026, 11, 22, 18, 30, tzinfo=UTC)
    sample = click_item(_stubs.base_event(), now)
    sample_wire = serialize(sample)
    sample_size = item_size(sample_wire)

    sizes: list[int] = []
    for kind, event in _stubs.corpus(clicks, seed=99):
        if kind == "bot":
            continue
        sizes.append(item_size(serialize(click_item(event, now))))
    sizes.sort()
    return {
        "sample_event": {
            "item_bytes": sample_size,
            "put_write_units": write_units(sample_size),
            "storage_bytes": sample_size + STORAGE_OVERHEAD_BYTES,
            "attributes": sorted(sample),
            "wire_json_bytes": len(json.dumps(sample_wire, separators=(",", ":"))),
        },
        "corpus": {
            "human_clicks": len(sizes),
            "mean_bytes": statistics.fmean(sizes),
            "p50_bytes": percentile(sizes, 0.50),
            "p95_bytes": percentile(sizes, 0.95),
            "p99_bytes": percentile(sizes, 0.99),
            "max_bytes": sizes[-1],
            "p99_write_units": write_units(percentile(sizes, 0.99)),
            "share_over_1kb": sum(size > WRITE_UNIT_BYTES for size in sizes) / len(sizes),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=5000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.clicks)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    s, c = result["sample_event"], result["corpus"]
    print(
        f"events/redirect_get.json click item: {s['item_bytes']} B -> {s['put_write_units']} WRU per PutItem; "
        f"stored {s['storage_bytes']} B incl. DynamoDB's 100 B per-item overhead (wire JSON {s['wire_json_bytes']} B)"
    )
    print(
        f"corpus ({c['human_clicks']} human clicks): mean {c['mean_bytes']:.0f} B, p50 {c['p50_bytes']} B, "
        f"p95 {c['p95_bytes']} B, p99 {c['p99_bytes']} B -> {c['p99_write_units']} WRU, max {c['max_bytes']} B; "
        f"over 1 KB: {c['share_over_1kb']:.2%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
