"""Broadcasts through the operator's API: create, list, show, cancel; and the timer that starts one.

A broadcast is one item ``BROADCAST#<id>`` / ``BROADCAST`` (docs/data-model.md pattern 46), listed
per tenant on gsi1 (``TENANT#<tenant>`` / ``BROADCAST#<created>#<id>``) and due at ``send_at``
through the timers' DUE index (``timer = broadcast``). When it comes due, ``start_due`` puts ONE
message ``{"broadcast_id"}`` on the broadcast queue; ``funil.broadcasts.sending`` does the rest.

Checks, in order: the body (``BroadcastCreate``: 422 naming the field); the bot is the caller's
tenant's (another tenant's is refused as a missing one, 422 on ``bot_id``); each button's offer is
an enabled offer of that bot (422 on ``offer_ids.<n>``); a segment's offer is one of the bot's
(422 on ``segment.offer_id``). Nothing is written unless every check passed. Cancelling is allowed
while scheduled or sending (the run stops at its next page); a finished broadcast is a 409.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from funil import keys, timers
from funil.adapters.dynamo import is_conditional_failure
from funil.bot.views import BotView
from funil.broadcasts.models import MAX_AHEAD_DAYS, BroadcastCreate, due
from funil.broadcasts.runs import CANCELLED, COUNTS, SCHEDULED, SENDING
from funil.clock import iso
from funil.operator.errors import Conflict, FieldProblem, Invalid, NotFound
from funil.operator.paging import Page, list_page
from funil.operator.ports import Store
from funil.ports import MessageQueue

TIMER = "broadcast"

CREATE_DOC = (
    "Schedule a message (Telegram HTML text, an optional https photo, up to 6 buttons to the bot's offers) "
    "to a segment of one bot's leads, at send_at or now. It is sent within Telegram's limits (≤ 25 "
    "messages a second per bot), at most once per person; opted-out leads are skipped and users who "
    "blocked the bot are counted as blocked (and marked so)."
)
LIST_DOC = "The tenant's broadcasts, newest first, limit a page; pass next_cursor back as cursor."
CANCEL_DOC = "Stop a scheduled broadcast, or one being sent (it stops within a page of leads); 409 once done."


def new_broadcast_id() -> str:
    return secrets.token_hex(8)


def broadcast_view(item: Mapping[str, Any]) -> dict[str, Any]:
    counts = item.get("counts") or {}
    return {
        "id": item["broadcast_id"],
        "bot_id": item["bot_id"],
        "status": item["status"],
        "text": item["text"],
        "photo_url": item.get("photo_url"),
        "offer_ids": list(item.get("offer_ids") or []),
        "segment": dict(item.get("segment") or {}),
        "send_at": item["send_at"],
        "created_at": item["created_at"],
        "started_at": item.get("started_at"),
        "finished_at": item.get("finished_at"),
        "cancelled_at": item.get("cancelled_at"),
        "counts": {name: int(counts.get(name) or 0) for name in COUNTS},
    }


def _bot(items: Store, tenant_id: str, bot_id: str) -> BotView | None:
    found = list(items.query("pk = :pk", {":pk": keys.bot(bot_id)[0]}))
    view = BotView.from_items(bot_id, found)
    return view if view is not None and view.tenant_id == tenant_id else None


def create_broadcast(
    items: Store, tenant_id: str, request: BroadcastCreate, now: datetime, new_id: Any = new_broadcast_id
) -> dict[str, Any]:
    bot = _bot(items, tenant_id, request.bot_id)
    if bot is None:
        raise Invalid.field("bot_id", f"no bot {request.bot_id} of yours: see GET /api/v1/bots")
    problems = [
        FieldProblem(f"offer_ids.{position}", f"bot {bot.bot_id} sells no enabled offer {offer_id}")
        for position, offer_id in enumerate(request.offer_ids)
        if bot.offer(offer_id) is None
    ]
    segment_offer = request.segment.offer_id
    if segment_offer is not None:
        offer = items.get(*keys.offer(bot.bot_id, segment_offer))
        if offer is None or offer.get("tenant_id") != tenant_id:
            problems.append(FieldProblem("segment.offer_id", f"bot {bot.bot_id} has no offer {segment_offer}"))
    if request.send_at is not None and request.send_at > now + timedelta(days=MAX_AHEAD_DAYS):
        problems.append(FieldProblem("send_at", f"at most {MAX_AHEAD_DAYS} days ahead"))
    if problems:
        raise Invalid("invalid input", problems)
    broadcast_id = new_id()
    key = keys.broadcast(broadcast_id)
    send_at = due(request.send_at, now)
    created = iso(now)
    item: dict[str, Any] = {
        "pk": key[0],
        "sk": key[1],
        "type": "broadcast",
        "tenant_id": tenant_id,
        "broadcast_id": broadcast_id,
        "bot_id": bot.bot_id,
        "text": request.text,
        "photo_url": request.photo_url,
        "offer_ids": list(request.offer_ids),
        "segment": request.segment.stored(),
        "send_at": iso(send_at),
        "created_at": created,
        "status": SCHEDULED,
        "counts": dict.fromkeys(COUNTS, 0),
        **keys.tenant_broadcast_index(tenant_id, created, broadcast_id),
        **timers.due_attributes(key, TIMER, send_at),
    }
    items.put(item, condition="attribute_not_exists(pk)")
    return broadcast_view(item)


def _owned(items: Store, tenant_id: str, broadcast_id: str) -> dict[str, Any]:
    item = items.get(*keys.broadcast(broadcast_id), consistent=True)
    if item is None or item.get("tenant_id") != tenant_id or item.get("type") != "broadcast":
        raise NotFound(f"no broadcast {broadcast_id}")
    return item


def get_broadcast(items: Store, tenant_id: str, broadcast_id: str) -> dict[str, Any]:
    return broadcast_view(_owned(items, tenant_id, broadcast_id))


def list_broadcasts(items: Store, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
    return list_page(
        items,
        keys.tenant_broadcast_index(tenant_id),
        limit=limit,
        cursor=cursor,
        view=broadcast_view,
        keep=lambda item: item.get("tenant_id") == tenant_id and item.get("type") == "broadcast",
        newest_first=True,
    )


def cancel_broadcast(items: Store, tenant_id: str, broadcast_id: str, now: datetime) -> dict[str, Any]:
    """scheduled | sending → cancelled, its due time removed (a run in progress stops at its next page)."""
    _owned(items, tenant_id, broadcast_id)
    try:
        updated = items.update(
            *keys.broadcast(broadcast_id),
            "SET #status = :cancelled, cancelled_at = :now REMOVE gsi2pk, gsi2sk, timer_lease, timer_attempts",
            {":cancelled": CANCELLED, ":now": iso(now), ":scheduled": SCHEDULED, ":sending": SENDING},
            names={"#status": "status"},
            condition="#status IN (:scheduled, :sending)",
            return_values="ALL_NEW",
        )
    except Exception as error:
        if not is_conditional_failure(error):
            raise
        item = _owned(items, tenant_id, broadcast_id)
        raise Conflict(
            f"broadcast {broadcast_id} is {item.get('status')}: only a scheduled or sending one stops"
        ) from None
    return broadcast_view(updated)


# -- the timer ------------------------------------------------------------------------------------


def start_due(items: Any, queue: MessageQueue, item: dict[str, Any], now: datetime) -> datetime | None:
    """The broadcast's ``send_at`` has come: one message to the broadcast queue, then nothing more due.

    A run that dies after sending is retried by the timers (a second message is harmless: the sender
    takes a broadcast once at a time, per bot, and never sends a person twice)."""
    if item.get("status") != SCHEDULED:
        return None  # cancelled meanwhile, or already started
    queue.send(json.dumps({"broadcast_id": item["broadcast_id"]}))
    return None
