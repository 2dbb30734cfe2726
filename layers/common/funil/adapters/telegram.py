"""Telegram Bot API: python-telegram-bot (v22) as the client, behind a small synchronous facade.

Lambda runs one event at a time per container, and PTB is asyncio. So, for the container's life:

- **one event loop** at module scope (``run``): a loop per invocation breaks on the second call
  because the kept-alive connections of the pool belong to the first loop;
- **one** ``HTTPXRequest`` (one connection pool, one SSL context) shared by every bot;
- **one** ``telegram.Bot`` per token (``bot_for``), the token decrypted by the caller (KMS) and kept
  in memory only; no ``telegram.ext`` (state lives in DynamoDB).

``TELEGRAM_API_BASE_URL`` points the client at another Bot API server (the local fake in tests and
in the local stack). Like the rest of the code base it is the server's origin
(``https://api.telegram.org``, ``http://127.0.0.1:8081``); a value already ending in ``/bot`` is
taken as is. PTB appends ``<token>/<method>``.

``TelegramClient`` wraps one bot: ``call(coroutine)`` runs any PTB call and maps its errors, and the
typed helpers cover what Funil sends. Errors, by what the caller must do:

- ``UserUnreachable`` (403: the user blocked the bot or is deactivated) — that user's state, never
  the bot's health;
- ``RateLimited(retry_after)`` (429) — try again after ``retry_after`` seconds;
- ``BotTokenInvalid`` (401/404 on the token) — the bot is unhealthy until its token is replaced;
- ``TelegramUnavailable`` (network errors, timeouts, 5xx) — retry later;
- ``TelegramRejected`` (400: the request was refused, e.g. "message is not modified").

Buttons are described with ``Button`` (plain data) and checked here for what PTB does not check:
``callback_data`` 1–64 bytes, ``copy_text`` 1–256 characters, exactly one action per button.

PTB is imported where a Bot API call is made, never at import: it costs ~60 ms of a cold start
(docs/architecture.md §8), and a handler imports this module for its errors and ``Button`` alone.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Awaitable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from funil.config import settings

if TYPE_CHECKING:
    import asyncio

    from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
    from telegram.error import RetryAfter, TelegramError
    from telegram.request import HTTPXRequest

T = TypeVar("T")

MAX_CALLBACK_DATA_BYTES = 64
MAX_COPY_TEXT_CHARS = 256
MAX_MESSAGE_CHARS = 4096
MAX_CAPTION_CHARS = 1024
DEFAULT_RETRY_AFTER_SECONDS = 5

# -- errors -----------------------------------------------------------------------------------------


class TelegramFailure(Exception):
    """A Bot API call failed; the subclasses say what to do about it. Never carries the token."""


class UserUnreachable(TelegramFailure):
    """403: the user blocked the bot or deleted their account."""


class RateLimited(TelegramFailure):
    """429: flood control; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


class BotTokenInvalid(TelegramFailure):
    """401 (or 404 on the token): the token was revoked or never valid."""


class TelegramUnavailable(TelegramFailure):
    """Network error, timeout or server error: retry later."""


class TelegramRejected(TelegramFailure):
    """400 and other refusals of this request (a bug of ours, or e.g. "message is not modified")."""


# -- buttons ------------------------------------------------------------------------------------------


class InvalidButton(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Button:
    """One inline keyboard button with exactly one action."""

    text: str
    callback_data: str | None = None
    url: str | None = None
    copy_text: str | None = None

    def __post_init__(self) -> None:
        actions = [value for value in (self.callback_data, self.url, self.copy_text) if value is not None]
        if len(actions) != 1:
            raise InvalidButton("a button has exactly one of callback_data, url, copy_text")
        if not self.text:
            raise InvalidButton("a button needs a text")
        if self.callback_data is not None and not 1 <= len(self.callback_data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise InvalidButton(f"callback_data must be 1-{MAX_CALLBACK_DATA_BYTES} bytes")
        if self.copy_text is not None and not 1 <= len(self.copy_text) <= MAX_COPY_TEXT_CHARS:
            raise InvalidButton(f"copy_text must be 1-{MAX_COPY_TEXT_CHARS} characters")

    def to_ptb(self) -> InlineKeyboardButton:
        from telegram import CopyTextButton, InlineKeyboardButton

        if self.copy_text is not None:
            return InlineKeyboardButton(self.text, copy_text=CopyTextButton(self.copy_text))
        if self.url is not None:
            return InlineKeyboardButton(self.text, url=self.url)
        return InlineKeyboardButton(self.text, callback_data=self.callback_data)


Keyboard = Sequence[Sequence[Button]]


def markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    from telegram import InlineKeyboardMarkup

    return InlineKeyboardMarkup([[button.to_ptb() for button in row] for row in keyboard])


# -- the container's loop, HTTP client and bots ----------------------------------------------------------


def api_base_url() -> str:
    """PTB's ``base_url`` (``…/bot``; PTB appends the token) from ``TELEGRAM_API_BASE_URL``."""
    base = settings().telegram_api_base_url
    return base if base.endswith("/bot") else f"{base}/bot"


class _Runtime:
    """The loop, the shared request object and the bots, created on first use."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.request: HTTPXRequest | None = None
        self.bots: dict[tuple[str, str], Bot] = {}  # (base url, token) → Bot; tokens in memory only
        self.lock = threading.RLock()  # the local stack may call from several threads; Lambda never does

    def run(self, coroutine: Awaitable[T]) -> T:
        with self.lock:
            if self.loop is None or self.loop.is_closed():
                import asyncio  # with PTB, only when a call is made

                self.loop = asyncio.new_event_loop()
            return self.loop.run_until_complete(_awaited(coroutine))

    def shared_request(self) -> HTTPXRequest:
        with self.lock:
            if self.request is None:
                from telegram.request import HTTPXRequest

                # Lambda's budget: Telegram waits up to 60 s for the webhook; fail well before that.
                self.request = HTTPXRequest(
                    connection_pool_size=16,
                    connect_timeout=3.0,
                    read_timeout=8.0,
                    write_timeout=8.0,
                    pool_timeout=2.0,
                    media_write_timeout=10.0,
                )
            return self.request

    def bot_for(self, token: str) -> Bot:
        key = (api_base_url(), token)
        with self.lock:
            bot = self.bots.get(key)
            if bot is None:
                from telegram import Bot

                request = self.shared_request()
                bot = Bot(token, base_url=key[0], request=request, get_updates_request=request)
                self.bots[key] = bot
            return bot

    def forget(self, token: str) -> None:
        with self.lock:
            for key in [key for key in self.bots if key[1] == token]:
                del self.bots[key]


async def _awaited(coroutine: Awaitable[T]) -> T:
    return await coroutine


_runtime = _Runtime()


def run(coroutine: Awaitable[T]) -> T:
    """Run one coroutine on the container's event loop (blocking)."""
    return _runtime.run(coroutine)


def bot_for(token: str) -> Bot:
    """The container's ``telegram.Bot`` for this token (one per token, sharing one HTTP client)."""
    return _runtime.bot_for(token)


def use_request(request: HTTPXRequest) -> None:
    """Replace the shared HTTP client, dropping the cached bots (benchmarks answer from memory)."""
    with _runtime.lock:
        _runtime.request = request
        _runtime.bots.clear()


def forget_token(token: str) -> None:
    """Drop the cached Bot of a token found invalid."""
    _runtime.forget(token)


# -- error mapping -----------------------------------------------------------------------------------


def retry_after_seconds(error: RetryAfter) -> int:
    from telegram.warnings import PTBDeprecationWarning

    with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | float | timedelta = error.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return max(1, int(seconds + 0.999))


def map_error(error: TelegramError) -> TelegramFailure:
    """The facade's error for a PTB error (the message never holds the token: PTB's never do)."""
    from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

    if isinstance(error, RetryAfter):
        return RateLimited(retry_after_seconds(error))
    if isinstance(error, Forbidden):
        return UserUnreachable(error.message[:200])
    if isinstance(error, InvalidToken):
        return BotTokenInvalid("the bot token was refused")
    if isinstance(error, BadRequest):
        return TelegramRejected(error.message[:200])
    if isinstance(error, NetworkError):
        if "Too Many Requests" in error.message:  # a 429 without parameters.retry_after
            return RateLimited(DEFAULT_RETRY_AFTER_SECONDS)
        return TelegramUnavailable(error.message[:200])
    if isinstance(error, ChatMigrated | Conflict):
        return TelegramRejected(error.message[:200])
    return TelegramUnavailable(type(error).__name__)


# -- the facade --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_id: int
    chat_id: int


class TelegramClient:
    """One bot's Bot API, synchronously. ``bot`` defaults to the container's cached Bot for ``token``."""

    def __init__(self, token: str, *, bot: Bot | None = None) -> None:
        self._token = token
        self.bot = bot or bot_for(token)

    def __repr__(self) -> str:  # never the token
        return "TelegramClient(<token hidden>)"

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run any PTB call of this bot, with the errors mapped (see the module's docstring)."""
        from telegram.error import TelegramError

        try:
            return run(coroutine)
        except TelegramError as error:
            mapped = map_error(error)
            if isinstance(mapped, BotTokenInvalid):
                forget_token(self._token)
            raise mapped from None

    # -- messages --

    def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        keyboard: Keyboard | None = None,
        parse_mode: str | None = None,
        disable_preview: bool = True,
    ) -> SentMessage:
        from telegram import LinkPreviewOptions

        message = self.call(
            self.bot.send_message(
                chat_id,
                text[:MAX_MESSAGE_CHARS],
                parse_mode=parse_mode,
                reply_markup=markup(keyboard),
                link_preview_options=LinkPreviewOptions(is_disabled=True) if disable_preview else None,
            )
        )
        return SentMessage(message.message_id, message.chat.id)

    def send_photo(
        self,
        chat_id: int,
        png: bytes,
        *,
        caption: str | None = None,
        keyboard: Keyboard | None = None,
        parse_mode: str | None = None,
        filename: str = "pix.png",
    ) -> SentMessage:
        """A photo uploaded from memory (the PIX QR code made in-process)."""
        message = self.call(
            self.bot.send_photo(
                chat_id,
                png,
                caption=caption[:MAX_CAPTION_CHARS] if caption else None,
                parse_mode=parse_mode,
                reply_markup=markup(keyboard),
                filename=filename,
            )
        )
        return SentMessage(message.message_id, message.chat.id)

    def edit_message_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        keyboard: Keyboard | None = None,
        parse_mode: str | None = None,
    ) -> None:
        from telegram import LinkPreviewOptions

        try:
            self.call(
                self.bot.edit_message_text(
                    text[:MAX_MESSAGE_CHARS],
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode=parse_mode,
                    reply_markup=markup(keyboard),
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            )
        except TelegramRejected as error:
            if "not modified" not in str(error):
                raise

    def edit_reply_markup(self, chat_id: int, message_id: int, keyboard: Keyboard | None) -> None:
        try:
            self.call(
                self.bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=message_id, reply_markup=markup(keyboard)
                )
            )
        except TelegramRejected as error:
            if "not modified" not in str(error):
                raise

    def answer_callback_query(
        self, callback_query_id: str, text: str | None = None, *, show_alert: bool = False
    ) -> None:
        self.call(
            self.bot.answer_callback_query(
                callback_query_id, text=text[:200] if text else None, show_alert=show_alert or None
            )
        )

    # -- Telegram Stars --

    def send_invoice(
        self,
        chat_id: int,
        *,
        title: str,
        description: str,
        payload: str,
        stars: int,
        label: str | None = None,
    ) -> SentMessage:
        """A Stars invoice (currency XTR, one price, no provider token: digital goods)."""
        from telegram import LabeledPrice

        message = self.call(
            self.bot.send_invoice(
                chat_id,
                title=title[:32],
                description=description[:255],
                payload=payload,
                currency="XTR",
                prices=[LabeledPrice((label or title)[:32], stars)],
                provider_token="",
            )
        )
        return SentMessage(message.message_id, message.chat.id)

    def answer_pre_checkout_query(self, pre_checkout_query_id: str, ok: bool, error_message: str | None = None) -> None:
        self.call(
            self.bot.answer_pre_checkout_query(
                pre_checkout_query_id, ok=ok, error_message=None if ok else (error_message or "Indisponível")[:200]
            )
        )

    def refund_star_payment(self, user_id: int, telegram_payment_charge_id: str) -> None:
        self.call(self.bot.refund_star_payment(user_id, telegram_payment_charge_id))

    # -- chats --

    def create_chat_invite_link(
        self,
        chat_id: int | str,
        *,
        name: str | None = None,
        member_limit: int | None = 1,
        creates_join_request: bool = False,
        expire_date: int | None = None,
    ) -> str:
        """A new invite link: for one member, or (``creates_join_request``) approved per request."""
        link = self.call(
            self.bot.create_chat_invite_link(
                chat_id,
                name=name[:32] if name else None,
                expire_date=expire_date,
                member_limit=None if creates_join_request else member_limit,
                creates_join_request=True if creates_join_request else None,
            )
        )
        return link.invite_link

    def revoke_chat_invite_link(self, chat_id: int | str, invite_link: str) -> None:
        """Revoke a link this bot created (revoking a revoked link is accepted: safe to repeat)."""
        self.call(self.bot.revoke_chat_invite_link(chat_id, invite_link))

    def approve_chat_join_request(self, chat_id: int | str, user_id: int) -> None:
        self.call(self.bot.approve_chat_join_request(chat_id, user_id))

    def decline_chat_join_request(self, chat_id: int | str, user_id: int) -> None:
        self.call(self.bot.decline_chat_join_request(chat_id, user_id))

    # -- the bot itself --

    def get_me(self) -> dict[str, Any]:
        return dict(self.call(self.bot.get_me()).to_dict())

    def get_webhook_info(self) -> dict[str, Any]:
        return dict(self.call(self.bot.get_webhook_info()).to_dict())

    def set_webhook(self, url: str, secret_token: str, allowed_updates: Sequence[str] | None = None) -> None:
        self.call(self.bot.set_webhook(url, secret_token=secret_token, allowed_updates=allowed_updates))

    # -- members (an access that ended: funil.access) --

    def ban_chat_member(self, chat_id: int | str, user_id: int) -> None:
        """Remove a member from a group or channel (banned until unbanned; safe to repeat)."""
        self.call(self.bot.ban_chat_member(chat_id, user_id))

    def unban_chat_member(self, chat_id: int | str, user_id: int, *, only_if_banned: bool = True) -> None:
        """Lift a ban so the user may join again through a new link; ``only_if_banned``: never adds anyone."""
        self.call(self.bot.unban_chat_member(chat_id, user_id, only_if_banned=only_if_banned))
