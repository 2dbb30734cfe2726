"""DynamoDB size of the click item the redirect writes, and the write units it costs (docs/cost.md).

Builds the item with ``funil.click.capture.build_click_item`` from ``events/redirect_get.json`` (and from the
benchmark corpus, for the spread), serialises it with ``funil.adapters.dynamo.serialize`` exactly as
the redirect's PutItem sends it, and sizes it with DynamoDB's rules
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
attribute name bytes + value bytes; strings UTF-8 bytes; numbers ~1 byte per 2 significant digits
+ 1; booleans/null 1; maps and lists 3 bytes + 1 byte per element + their elements.

The beacon's UpdateItem is billed on the larger of the item before and after the update, so its
size is estimated as the click item plus the attributes the beacon adds.

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
    from funil import http, ids
    from funil.click import useragent
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
    return build_click_item(
        ClickRequest(
            query=http.query_pairs(event),
            cookies=http.cookies(event),
            headers={key.lower(): value for key, value in (event.get("headers") or {}).items()},
            source_ip=http.source_ip(event),
        ),
        route=route,
        bot=route.targets[0],
        visitor=useragent.classify(http.header(event, "user-agent")),
        token=ids.new_click_token(),
        now=now,
        ip_hash_secret=current.ip_hash_secret,
        trusted_proxy_hops=current.trusted_proxy_hops,
        ttl_margin_days=current.click_ttl_margin_days,
    )


def beacon_additions(item: dict[str, Any]) -> dict[str, Any]:
    """What ``Clicks.record_beacon`` adds to a click on its first beacon."""
    added: dict[str, Any] = {
        "beacon_count": 1,
        "last_beacon_at": "2026-11-22T18:30:01.234Z",
        "pageview_claimed_at": "2026-11-22T18:30:01.234Z",
    }
    if "fbp" not in item:
        added["fbp"] = "fb.1.1795372201234.1234567890"
    return added


def measure(clicks: int) -> dict[str, Any]:
    from funil.adapters.dynamo import serialize

    now = datetime(2026, 11, 22, 18, 30, tzinfo=UTC)
    sample = click_item(_stubs.base_event(), now)
    sample_wire = serialize(sample)
    sample_size = item_size(sample_wire)
    sample_after_beacon = item_size(serialize({**sample, **beacon_additions(sample)}))

    sizes: list[int] = []
    after_beacon: list[int] = []
    for kind, event in _stubs.corpus(clicks, seed=99):
        if kind == "bot":
            continue
        item = click_item(event, now)
        sizes.append(item_size(serialize(item)))
        after_beacon.append(item_size(serialize({**item, **beacon_additions(item)})))
    sizes.sort()
    after_beacon.sort()
    return {
        "sample_event": {
            "item_bytes": sample_size,
            "put_write_units": write_units(sample_size),
            "after_beacon_bytes": sample_after_beacon,
            "beacon_update_write_units": write_units(sample_after_beacon),
            "storage_bytes": sample_size + STORAGE_OVERHEAD_BYTES,
            "attributes": sorted(sample),
            "wire_json_bytes": len(json.dumps(sample_wire, separators=(",", ":"))),
        },
        "corpus": {
            "human_clicks": len(sizes),
            "mean_bytes": statistics.fmean(sizes),
            "p50_bytes": sizes[len(sizes) // 2],
            "p99_bytes": sizes[int(len(sizes) * 0.99)],
            "max_bytes": sizes[-1],
            "share_over_1kb": sum(size > WRITE_UNIT_BYTES for size in sizes) / len(sizes),
            "after_beacon_p99_bytes": after_beacon[int(len(after_beacon) * 0.99)],
            "after_beacon_share_over_1kb": sum(size > WRITE_UNIT_BYTES for size in after_beacon) / len(after_beacon),
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
        f"after the first beacon {s['after_beacon_bytes']} B -> {s['beacon_update_write_units']} WRU per UpdateItem; "
        f"stored {s['storage_bytes']} B incl. DynamoDB's 100 B per-item overhead (wire JSON {s['wire_json_bytes']} B)"
    )
    print(
        f"corpus ({c['human_clicks']} human clicks): mean {c['mean_bytes']:.0f} B, p50 {c['p50_bytes']} B, "
        f"p99 {c['p99_bytes']} B, max {c['max_bytes']} B; over 1 KB: {c['share_over_1kb']:.1%}; "
        f"after beacon p99 {c['after_beacon_p99_bytes']} B, over 1 KB: {c['after_beacon_share_over_1kb']:.1%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
