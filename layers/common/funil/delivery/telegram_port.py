"""The Bot API calls of a delivery, through python-telegram-bot, mapped onto funil.delivery.service's errors.

``PtbDeliveryTelegram(bot_for, run)``: ``bot_for(bot_id)`` gives the bot's cached ``telegram.Bot``
(token decrypted in memory), ``run(coroutine)`` runs a call on the container's one event loop —
both from the Telegram adapter, so every bot shares one HTTP client and loop.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from funil.delivery.service import Button, RetryLater, TokenInvalid, Unreachable

T = TypeVar("T")
Runner = Callable[[Awaitable[Any]], Any]


def _retry_after(error: RetryAfter) -> int:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | float | timedelta = error.retry_after
    return int(value.total_seconds()) if isinstance(value, timedelta) else int(value)


class PtbDeliveryTelegram:
    def __init__(self, bot_for: Callable[[str], Bot], run: Runner) -> None:
        self.bot_for = bot_for
        self.run = run

    def _call(self, bot_id: str, make: Callable[[Bot], Awaitable[T]]) -> T:
        try:
            bot = self.bot_for(bot_id)
            result: T = self.run(make(bot))
        except Forbidden as error:
            raise Unreachable(str(error)) from None
        except RetryAfter as error:
            raise RetryLater("rate_limited", _retry_after(error)) from None
        except InvalidToken:
            raise TokenInvalid from None
        except BadRequest as error:
            raise RetryLater(f"bad_request: {error.message[:120]}") from None
        except TelegramError as error:
            raise RetryLater(f"telegram: {type(error).__name__}") from None
        return result

    def create_invite_link(
        self, bot_id: str, chat_id: int, *, name: str, join_request: bool, expire_date: int | None
    ) -> str:
        async def create(bot: Bot) -> str:
            link = await bot.create_chat_invite_link(
                chat_id,
                name=name[:32],
                expire_date=expire_date,
                # A join-request link cannot have a member limit; the webhook approves only the buyer.
                member_limit=None if join_request else 1,
                creates_join_request=True if join_request else None,
            )
            return link.invite_link

        return self._call(bot_id, create)

    def send_message(self, bot_id: str, chat_id: int, text: str, button: Button | None) -> int:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(button.text, url=button.url)]]) if button else None

        async def send(bot: Bot) -> int:
            message = await bot.send_message(
                chat_id,
                text,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=markup,
            )
            return message.message_id

        return self._call(bot_id, send)
