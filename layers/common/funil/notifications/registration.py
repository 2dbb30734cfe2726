"""Registering a tenant's admin chats, and the operator's changes to them (docs/notifications.md).

A code is made by the operator's API (``POST /api/v1/notifications/codes``, ``funil notifications
code``): 10 characters, worth 15 minutes and one registration, stored only as its SHA-256
(``NOTIFYCODE#<sha256>``, pattern 50). A person sends ``/admin <code>`` to one of the tenant's bots
in their private chat with it (``funil.bot.entry``, which imports this module only then). Checked in
order: the code's shape; the code exists, is unexpired and is the bot's tenant's. Any failure
answers one neutral message and changes nothing (another tenant's code is not spent). Then one
transaction spends the code (``used_at``, conditional on its absence) and writes the chat (``NOTIFY#<tenant>`` /
``CHAT#<chat>``, pattern 51), due for its first report (pattern 43); a chat already registered is
moved to this bot and reactivated, its settings kept.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from funil import keys
from funil.adapters.dynamo import Write, is_conditional_failure
from funil.clock import iso, to_epoch_s
from funil.notifications.models import (
    ACTIVE,
    DEFAULT_REPORT_HOUR,
    REPORT_TIMER,
    ChatChange,
    chat_view,
    enabled_kinds,
    next_report_at,
)
from funil.operator.errors import Invalid, NotFound
from funil.ports import Items

__all__ = [
    "CODE_LIFETIME",
    "create_code",
    "list_chats",
    "redeem",
    "remove_chat",
    "update_chat",
]

log = logging.getLogger(__name__)

CODE_LIFETIME = timedelta(minutes=15)
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: typed by hand from a screen
CODE_LENGTH = 10  # ~49 bits; guessing is also bounded by the bot's webhook throttle and the 15 minutes
CODE_RE = re.compile(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
MAX_CHATS = 20  # per tenant: each notice is one message per chat


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def normalise_code(text: str | None) -> str | None:
    """The code as typed (any case, spaces or dashes between groups) in its stored form; None if it cannot be one."""
    if not text or len(text) > 64:
        return None
    compact = re.sub(r"[\s-]", "", text).upper()
    return compact if CODE_RE.fullmatch(compact) else None


def create_code(items: Items, tenant_id: str, now: datetime, *, key_id: str | None) -> dict[str, Any]:
    """A fresh one-time code for ``tenant_id``: ``{code, command, expires_at}`` (the code is shown once)."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires = now + CODE_LIFETIME
    pk, sk = keys.notification_code(_digest(code))
    items.put(
        {
            "pk": pk,
            "sk": sk,
            "type": "notification_code",
            "tenant_id": tenant_id,
            "key_id": key_id,
            "created_at": iso(now),
            "expires_at": to_epoch_s(expires),
        },
        condition="attribute_not_exists(pk)",
    )
    return {"code": code, "command": f"/admin {code}", "expires_at": iso(expires)}


def redeem(items: Any, *, tenant_id: str, bot_id: str, chat_id: int, text: str | None, now: datetime) -> str:
    """``/admin <code>`` in a private chat with bot ``bot_id``: ``registered``, ``moved`` or ``refused``."""
    code = normalise_code(text)
    if code is None:
        return "refused"
    code_key = keys.notification_code(_digest(code))
    found = items.get(*code_key, consistent=True)
    expires_at = (found or {}).get("expires_at")
    if (
        found is None
        or found.get("used_at")
        or found.get("tenant_id") != tenant_id
        or not isinstance(expires_at, int)
        or expires_at <= to_epoch_s(now)  # DynamoDB serves expired items until it deletes them
    ):
        return "refused"
    chat_key = keys.admin_chat(tenant_id, chat_id)
    existing = items.get(*chat_key, consistent=True)
    if existing is None and _count_chats(items, tenant_id) >= MAX_CHATS:
        log.warning("admin chat not registered: the tenant has the most chats allowed")
        return "refused"
    spend = Write(
        key=code_key,
        expression="SET used_at = :now, used_by_chat = :chat",
        condition="attribute_exists(pk) AND attribute_not_exists(used_at) AND tenant_id = :tenant",
        values={":tenant": tenant_id, ":now": iso(now), ":chat": chat_id},
    )
    hour = int((existing or {}).get("report_hour", DEFAULT_REPORT_HOUR))
    due = keys.due_index(*chat_key, iso(next_report_at(now, hour)))
    chat = Write(
        key=chat_key,
        expression=(
            "SET #type = :type, tenant_id = :tenant, chat_id = :chat, bot_id = :bot, #status = :active, "
            "created_at = if_not_exists(created_at, :now), registered_at = :now, report_hour = :hour, "
            "timer = :timer, gsi2pk = :gsi2pk, gsi2sk = :gsi2sk REMOVE blocked_at, timer_lease, timer_attempts"
        ),
        values={
            ":type": "admin_chat",
            ":tenant": tenant_id,
            ":chat": chat_id,
            ":bot": bot_id,
            ":active": ACTIVE,
            ":now": iso(now),
            ":hour": hour,
            ":timer": REPORT_TIMER,
            ":gsi2pk": due["gsi2pk"],
            ":gsi2sk": due["gsi2sk"],
        },
        names={"#type": "type", "#status": "status"},
    )
    try:
        items.transact_write([spend, chat])
    except Exception as error:
        if is_conditional_failure(error):
            return "refused"  # spent by someone else meanwhile
        raise
    log.info("admin chat registered", extra={"bot_id": bot_id})
    return "moved" if existing is not None else "registered"


def _count_chats(items: Items, tenant_id: str) -> int:
    pk, prefix = keys.admin_chats(tenant_id)
    return len(list(items.query("pk = :pk AND begins_with(sk, :chat)", {":pk": pk, ":chat": prefix})))


def chats(items: Items, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's admin chats as stored (pattern 51)."""
    pk, prefix = keys.admin_chats(tenant_id)
    found = items.query("pk = :pk AND begins_with(sk, :chat)", {":pk": pk, ":chat": prefix})
    return [item for item in found if item.get("type") == "admin_chat" and item.get("tenant_id") == tenant_id]


def list_chats(items: Items, tenant_id: str) -> dict[str, Any]:
    return {"items": [chat_view(item) for item in chats(items, tenant_id)]}


def _owned(items: Items, tenant_id: str, chat_id: int) -> dict[str, Any]:
    item = items.get(*keys.admin_chat(tenant_id, chat_id), consistent=True)
    if item is None or item.get("type") != "admin_chat" or item.get("tenant_id") != tenant_id:
        raise NotFound(f"no admin chat {chat_id}")
    return item


def update_chat(items: Items, tenant_id: str, chat_id: int, change: ChatChange, now: datetime) -> dict[str, Any]:
    """Turn kinds on or off and move the report hour; the next report is rescheduled at once."""
    from funil import timers

    if change.kinds is None and change.report_hour is None:
        raise Invalid.field("body", "give kinds, report_hour or both")
    item = _owned(items, tenant_id, chat_id)
    kinds = enabled_kinds(item)
    kinds.update({str(kind): on for kind, on in (change.kinds or {}).items()})
    hour = change.report_hour if change.report_hour is not None else int(item.get("report_hour", DEFAULT_REPORT_HOUR))
    key = keys.admin_chat(tenant_id, chat_id)
    try:
        items.update(
            *key,
            "SET kinds = :kinds, report_hour = :hour, updated_at = :now",
            {":kinds": kinds, ":hour": hour, ":now": iso(now), ":tenant": tenant_id},
            condition="attribute_exists(pk) AND tenant_id = :tenant",
        )
    except Exception as error:
        if is_conditional_failure(error):
            raise NotFound(f"no admin chat {chat_id}") from None
        raise
    timers.schedule(items, key, REPORT_TIMER, next_report_at(now, hour))
    return chat_view(_owned(items, tenant_id, chat_id))


def remove_chat(items: Any, tenant_id: str, chat_id: int) -> dict[str, Any]:
    """The chat hears nothing more (its claims of notices already sent stay until their TTL)."""
    _owned(items, tenant_id, chat_id)
    items.delete(*keys.admin_chat(tenant_id, chat_id))
    return {"removed": chat_id}
