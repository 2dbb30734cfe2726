"""``/start``: resolve the click, upsert the lead (first/last touch, touch history), the Lead event.

A click attributes the lead only when it exists, belongs to this bot's tenant **and** this bot, and
its attribution window is still open (``attribution_ends_at``; ``expires_at`` also checked, since
DynamoDB serves expired items until it deletes them). Anything else is an organic lead, served the
same. The lead is written before the bot answers, so it exists before any offer is shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from funil import keys
from funil.bot.updates import Person
from funil.bot.views import BotView
from funil.clock import iso, parse_iso, to_epoch_s
from funil.event_kinds import EventKind

# The click's fields copied onto the lead (and later snapshotted onto its payments): what attributes
# a sale, never the visitor's raw IP, User-Agent, language, Referer or location. Those stay on the
# click, which expires after the attribution window (its TTL); the conversions sender reads them
# from there while the click lives (``funil.click.fields.PERSONAL_FIELDS``).
ATTRIBUTION_FIELDS = (
    "link_slug", "pixel_id", "clicked_at", "clicked_at_ms", "attribution_ends_at", "click_ids", "utm", "ad",
    "fbc", "fbc_source", "fbp", "ip_hmac", "ip_anon", "visitor", "host",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Touch:
    """What one ``/start`` was: attributed to a click, or organic (and why)."""

    token: str | None
    attributed: bool
    reason: str  # click | no_token | unknown_token | expired | other_tenant | other_bot
    attribution: dict[str, Any] | None = None

    def summary(self, at: str) -> dict[str, Any]:
        summary: dict[str, Any] = {"at": at, "attributed": self.attributed, "reason": self.reason}
        if self.attribution:
            summary["click_token"] = self.token
            for name in ("link_slug", "clicked_at", "utm", "ad"):
                if self.attribution.get(name):
                    summary[name] = self.attribution[name]
        return summary


def resolve_click(click: Mapping[str, Any] | None, bot: BotView, token: str | None, now: datetime) -> Touch:
    if not token:
        return Touch(None, False, "no_token")
    if click is None or click.get("token", token) != token:
        return Touch(token, False, "unknown_token")
    if click.get("tenant_id") != bot.tenant_id:
        return Touch(token, False, "other_tenant")
    if click.get("bot_id") != bot.bot_id:
        return Touch(token, False, "other_bot")
    ends = click.get("attribution_ends_at")
    expires_at = click.get("expires_at")
    try:
        window_open = isinstance(ends, str) and parse_iso(ends) > now
    except ValueError:
        window_open = False
    if not window_open or (isinstance(expires_at, int) and expires_at <= to_epoch_s(now)):
        return Touch(token, False, "expired")
    attribution = {name: click[name] for name in ATTRIBUTION_FIELDS if click.get(name) not in (None, "", {})}
    attribution["click_token"] = token
    return Touch(token, True, "click", attribution)


def lead_pixel(bot: BotView, touch: Touch, lead: Mapping[str, Any] | None) -> str | None:
    """The pixel a lead reports to: its click's link's, else what it had, else the bot's."""
    if touch.attribution and touch.attribution.get("pixel_id"):
        return str(touch.attribution["pixel_id"])
    if lead and lead.get("pixel_id"):
        return str(lead["pixel_id"])
    return bot.pixel_id


@dataclass(frozen=True, slots=True)
class LeadMessage:
    """The Lead for the conversions queue, as ``funil.messages.ConversionMessage`` reads it.

    Built without pydantic: a ``/start`` is the webhook's commonest update, and pydantic is about a
    third of the SDK's own import (bench/README.md); the sender validates the message as it takes it.
    A test checks that the model reads back exactly this message.
    """

    event_id: str
    tenant_id: str
    pixel_id: str
    occurred_at: datetime  # aware, UTC
    bot_id: str
    telegram_user_id: int
    click_token: str | None

    kind = EventKind.LEAD

    def to_json(self) -> str:
        refs = {"click_token": self.click_token, "bot_id": self.bot_id, "telegram_user_id": self.telegram_user_id}
        return json.dumps(
            {
                "version": 1,
                "kind": self.kind.value,
                "event_id": self.event_id,
                "tenant_id": self.tenant_id,
                "pixel_id": self.pixel_id,
                "occurred_at": self.occurred_at.isoformat(),
                "refs": refs,
            },
            separators=(",", ":"),
        )


@dataclass(frozen=True, slots=True)
class StartWrite:
    expression: str
    values: dict[str, Any]
    names: dict[str, str]
    touch_item: dict[str, Any]
    lead_event: LeadMessage | None


def lead_event_id(bot_id: str, user_id: int) -> str:
    return f"lead_{bot_id}_{user_id}"


def plan_start(
    bot: BotView,
    person: Person,
    touch: Touch,
    lead: Mapping[str, Any] | None,
    *,
    update_id: int,
    started_at: datetime,
    now: datetime,
) -> StartWrite:
    """The lead upsert, its touch item and (first time only) the Lead message."""
    at = iso(started_at)
    pixel_id = lead_pixel(bot, touch, lead)
    send_lead = not (lead or {}).get("lead_event_at") and pixel_id is not None
    sets = [
        "#type = :type", "tenant_id = :tenant", "bot_id = :bot", "telegram_user_id = :user", "last_start_at = :at",
        "first_seen_at = if_not_exists(first_seen_at, :at)", "reachable = :yes", "gsi1pk = :gsi1pk",
        "gsi1sk = :at", "starts = if_not_exists(starts, :zero) + :one",
    ]  # fmt: skip
    values: dict[str, Any] = {
        ":type": "lead",
        ":bot": bot.bot_id,
        ":user": person.user_id,
        ":at": at,
        ":yes": True,
        ":gsi1pk": keys.bot_leads_index(bot.bot_id, at)["gsi1pk"],
        ":zero": 0,
        ":one": 1,
    }
    names = {"#type": "type"}
    for index, (name, value) in enumerate(person.profile().items()):
        sets.append(f"#p{index} = :p{index}")
        names[f"#p{index}"] = name
        values[f":p{index}"] = value
    summary = touch.summary(at)
    if touch.attributed:
        sets += [
            "attributed = :yes", "attribution = :attribution", "last_touch = :touch",
            "first_touch = if_not_exists(first_touch, :touch)", "pixel_id = :pixel",
        ]  # fmt: skip
        values.update({":attribution": touch.attribution, ":touch": summary, ":pixel": pixel_id})
    else:
        sets.append("attributed = if_not_exists(attributed, :no)")
        values[":no"] = False
        if pixel_id is not None:
            sets.append("pixel_id = if_not_exists(pixel_id, :pixel)")
            values[":pixel"] = pixel_id
    message = None
    if send_lead and pixel_id is not None:
        sets.append("lead_event_at = if_not_exists(lead_event_at, :now)")
        values[":now"] = iso(now)
        message = LeadMessage(
            event_id=lead_event_id(bot.bot_id, person.user_id),
            tenant_id=bot.tenant_id,
            pixel_id=pixel_id,
            occurred_at=started_at,
            bot_id=bot.bot_id,
            telegram_user_id=person.user_id,
            click_token=touch.token if touch.attributed else None,
        )
    pk, sk = keys.touch(bot.bot_id, person.user_id, at, touch.token if touch.attributed else None)
    touch_item = {
        "pk": pk,
        "sk": sk,
        "type": "touch",
        "tenant_id": bot.tenant_id,
        "bot_id": bot.bot_id,
        "telegram_user_id": person.user_id,
        "update_id": update_id,
        **summary,
    }
    if not touch.attributed and touch.token:
        touch_item["start_parameter"] = touch.token  # an unknown/expired/foreign token, kept for support
    return StartWrite("SET " + ", ".join(sets), values, names, touch_item, message)
