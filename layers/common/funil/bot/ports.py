"""What the bot needs from its collaborators (the Telegram adapter, the queues), as protocols."""

from __future__ import annotations

from typing import Any, Protocol

from funil.adapters.telegram import Keyboard, SentMessage


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


class Sender(Protocol):
    def send(self, body: str, attributes: dict[str, str] | None = None) -> str: ...
