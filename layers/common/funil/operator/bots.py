"""Bots: a Telegram bot, its token and webhook secret (encrypted), and its own configuration.

Adding one: ``getMe`` proves the token (Telegram refuses it → 422 on ``token``) and names the bot;
a fresh webhook secret is made; token and secret are encrypted under the bot item's context
(``funil.encryption``); the item is written (an id taken → 409); then ``setWebhook`` points Telegram
at ``<PUBLIC_BASE_URL>/tg/<id>`` with that secret. ``setWebhook`` can only come after the write
(Telegram may deliver at once, and the webhook must find the bot), so when it fails the item is
deleted again: a failed request leaves nothing.

Replacing the token (PATCH ``token``, after ``/revoke`` at BotFather) also writes first: ``getMe``
must answer the same Telegram bot; the new token and a new secret are written (guarded by the old
token's ciphertext), then ``setWebhook``; when that fails, the attributes changed are put back as
they were. Between the write and ``setWebhook``, and while a warm webhook container still caches the
bot (``BOT_CACHE_SECONDS``), Telegram's deliveries are refused; Telegram retries them.

A tenant cannot add the same Telegram bot twice (under two ids): Telegram keeps one webhook per bot,
and the two items would take it from each other at every health check.

Without ``PUBLIC_BASE_URL`` on the stack there is no webhook URL to give Telegram: adding a bot (or
replacing its token) is refused with 503 before any call, the message naming the stack parameter.

``admin_telegram_ids``: the Telegram users (at most ``MAX_ADMINS``) whose ``/painel`` in a private chat
with the bot gets a sign-in link to the tenant's dashboard (``funil.bot.admin``); stored as a list
of numbers, absent when there are none.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from funil import encryption, keys
from funil.adapters.dynamo import Write, is_conditional_failure
from funil.adapters.telegram import BotTokenInvalid, TelegramClient, TelegramFailure
from funil.bot.health import ALLOWED_UPDATES
from funil.clock import iso
from funil.operator.errors import Conflict, Invalid, NotFound, Unconfigured, Upstream
from funil.operator.models import ENTITY_ID, Bot, BotHealth
from funil.operator.pixels import tenant_pixel
from funil.operator.ports import OperatorDeps, Store
from funil.operator.records import apply_changes, refuse_nulls, tenant_item

log = logging.getLogger(__name__)

# BotFather's shape: the bot's numeric id, a colon, 35 URL-safe characters (a little slack either way).
TOKEN_RE = r"^[0-9]{3,20}:[A-Za-z0-9_-]{30,100}$"  # noqa: S105 - a pattern, not a secret
SECRET_BYTES = 32  # token_urlsafe(32): 43 characters of [A-Za-z0-9_-], within Telegram's 1-256
TEXT = r"\S"  # not blank: Telegram refuses an empty message
MAX_ADMINS = 10
ADMINS_DOC = (
    f"Telegram user ids (at most {MAX_ADMINS}) whose /painel (or /dashboard) in a private chat with the bot gets a "
    "one-time sign-in link to your dashboard; anyone else's is answered like any other text"
)


def _unique(ids: list[int]) -> list[int]:
    return list(dict.fromkeys(ids))  # the first of each, in the order given


# Strict: a Telegram id is a JSON integer (not true, 1.0 or "1"); every Telegram id fits in 64 bits.
TelegramUserId = Annotated[int, Field(strict=True, gt=0, lt=2**63)]
AdminIds = Annotated[list[TelegramUserId], Field(max_length=MAX_ADMINS), AfterValidator(_unique)]

NO_PUBLIC_URL = (
    "this stack has no public URL (the PublicBaseUrl parameter, PUBLIC_BASE_URL): Telegram would have "
    "nowhere to send the bot's updates. Deploy with PublicBaseUrl=https://<your domain> and try again"
)


class BotCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(
        pattern=TOKEN_RE, description="The bot's token from @BotFather (123456789:AA…): stored encrypted, never shown"
    )
    id: str | None = Field(default=None, pattern=ENTITY_ID, description="Default: bot_<Telegram's id of the bot>")
    pixel_id: str | None = Field(
        default=None, pattern=ENTITY_ID, description="One of your pixels: where the bot's organic leads are reported"
    )
    welcome_text: str | None = Field(
        default=None, min_length=1, max_length=1000, pattern=TEXT, description="/start's text; {nome} is the name"
    )
    support_text: str | None = Field(default=None, min_length=1, max_length=1000, pattern=TEXT)
    pix_expires_minutes: int = Field(default=60, ge=5, le=24 * 60, description="How long a PIX charge stays payable")
    admin_telegram_ids: AdminIds | None = Field(default=None, description=ADMINS_DOC)


class BotUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    pixel_id: str | None = Field(default=None, pattern=ENTITY_ID, description="null: no pixel")
    welcome_text: str | None = Field(
        default=None, min_length=1, max_length=1000, pattern=TEXT, description="null: the default text"
    )
    support_text: str | None = Field(
        default=None, min_length=1, max_length=1000, pattern=TEXT, description="null: the default text"
    )
    pix_expires_minutes: int | None = Field(default=None, ge=5, le=24 * 60)
    token: str | None = Field(
        default=None, pattern=TOKEN_RE, description="A new token of the same bot (after /revoke at @BotFather)"
    )
    admin_telegram_ids: AdminIds | None = Field(default=None, description=f"{ADMINS_DOC}. null or [] clears")


CLEARABLE = frozenset({"pixel_id", "welcome_text", "support_text", "admin_telegram_ids"})


def webhook_url(public_base_url: str, bot_id: str) -> str:
    return f"{public_base_url.rstrip('/')}/tg/{bot_id}"


def bot_view(item: dict[str, Any], public_base_url: str) -> dict[str, Any]:
    """A stored bot as the API shows it: never the token, the secret or their ciphertexts."""
    health = item.get("health") or {}
    return {
        "id": item["bot_id"],
        "username": item.get("username"),
        "telegram_id": item.get("telegram_id"),
        "enabled": item.get("enabled", True),
        "pixel_id": item.get("pixel_id"),
        "welcome_text": item.get("welcome_text"),
        "support_text": item.get("support_text"),
        "pix_expires_minutes": item.get("pix_expires_minutes", 60),
        "admin_telegram_ids": list(item.get("admin_telegram_ids") or []),
        "health": {key: health.get(key) for key in ("status", "reason", "checked_at")},
        "webhook_url": webhook_url(public_base_url, str(item["bot_id"])) if public_base_url else None,
        "created_at": item.get("created_at"),
    }


def tenant_bot(items: Store, tenant_id: str, bot_id: str) -> dict[str, Any]:
    """One of the tenant's bots; NotFound for a missing one and for another tenant's alike."""
    return tenant_item(items, keys.bot(bot_id), tenant_id, f"bot {bot_id}")


def check_pixel(items: Store, tenant_id: str, pixel_id: str | None) -> None:
    if pixel_id is not None:
        try:
            tenant_pixel(items, tenant_id, pixel_id)
        except NotFound as error:
            raise Invalid.field("pixel_id", f"you have no pixel {pixel_id}") from error


def who_is(api: TelegramClient) -> dict[str, Any]:
    """``getMe``, its failures as the request's: a refused token is the input's fault."""
    try:
        me = api.get_me()
    except BotTokenInvalid as error:
        raise Invalid.field("token", "Telegram refused this token: copy it again from @BotFather") from error
    except TelegramFailure as error:
        raise Upstream(f"Telegram did not answer ({type(error).__name__}): nothing was saved, try again") from error
    if not isinstance(me.get("id"), int) or isinstance(me.get("id"), bool):
        raise Upstream("Telegram's getMe answered no bot id: nothing was saved")
    return me


def point_webhook(api: TelegramClient, url: str, secret: str) -> None:
    api.set_webhook(url, secret, list(ALLOWED_UPDATES))


def webhook_failure(error: TelegramFailure) -> Invalid | Upstream:
    if isinstance(error, BotTokenInvalid):
        return Invalid.field("token", "Telegram refused this token: copy it again from @BotFather")
    return Upstream(f"Telegram did not set the webhook ({type(error).__name__}): nothing was saved, try again")


def healthy(now: datetime, reason: str) -> dict[str, Any]:
    return BotHealth(status="healthy", reason=reason, checked_at=iso(now)).model_dump()


def create_bot(deps: OperatorDeps, tenant_id: str, request: BotCreate) -> dict[str, Any]:
    """Prove the token, write the bot, point its webhook at us (the write undone if that fails)."""
    if not deps.public_base_url:
        raise Unconfigured(NO_PUBLIC_URL)
    check_pixel(deps.items, tenant_id, request.pixel_id)
    if request.id is not None and deps.items.get(*keys.bot(request.id), consistent=True) is not None:
        raise Conflict(f"bot {request.id} already exists")  # before bothering Telegram
    api = deps.telegram(request.token)
    me = who_is(api)
    twin = added_already(deps.items, tenant_id, me)
    if twin is not None:  # two items would fight over the one webhook Telegram keeps per bot
        raise Conflict(f"@{me.get('username')} is already added as bot {twin}")
    bot_id = request.id or f"bot_{me.get('id')}"
    key = keys.bot(bot_id)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    now = deps.now()
    try:
        bot = Bot(
            tenant_id=tenant_id,
            bot_id=bot_id,
            username=str(me.get("username") or ""),
            telegram_id=me.get("id"),
            health=BotHealth(**healthy(now, "webhook_set")),
            token_ciphertext=encryption.encrypt_field(
                deps.secrets, deps.key_id, key, encryption.BOT_TOKEN, request.token
            ),
            webhook_secret_ciphertext=encryption.encrypt_field(
                deps.secrets, deps.key_id, key, encryption.BOT_WEBHOOK_SECRET, secret
            ),
            pixel_id=request.pixel_id,
            welcome_text=request.welcome_text,
            support_text=request.support_text,
            pix_expires_minutes=request.pix_expires_minutes,
        )
    except ValidationError as error:  # getMe answered something that is no bot of Telegram's
        raise Upstream("Telegram's getMe answered no usable username: nothing was saved") from error
    item = {**bot.to_item(), "admin_telegram_ids": request.admin_telegram_ids or None, "created_at": iso(now)}
    marker_key = keys.telegram_bot(str(me.get("id")))
    marker = {
        "pk": marker_key[0],
        "sk": marker_key[1],
        "type": "telegram_bot",
        "bot_id": bot_id,
        "tenant_id": tenant_id,
    }
    try:  # the bot and its Telegram bot's marker, both or neither: another tenant's takes precedence
        deps.items.transact_write(
            [
                Write(item=item, condition="attribute_not_exists(pk)"),
                Write(item=marker, condition="attribute_not_exists(pk)"),
            ]
        )
    except Exception as error:
        if is_conditional_failure(error):
            raise Conflict(f"bot {bot_id} or @{me.get('username')} is already added to this deployment") from error
        raise
    try:
        point_webhook(api, webhook_url(deps.public_base_url, bot_id), secret)
    except TelegramFailure as error:
        _undo(lambda: deps.items.transact_write([Write(key=key), Write(key=marker_key)]), bot_id)
        raise webhook_failure(error) from error
    return bot_view(item, deps.public_base_url)


def update_bot(deps: OperatorDeps, tenant_id: str, bot_id: str, request: BotUpdate) -> dict[str, Any]:
    """Change a bot; a new token is proven to be the same bot, and the webhook set again with a new secret."""
    given = request.model_fields_set
    refuse_nulls(request, given, CLEARABLE)
    if request.token is not None and not deps.public_base_url:
        raise Unconfigured(NO_PUBLIC_URL)
    key = keys.bot(bot_id)
    what = f"bot {bot_id}"
    current = tenant_bot(deps.items, tenant_id, bot_id)
    if "pixel_id" in given:
        check_pixel(deps.items, tenant_id, request.pixel_id)
    changes: dict[str, Any] = {
        name: getattr(request, name)
        for name in ("enabled", "pixel_id", "welcome_text", "support_text", "pix_expires_minutes")
        if name in given
    }
    if "admin_telegram_ids" in given:
        changes["admin_telegram_ids"] = request.admin_telegram_ids or None  # [] clears, as null does
    if request.token is None:
        return bot_view(apply_changes(deps.items, key, changes, tenant_id, what), deps.public_base_url)

    api = deps.telegram(request.token)
    me = who_is(api)
    if not same_bot(current, me):
        raise Invalid.field(
            "token", f"this token is another bot's (@{me.get('username')}), not @{current.get('username')}'s"
        )
    secret = secrets.token_urlsafe(SECRET_BYTES)
    token_ciphertext = encryption.encrypt_field(deps.secrets, deps.key_id, key, encryption.BOT_TOKEN, request.token)
    changes |= {
        encryption.BOT_TOKEN: token_ciphertext,
        encryption.BOT_WEBHOOK_SECRET: encryption.encrypt_field(
            deps.secrets, deps.key_id, key, encryption.BOT_WEBHOOK_SECRET, secret
        ),
        "telegram_id": me.get("id"),
        "health": healthy(deps.now(), "token_replaced"),
    }
    before = {name: current.get(name) for name in changes}
    item = apply_changes(
        deps.items, key, changes, tenant_id, what, guard=(encryption.BOT_TOKEN, current.get(encryption.BOT_TOKEN))
    )
    try:
        point_webhook(api, webhook_url(deps.public_base_url, bot_id), secret)
    except TelegramFailure as error:
        _undo(
            lambda: apply_changes(
                deps.items, key, before, tenant_id, what, guard=(encryption.BOT_TOKEN, token_ciphertext)
            ),
            bot_id,
        )
        raise webhook_failure(error) from error
    return bot_view(item, deps.public_base_url)


def added_already(items: Store, tenant_id: str, me: dict[str, Any]) -> str | None:
    """The id under which the tenant already has this Telegram bot, if it does."""
    listing = keys.tenant_bot_index(tenant_id)
    for item in items.query(
        "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
        {":pk": listing["gsi1pk"], ":prefix": listing["gsi1sk"]},
        index="gsi1",
    ):
        if same_bot(item, me):
            return str(item["bot_id"])
    return None


def same_bot(current: dict[str, Any], me: dict[str, Any]) -> bool:
    """Whether getMe's answer for a new token is the bot stored (by Telegram's id; by username for a
    bot stored before its id was)."""
    if current.get("telegram_id") is not None:
        return str(current["telegram_id"]) == str(me.get("id"))
    return str(current.get("username") or "").lower() == str(me.get("username") or "").lower()


def _undo(action: Callable[[], object], bot_id: str) -> None:
    """Put the table back after Telegram refused; a failure here is logged, the request's answer stays Telegram's."""
    try:
        action()
    except Exception:
        log.exception("could not undo the write of bot %s after setWebhook failed", bot_id)
