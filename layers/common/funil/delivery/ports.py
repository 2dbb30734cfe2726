"""The Bot API calls of a delivery, through the one Telegram adapter, mapped onto funil.delivery.entry's errors.

``AdapterDeliveryTelegram(clients)``: ``clients(bot_id)`` gives the bot's
``funil.adapters.telegram.TelegramClient``, so delivery shares the container's one event loop, one
HTTP client and one ``Bot`` per token with every other Telegram call, and the adapter's error mapping.
``BotClients`` is that lookup: the bot's token read from ``BOT#<bot>`` and KMS-decrypted once per
container (in memory only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from funil import encryption, keys
from funil.adapters.telegram import (
    BotTokenInvalid,
    RateLimited,
    TelegramClient,
    TelegramFailure,
    TelegramRejected,
    UserUnreachable,
)
from funil.adapters.telegram import Button as TelegramButton
from funil.delivery.entry import Button, RetryLater, TokenInvalid, Unreachable
from funil.ports import Items, Secrets

T = TypeVar("T")


class BotWithoutToken(RuntimeError):
    pass


class BotClients:
    """bot id → its TelegramClient; the decrypted token cached per container until found invalid."""

    def __init__(
        self, items: Items, secrets: Secrets, client: Callable[[str], TelegramClient] = TelegramClient
    ) -> None:
        self.items = items
        self.secrets = secrets
        self.client = client
        self._tokens: dict[str, str] = {}

    def __call__(self, bot_id: str) -> TelegramClient:
        token = self._tokens.get(bot_id)
        if token is None:
            ciphertext = (self.items.get(*keys.bot(bot_id)) or {}).get("token_ciphertext")
            if not ciphertext:
                raise BotWithoutToken(bot_id)  # retried: the admin may store it
            token = self._tokens[bot_id] = encryption.bot_token(self.secrets, bot_id, str(ciphertext))
        return self.client(token)

    def forget(self, bot_id: str) -> None:
        self._tokens.pop(bot_id, None)


class AdapterDeliveryTelegram:
    def __init__(self, clients: Callable[[str], TelegramClient]) -> None:
        self.clients = clients

    def _call(self, bot_id: str, action: Callable[[TelegramClient], T]) -> T:
        try:
            return action(self.clients(bot_id))
        except UserUnreachable as error:
            raise Unreachable(str(error)) from None
        except RateLimited as error:
            raise RetryLater("rate_limited", error.retry_after) from None
        except BotTokenInvalid:
            raise TokenInvalid from None
        except TelegramRejected as error:
            raise RetryLater(f"bad_request: {str(error)[:120]}") from None
        except TelegramFailure as error:
            raise RetryLater(f"telegram: {type(error).__name__}") from None

    def create_invite_link(
        self, bot_id: str, chat_id: int, *, name: str, join_request: bool, expire_date: int | None
    ) -> str:
        # A join-request link cannot have a member limit; the webhook approves only the buyer.
        return self._call(
            bot_id,
            lambda client: client.create_chat_invite_link(
                chat_id, name=name, member_limit=1, creates_join_request=join_request, expire_date=expire_date
            ),
        )

    def revoke_invite_link(self, bot_id: str, chat_id: int, invite_link: str) -> None:
        self._call(bot_id, lambda client: client.revoke_chat_invite_link(chat_id, invite_link))

    def send_message(self, bot_id: str, chat_id: int, text: str, button: Button | None) -> int:
        keyboard = [[TelegramButton(button.text, url=button.url)]] if button else None
        return self._call(bot_id, lambda client: client.send_message(chat_id, text, keyboard=keyboard).message_id)
