"""The bot's collaborators: one bot's Bot API (a protocol) and ``BotDeps``, everything a handler gives it.

``funil.wiring`` builds ``BotDeps`` from the settings; tests give moto, the fake Bot API, fakes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from funil.adapters.dynamo import Table
from funil.adapters.telegram import Keyboard, SentMessage
from funil.bot import storage
from funil.bot.models import BotView
from funil.clock import Clock, utc_now
from funil.payments.ports import Deps as PaymentDeps
from funil.ports import MessageQueue, Secrets


class BotApi(Protocol):
    """One bot's Bot API (``funil.adapters.telegram.TelegramClient``)."""

    def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        keyboard: Keyboard | None = None,
        parse_mode: str | None = None,
        disable_preview: bool = True,
    ) -> SentMessage: ...

    def send_photo(
        self,
        chat_id: int,
        png: bytes,
        *,
        caption: str | None = None,
        keyboard: Keyboard | None = None,
        parse_mode: str | None = None,
        filename: str = "pix.png",
    ) -> SentMessage: ...

    def answer_callback_query(
        self, callback_query_id: str, text: str | None = None, *, show_alert: bool = False
    ) -> None: ...

    def send_invoice(
        self, chat_id: int, *, title: str, description: str, payload: str, stars: int, label: str | None = None
    ) -> SentMessage: ...

    def answer_pre_checkout_query(
        self, pre_checkout_query_id: str, ok: bool, error_message: str | None = None
    ) -> None: ...

    def refund_star_payment(self, user_id: int, telegram_payment_charge_id: str) -> None: ...

    def approve_chat_join_request(self, chat_id: int | str, user_id: int) -> None: ...

    def decline_chat_join_request(self, chat_id: int | str, user_id: int) -> None: ...

    def get_me(self) -> dict[str, Any]: ...

    def get_webhook_info(self) -> dict[str, Any]: ...


@dataclass
class BotDeps:
    table: Table
    secrets: Secrets
    telegram: Callable[[str], BotApi]  # bot token (decrypted, memory only) → its Bot API client
    conversions: MessageQueue
    payments: PaymentDeps  # the payments core: its table, gateways, queues (confirm/refund hand-on)
    qr_png: Callable[[str], bytes]
    now: Clock = utc_now
    bot_cache_seconds: float = 30.0
    monotonic: Callable[[], float] = time.monotonic
    _bots: dict[str, tuple[float, BotView | None]] = field(default_factory=dict, repr=False)

    def bot(self, bot_id: str) -> BotView | None:
        """The bot and its offers, cached per container for ``bot_cache_seconds``."""
        cached = self._bots.get(bot_id)
        if cached is not None and self.monotonic() - cached[0] < self.bot_cache_seconds:
            return cached[1]
        view = storage.load_bot(self.table, bot_id)
        if len(self._bots) > 1000:
            self._bots.clear()
        self._bots[bot_id] = (self.monotonic(), view)
        return view

    def forget_bot(self, bot_id: str) -> None:
        self._bots.pop(bot_id, None)

    def api(self, bot: BotView) -> BotApi:
        if not bot.token_ciphertext:
            raise BotWithoutToken(bot.bot_id)
        return self.telegram(self.secrets.decrypt(bot.token_ciphertext))

    def webhook_secret(self, bot: BotView) -> str | None:
        if not bot.webhook_secret_ciphertext:
            return None
        return self.secrets.decrypt(bot.webhook_secret_ciphertext)


class BotWithoutToken(Exception):
    pass
