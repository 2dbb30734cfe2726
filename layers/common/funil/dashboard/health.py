"""``GET /app/api/health``: how a tenant's events reach Meta, and how its bots and gateways are.

Conversions: the delivery records (``CAPI#…``) of the tenant's pixels updated in the last
``WINDOW``, read newest first through pattern 23 (``CAPISTATUS#<pixel>#<status>``), failures before
successes, at most ``MAX_RECORDS`` in all: counts by status (``truncated`` says a count stopped at
the bound), the estimated match quality of the events Meta took (score 0-10, rounded down), and the
latest failures with their reason. Records without a pixel (events that had nowhere to go) belong to
no one's pixel and are not read. Bots: each bot's own health check (``health``), as the scheduled
check left it. Gateways: pattern 4, in the order routing tries them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from funil import keys
from funil.clock import iso
from funil.conversions.storage import EventStatus
from funil.operator.ports import Store
from funil.payments.storage import Payments

__all__ = ["MAX_RECORDS", "WINDOW", "tenant_health"]

WINDOW = timedelta(days=7)
MAX_RECORDS = 1000
MAX_ERRORS = 50
MAX_ENTITIES = 200  # a tenant's bots or pixels: a few in practice
SCORES = range(11)
# Failures first: the bound must never hide them behind a week of successes.
FAILED = (EventStatus.DEAD, EventStatus.INVALID, EventStatus.RETRYING)
STATUSES = (*FAILED, EventStatus.IN_PROGRESS, EventStatus.SKIPPED, EventStatus.EXPIRED, EventStatus.SENT)


def _configuration(items: Store, listing: Mapping[str, str], kind_key: str, id_field: str) -> Iterator[dict[str, Any]]:
    """A tenant's entities of one kind (pattern 4), only items that are the entity itself."""
    found = items.query(
        "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
        {":pk": listing["gsi1pk"], ":prefix": listing["gsi1sk"]},
        index="gsi1",
        limit=MAX_ENTITIES,
    )
    tenant_id = listing["gsi1pk"].partition("#")[2]
    for item in islice(found, MAX_ENTITIES):
        if item.get("tenant_id") == tenant_id and item.get("sk") == kind_key and item.get(id_field):
            yield item


def _conversions(items: Store, tenant_id: str, pixel_ids: list[str], now: datetime) -> dict[str, Any]:
    since = iso(now - WINDOW)
    by_status: dict[str, int] = {}
    scores = dict.fromkeys(SCORES, 0)
    errors: list[dict[str, Any]] = []
    budget, truncated = MAX_RECORDS, False
    for status in STATUSES:
        for pixel_id in pixel_ids:
            if budget <= 0:
                truncated = True
                break
            page, more = items.query_page(
                "gsi1pk = :pk AND gsi1sk >= :since",
                {":pk": keys.conversion_status_index(pixel_id, status)["gsi1pk"], ":since": since},
                index="gsi1",
                limit=budget,
                forward=False,
            )
            budget -= len(page)
            truncated = truncated or more is not None
            page = [record for record in page if record.get("tenant_id") == tenant_id]  # a pixel id reused
            if page:
                by_status[status.value] = by_status.get(status.value, 0) + len(page)
            for record in page:
                if status == EventStatus.SENT:
                    _score(scores, record.get("match_quality"))
                elif status in FAILED:
                    errors.append(_error(record, pixel_id, status))
    errors.sort(key=lambda error: str(error["at"]), reverse=True)
    return {
        "since": since,
        "by_status": by_status,
        "match_quality": [{"score": score, "count": scores[score]} for score in SCORES],
        "errors": errors[:MAX_ERRORS],
        "truncated": truncated,
    }


def _score(scores: dict[int, int], quality: Any) -> None:
    score = quality.get("score") if isinstance(quality, Mapping) else None
    if isinstance(score, int | float) and not isinstance(score, bool):
        scores[min(10, max(0, int(score)))] += 1


def _error(record: Mapping[str, Any], pixel_id: str, status: EventStatus) -> dict[str, Any]:
    reason = record.get("error_message") or record.get("reason") or status.value
    return {
        "at": record.get("updated_at"),
        "pixel_id": pixel_id,
        "event_name": record.get("event_name"),
        "status": status.value,
        "error": str(reason)[:300],
    }


def _bot(item: Mapping[str, Any]) -> dict[str, Any]:
    found = item.get("health")
    health: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    return {
        "bot_id": item["bot_id"],
        "username": item.get("username"),
        "enabled": item.get("enabled", True) is not False,
        "status": health.get("status") or "unchecked",
        "checked_at": health.get("checked_at"),
        "detail": health.get("reason"),
    }


def _gateway(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "gateway_id": item["gateway_id"],
        "kind": item.get("kind"),
        "name": item.get("name"),
        "enabled": item.get("enabled", True) is not False,
        "priority": item.get("priority"),
    }


def tenant_health(items: Store, tenant_id: str, now: datetime) -> dict[str, Any]:
    pixels = _configuration(items, keys.tenant_pixel_index(tenant_id), keys.pixel("")[1], "pixel_id")
    bots = _configuration(items, keys.tenant_bot_index(tenant_id), keys.bot("")[1], "bot_id")
    gateways = sorted(
        (item for item in Payments(items).tenant_gateways(tenant_id) if item.get("gateway_id")),
        key=lambda item: (int(item.get("priority") or 0), str(item["gateway_id"])),
    )
    return {
        "conversions": _conversions(items, tenant_id, sorted(str(pixel["pixel_id"]) for pixel in pixels), now),
        "bots": sorted((_bot(bot) for bot in bots), key=lambda bot: str(bot["bot_id"])),
        "gateways": [_gateway(item) for item in gateways[:MAX_ENTITIES]],
    }
