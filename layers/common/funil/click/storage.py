"""Repositories of the click path: links (with their bots and pixel) and clicks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from funil import keys
from funil.adapters.dynamo import Table
from funil.click.links import LinkRoute, route_from_items
from funil.ttl_cache import TtlCache


class Links:
    """Link routes by slug, cached per container for ``ttl_seconds``.

    A config change (bot disabled, weight changed, bot unhealthy) shows within the TTL; unknown
    slugs are cached too, so a scanner walking random slugs costs one read per slug per TTL.
    """

    def __init__(self, table: Table, ttl_seconds: float = 30.0, monotonic: Callable[[], float] = time.monotonic):
        self.table = table
        self._cache: TtlCache[str, LinkRoute | None] = TtlCache(ttl_seconds, monotonic)

    def route(self, slug: str) -> LinkRoute | None:
        return self._cache.get(slug, self._load)

    def _load(self, slug: str) -> LinkRoute | None:
        link_item = self.table.get(*keys.link(slug))
        if link_item is None:
            return None
        wanted = [keys.bot(str(entry.get("bot_id"))) for entry in link_item.get("bots") or []][:99]
        if link_item.get("pixel_id"):
            wanted.append(keys.pixel(str(link_item["pixel_id"])))
        related = self.table.batch_get(wanted) if wanted else []
        bots = [item for item in related if item.get("type") == "bot"]
        pixel = next((item for item in related if item.get("type") == "pixel"), None)
        return route_from_items(link_item, bots, pixel)


class Clicks:
    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, item: dict[str, Any]) -> None:
        """Store a new click: the redirect's single write (tokens are random, never reused)."""
        self.table.put(item, condition="attribute_not_exists(pk)")
