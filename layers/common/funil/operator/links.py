"""Tracking links: ``<PUBLIC_BASE_URL>/go/<slug>`` rotating its visitors among the tenant's bots.

A slug is unique in the whole deployment (the redirect finds a link by its slug alone, pattern 2),
so a slug another tenant holds is a 409 like one's own. The redirect caches a link per container
(``funil.click.storage.Links``, ``LinkCacheSeconds``): a change shows there within that time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from funil import keys
from funil.click.links import DEFAULT_ATTRIBUTION_WINDOW_DAYS, SLUG_RE
from funil.operator.errors import FieldProblem, Invalid
from funil.operator.models import ENTITY_ID, Link, LinkBot
from funil.operator.ports import Store
from funil.operator.records import apply_changes, owned, put_new

MAX_BOTS = 50
CREATE_DOC = (
    "Create a tracking link rotating its visitors among the tenant's bots by weight; url is what the "
    "ads point to. Every bot and the pixel must be the tenant's (422 naming bots.<n>.id, pixel_id). "
    "A slug is unique across the deployment: one in use, by any tenant, is a 409."
)
PATCH_DOC = (
    "Change a link's bots and weights (the whole new list), pixel (null removes it), attribution "
    "window or enabled (false: the link answers 404). Fields left out keep their value. The redirect "
    "caches each link per container for LinkCacheSeconds (a stack parameter, 30 s by default): "
    "visitors follow the change within that time, not at once."
)


class LinkBotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ENTITY_ID, description="A bot of the tenant's")
    weight: int = Field(
        default=1,
        ge=0,
        le=1000,
        description="Its share of the visitors: weights 3 and 1 send 75% and 25%; 0 keeps it on the link idle",
    )


SLUG_DOC = "The link's path, <PUBLIC_BASE_URL>/go/<slug>: lowercase letters, digits, _ and -; unique in the deployment"
BOTS_DOC = "The bots the link rotates its visitors among, each once; at least one with a weight above 0"
PIXEL_DOC = "The tenant's pixel that gets the link's PageView and its leads' and sales' events"
WINDOW_DOC = "Days after a click in which its /start is attributed to it (1–28)"


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_RE.pattern, description=SLUG_DOC)
    bots: list[LinkBotRequest] = Field(min_length=1, max_length=MAX_BOTS, description=BOTS_DOC)
    pixel_id: str | None = Field(default=None, pattern=ENTITY_ID, description=PIXEL_DOC)
    attribution_window_days: int = Field(default=DEFAULT_ATTRIBUTION_WINDOW_DAYS, ge=1, le=28, description=WINDOW_DOC)
    enabled: bool = True


class LinkUpdate(BaseModel):
    """Fields left out keep their value; ``pixel_id`` null removes the link's pixel."""

    model_config = ConfigDict(extra="forbid")

    bots: list[LinkBotRequest] | None = Field(
        default=None, min_length=1, max_length=MAX_BOTS, description=BOTS_DOC + " (the whole new list)"
    )
    pixel_id: str | None = Field(default=None, pattern=ENTITY_ID, description=PIXEL_DOC + "; null removes it")
    attribution_window_days: int | None = Field(default=None, ge=1, le=28, description=WINDOW_DOC)
    enabled: bool | None = Field(default=None, description="false: the link answers 404, its clicks stop")

    @field_validator("bots", "attribution_window_days", "enabled")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # explicit null (a left-out field is never validated)
            raise ValueError("cannot be null: leave the field out to keep its value")
        return value


def link_url(public_base_url: str, slug: str) -> str:
    return f"{public_base_url.rstrip('/')}/go/{slug}"


def link_view(item: dict[str, Any], public_base_url: str) -> dict[str, Any]:
    slug = str(item["slug"])
    return {
        "slug": slug,
        "url": link_url(public_base_url, slug),
        "bots": [{"id": entry.get("bot_id"), "weight": entry.get("weight", 1)} for entry in item.get("bots") or []],
        "pixel_id": item.get("pixel_id"),
        "attribution_window_days": item.get("attribution_window_days", DEFAULT_ATTRIBUTION_WINDOW_DAYS),
        "enabled": item.get("enabled", True),
    }


def viewer(public_base_url: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda item: link_view(item, public_base_url)


def _owned_by(items: Store, key: tuple[str, str], tenant_id: str, kind: str) -> bool:
    found = items.get(*key, consistent=True)
    return found is not None and found.get("tenant_id") == tenant_id and found.get("type") == kind


def _checked(items: Store, tenant_id: str, bots: Sequence[LinkBotRequest] | None, pixel_id: str | None) -> None:
    """Every bot and the pixel the tenant's, no bot twice, some bot with weight: Invalid naming each
    bad field otherwise. Another tenant's bot or pixel gets the words of a missing one (isolation)."""
    problems = []
    if bots is not None:
        seen: set[str] = set()
        for index, bot in enumerate(bots):
            field = f"bots.{index}.id"
            if bot.id in seen:
                problems.append(FieldProblem(field, f"bot {bot.id} is named twice"))
                continue
            seen.add(bot.id)
            if not _owned_by(items, keys.bot(bot.id), tenant_id, "bot"):
                problems.append(FieldProblem(field, f"no bot {bot.id}: add it with POST /api/v1/bots first"))
        if not any(bot.weight > 0 for bot in bots):
            problems.append(FieldProblem("bots", "at least one bot needs a weight above 0, or the link sends no one"))
    if pixel_id is not None and not _owned_by(items, keys.pixel(pixel_id), tenant_id, "pixel"):
        problems.append(FieldProblem("pixel_id", f"no pixel {pixel_id}: add it with POST /api/v1/pixels first"))
    if problems:
        raise Invalid("invalid input", problems)


def _stored_bots(bots: Sequence[LinkBotRequest]) -> list[dict[str, Any]]:
    return [LinkBot(bot_id=bot.id, weight=bot.weight).model_dump(mode="json") for bot in bots]


def create_link(items: Store, tenant_id: str, request: LinkCreate, public_base_url: str) -> dict[str, Any]:
    """The link, checked against the tenant's bots and pixel; Conflict when the slug is taken by anyone."""
    _checked(items, tenant_id, request.bots, request.pixel_id)
    link = Link(
        tenant_id=tenant_id,
        slug=request.slug,
        enabled=request.enabled,
        bots=[LinkBot(bot_id=bot.id, weight=bot.weight) for bot in request.bots],
        pixel_id=request.pixel_id,
        attribution_window_days=request.attribution_window_days,
    )
    item = link.to_item()
    put_new(items, item, f"the slug {request.slug} is taken: slugs are unique across the deployment")
    return link_view(item, public_base_url)


def get_link(items: Store, tenant_id: str, slug: str, public_base_url: str) -> dict[str, Any]:
    return link_view(owned(items.get(*keys.link(slug)), tenant_id, f"link {slug}"), public_base_url)


def update_link(items: Store, tenant_id: str, slug: str, request: LinkUpdate, public_base_url: str) -> dict[str, Any]:
    """SET the fields given (REMOVE ``pixel_id`` on null) in one write conditioned on the tenant."""
    given = request.model_fields_set
    pixel_id = request.pixel_id if "pixel_id" in given else None
    if not given:
        return get_link(items, tenant_id, slug, public_base_url)
    owned(items.get(*keys.link(slug)), tenant_id, f"link {slug}")  # 404 before 422: the link comes first
    _checked(items, tenant_id, request.bots if "bots" in given else None, pixel_id)
    changes: dict[str, Any] = {}
    if request.bots is not None:
        changes["bots"] = _stored_bots(request.bots)
    if request.attribution_window_days is not None:
        changes["attribution_window_days"] = request.attribution_window_days
    if request.enabled is not None:
        changes["enabled"] = request.enabled
    if pixel_id is not None:
        changes["pixel_id"] = pixel_id
    if "pixel_id" in given and pixel_id is None:
        changes["pixel_id"] = None  # cleared: the link's clicks report to no pixel
    item = apply_changes(items, keys.link(slug), changes, tenant_id, f"link {slug}")
    return link_view(item, public_base_url)
