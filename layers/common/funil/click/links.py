"""A tracking link as the redirect sees it: its tenant, the bots it may send a visitor to, its pixel.

Built from the link, bot and pixel items and cached briefly per container. Lean dataclasses, not
pydantic models: this is the redirect's hot path (docs/architecture.md §8); the full config models, which
validate what is written, live in ``funil.operator.models``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
BOT_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
META_PIXEL_ID_RE = re.compile(r"^\d{5,20}$")
DEFAULT_ATTRIBUTION_WINDOW_DAYS = 7
HEALTHY = "healthy"


@dataclass(frozen=True, slots=True)
class BotTarget:
    bot_id: str
    username: str
    weight: int


@dataclass(frozen=True, slots=True)
class PixelRef:
    pixel_id: str  # Funil's id of the pixel configuration
    meta_pixel_id: str  # the dataset id in Meta's Events Manager
    page_view: bool  # whether browser and server PageView are wanted


@dataclass(frozen=True, slots=True)
class LinkRoute:
    slug: str
    tenant_id: str
    enabled: bool
    attribution_window_days: int
    targets: tuple[BotTarget, ...]  # only enabled, healthy bots of the link's own tenant
    pixel: PixelRef | None


def is_slug(value: object) -> bool:
    return isinstance(value, str) and SLUG_RE.fullmatch(value) is not None


def bot_is_eligible(bot_item: Mapping[str, Any], tenant_id: str) -> bool:
    """A bot takes visitors when it is enabled, healthy and the link's tenant's own.

    Health is the bot's own state (token valid, webhook set), never a single user's block.
    """
    health = bot_item.get("health") or {}
    return (
        bot_item.get("tenant_id") == tenant_id
        and bool(bot_item.get("enabled"))
        and health.get("status", HEALTHY) == HEALTHY
        and BOT_USERNAME_RE.fullmatch(str(bot_item.get("username", ""))) is not None
    )


def route_from_items(
    link_item: Mapping[str, Any],
    bot_items: Iterable[Mapping[str, Any]],
    pixel_item: Mapping[str, Any] | None,
) -> LinkRoute:
    tenant_id = str(link_item["tenant_id"])
    bots_by_id = {str(item["bot_id"]): item for item in bot_items}
    targets = []
    for entry in link_item.get("bots") or []:
        bot = bots_by_id.get(str(entry.get("bot_id")))
        if bot is None:
            continue
        if bot.get("tenant_id") != tenant_id:
            log.error("link %s names bot %s of another tenant; skipped", link_item.get("slug"), bot["bot_id"])
            continue
        if bot_is_eligible(bot, tenant_id):
            targets.append(BotTarget(str(bot["bot_id"]), str(bot["username"]), int(entry.get("weight", 1))))
    pixel = None
    if pixel_item and pixel_item.get("tenant_id") == tenant_id and pixel_item.get("enabled", True):
        meta_pixel_id = str(pixel_item.get("meta_pixel_id", ""))
        if META_PIXEL_ID_RE.fullmatch(meta_pixel_id):
            events = pixel_item.get("events") or {}
            pixel = PixelRef(str(pixel_item["pixel_id"]), meta_pixel_id, bool(events.get("PageView", True)))
    return LinkRoute(
        slug=str(link_item["slug"]),
        tenant_id=tenant_id,
        enabled=bool(link_item.get("enabled", True)),
        attribution_window_days=int(link_item.get("attribution_window_days") or DEFAULT_ATTRIBUTION_WINDOW_DAYS),
        targets=tuple(targets),
        pixel=pixel,
    )
