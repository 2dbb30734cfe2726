"""The counters' unit: a small cube of metrics by every dimension at once, and its stored form.

A cube maps a full dimension key (``funil.analytics.dimensions.DIMENSIONS``: link, bot, utm…, ad,
device, region, quality) to its metrics. Keeping the whole key, not one counter per dimension, is
what lets the stats break down by any dimension while filtering on any other (clicks of campaign X
on mobile, by ad). Clicks of one ad share most of their key, so a batch of clicks makes few rows.

Stored, a cube is JSON with its strings listed once and rows as indices into them, deflated:
a batch of 100 clicks is about a kilobyte (``bench/analytics_stream.py``).
"""

from __future__ import annotations

import json
import zlib
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from funil.analytics.dimensions import DIMENSIONS, Key

FORMAT = 1
# Metrics in stored order (append only). ``ft_*``: the same sale counted under its lead's first
# attributed click instead of the last one (``touch=first`` in the stats). ``suspect_leads``: leads
# whose ``/start`` came sooner after their click than a person can (funil.analytics.quality).
METRICS = (
    "clicks", "suspect_clicks", "leads", "checkouts", "sales", "revenue_cents", "refunds_cents",
    "stars_sales", "stars", "ft_checkouts", "ft_sales", "ft_revenue_cents", "ft_refunds_cents",
    "ft_stars_sales", "ft_stars", "suspect_leads",
)  # fmt: skip
METRIC_INDEX = {name: position for position, name in enumerate(METRICS)}
# Upper bounds (seconds) of the time-to-convert buckets; the last bucket is everything slower.
LATENCY_BOUNDS = (
    5, 15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600,
    86400, 2 * 86400, 3 * 86400, 7 * 86400, 14 * 86400, 30 * 86400,
)  # fmt: skip
LATENCIES = ("click_to_lead", "lead_to_sale")
MAX_INFLATED = 8 * 1024 * 1024  # a stored cube that inflates beyond this is refused, not read


class UnreadableCube(ValueError):
    """A stored cube that is not one (corrupt, another format, too large)."""


@dataclass
class Cube:
    rows: dict[Key, list[int]] = field(default_factory=dict)
    latency: dict[str, list[int]] = field(default_factory=dict)

    def add(self, key: Key, metrics: Mapping[str, int]) -> None:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [0] * len(METRICS)
        for name, value in metrics.items():
            row[METRIC_INDEX[name]] += value

    def observe(self, latency: str, seconds: float) -> None:
        buckets = self.latency.setdefault(latency, [0] * (len(LATENCY_BOUNDS) + 1))
        buckets[bisect_left(LATENCY_BOUNDS, max(seconds, 0))] += 1

    def merge(self, other: Cube) -> Cube:
        for key, row in other.rows.items():
            mine = self.rows.get(key)
            if mine is None:
                self.rows[key] = list(row)
            else:
                for position, value in enumerate(row):
                    mine[position] += value
        for name, buckets in other.latency.items():
            mine = self.latency.setdefault(name, [0] * len(buckets))
            for position, value in enumerate(buckets):
                mine[position] += value
        return self

    def __bool__(self) -> bool:
        return bool(self.rows or self.latency)

    def encode(self) -> bytes:
        strings: dict[str, int] = {}
        rows = []
        for key, metrics in self.rows.items():
            trimmed = list(metrics)
            while trimmed and trimmed[-1] == 0:
                trimmed.pop()
            rows.append([strings.setdefault(value, len(strings)) for value in key] + trimmed)
        document = {
            "v": FORMAT,
            "d": list(DIMENSIONS),
            "m": list(METRICS),
            "s": list(strings),
            "r": rows,
            "h": self.latency,
        }
        return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 6)

    @classmethod
    def decode(cls, blob: bytes) -> Cube:
        try:
            inflater = zlib.decompressobj()
            text = inflater.decompress(blob, MAX_INFLATED)
            if inflater.unconsumed_tail:
                raise UnreadableCube("a cube larger than the reader takes")
            document = json.loads(text)
            return cls._from_document(document)
        except (zlib.error, ValueError, TypeError, KeyError, IndexError) as error:
            raise UnreadableCube(str(error)) from error

    @classmethod
    def _from_document(cls, document: Mapping[str, Any]) -> Cube:
        if document["v"] != FORMAT:
            raise UnreadableCube(f"cube format {document['v']!r}")
        # Columns are matched by name: a cube written before a dimension or metric was added reads
        # with that column empty.
        dims = [DIMENSIONS.index(name) if name in DIMENSIONS else None for name in document["d"]]
        metrics = [METRIC_INDEX.get(name) for name in document["m"]]
        strings = [str(value) for value in document["s"]]
        width = len(dims)
        cube = cls()
        for row in document["r"]:
            key = [""] * len(DIMENSIONS)
            for position, index in zip(dims, row[:width], strict=True):
                if position is not None:
                    key[position] = strings[index]
            values = [0] * len(METRICS)
            for position, value in zip(metrics, row[width:], strict=False):
                if position is not None:
                    values[position] = int(value)
            cube.add(tuple(key), dict(zip(METRICS, values, strict=True)))
        for name, buckets in dict(document.get("h") or {}).items():
            if name in LATENCIES and len(buckets) == len(LATENCY_BOUNDS) + 1:
                cube.latency[name] = [int(value) for value in buckets]
        return cube


def total(cubes: Iterable[Cube]) -> Cube:
    merged = Cube()
    for cube in cubes:
        merged.merge(cube)
    return merged
