"""The bot's collaborators: one bot's Bot API (the Telegram adapter) and ``BotDeps``, everything a handler gives it.

``funil.wiring`` builds ``BotDeps`` from the settings; tests give moto, the fake Bot API, fakes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from funil import encryption
from funil.adapters.dynamo import Table
from funil.adapters.telegram import TelegramClient
from funil.bot import storage
from funil.bot.views import BotView
from funil.clock import Clock, utc_now
from funil.ports import MessageQueue, Secrets

if TYPE_CHECKING:
    from funil.payments.ports import Deps as PaymentDeps

# One bot's Bot API: the adapter itself (tests run it against the local fake Bot API over HTTP).
BotApi = TelegramClient


@dataclass
class BotDeps:
    table: Table
    secrets: Secrets
    telegram: Callable[[str], BotApi]  # bot token (decrypted, memory only) → its Bot API client
    conversions: MessageQueue
    payments: PaymentDeps  # the payments core: its table, gateways, queues (confirm/refund hand-on)
    qr_png: Callable[[str], bytes]
    now: Clock = utc_now
    public_base_url: str = ""  # the dashboard's origin, for /painel's sign-in link (PUBLIC_BASE_URL)
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
        return self.telegram(encryption.bot_token(self.secrets, bot.bot_id, bot.token_ciphertext))

    def webhook_secret(self, bot: BotView) -> str | None:
        if not bot.webhook_secret_ciphertext:
            return None
        return encryption.bot_webhook_secret(self.secrets, bot.bot_id, bot.webhook_secret_ciphertext)


class BotWithoutToken(Exception):
    pass
