"""Repositories of the click path: links (with their bots and pixel) and clicks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from funil import keys
from funil.adapters.dynamo import Table, is_conditional_failure
from funil.click.links import LinkRoute, route_from_items


class Links:
    """Link routes by slug, cached per container for ``ttl_seconds``.

    A config change (bot disabled, weight changed, bot unhealthy) shows within the TTL; unknown
    slugs are cached too, so a scanner walking random slugs costs one read per slug per TTL.
    """

    def __init__(self, table: Table, ttl_seconds: float = 30.0, monotonic: Callable[[], float] = time.monotonic):
        self.table = table
        self.ttl_seconds = ttl_seconds
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, LinkRoute | None]] = {}

    def route(self, slug: str) -> LinkRoute | None:
        now = self.monotonic()
        cached = self._cache.get(slug)
        if cached and cached[0] > now:
            return cached[1]
        route = self._load(slug)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[slug] = (now + self.ttl_seconds, route)
        return route

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

    def get(self, token: str) -> dict[str, Any] | None:
        return self.table.get(*keys.click(token))

    def record_beacon(
        self,
        token: str,
        slug: str,
        *,
        fbp: str | None,
        fbc: str | None,
        claim_pageview: bool,
        now_iso: str,
        now_epoch: int,
    ) -> dict[str, Any] | None:
        """Fill the browser values the click lacks, count the beacon and, when ``claim_pageview``,
        claim the click's one server PageView: one conditional write.

        Never overwrites: a click's fbc from its own cookie or fbclid is at least as good as what a
        later page sets, and fbp only ever comes from the browser. Returns the click as it was
        before the write (no ``pageview_claimed_at`` there means this call claimed it), or None when
        the click is unknown, expired or belongs to another link.
        """
        sets = ["beacon_count = if_not_exists(beacon_count, :zero) + :one", "last_beacon_at = :now"]
        values: dict[str, Any] = {":now": now_iso, ":zero": 0, ":one": 1, ":slug": slug, ":epoch": now_epoch}
        if fbp:
            sets.append("fbp = if_not_exists(fbp, :fbp)")
            values[":fbp"] = fbp
        if fbc:
            sets.append("fbc = if_not_exists(fbc, :fbc)")
            sets.append("fbc_source = if_not_exists(fbc_source, :beacon)")
            values[":fbc"] = fbc
            values[":beacon"] = "beacon"
        if claim_pageview:
            sets.append("pageview_claimed_at = if_not_exists(pageview_claimed_at, :now)")
        try:
            return self.table.update(
                *keys.click(token),
                "SET " + ", ".join(sets),
                values,
                condition="attribute_exists(pk) AND link_slug = :slug AND expires_at > :epoch",
                return_values="ALL_OLD",
            )
        except Exception as error:
            if is_conditional_failure(error):
                return None
            raise

    def release_pageview_claim(self, token: str, claimed_at: str) -> None:
        """Undo a claim whose message could not be sent, so the next beacon sends it."""
        try:
            self.table.update(
                *keys.click(token),
                "REMOVE pageview_claimed_at",
                {":claimed": claimed_at},
                condition="pageview_claimed_at = :claimed",
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise
