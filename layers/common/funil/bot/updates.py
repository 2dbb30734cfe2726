"""Reading Telegram ``Update`` objects (plain dicts: cheaper than PTB's de_json on the hot path)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

START_PARAMETER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Telegram's deep-link start parameter
COMMAND = re.compile(r"^/(?P<name>[A-Za-z0-9_]{1,32})(?:@(?P<bot>[A-Za-z0-9_]{1,64}))?(?:\s+(?P<arg>.*))?$", re.S)


@dataclass(frozen=True, slots=True)
class Person:
    """The Telegram user behind an update (their own profile, as Telegram gives it)."""

    user_id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool | None = None

    @classmethod
    def from_user(cls, user: Mapping[str, Any]) -> Person | None:
        user_id = user.get("id")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user.get("is_bot"):
            return None

        def text(name: str, limit: int) -> str | None:
            value = user.get(name)
            return value[:limit] if isinstance(value, str) and value else None

        premium = user.get("is_premium")
        return cls(
            user_id=user_id,
            first_name=text("first_name", 64),
            last_name=text("last_name", 64),
            username=text("username", 32),
            language_code=text("language_code", 16),
            is_premium=premium if isinstance(premium, bool) else None,
        )

    def profile(self) -> dict[str, Any]:
        fields = {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "is_premium": self.is_premium,
        }
        return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # lowercase, without the slash
    argument: str | None


@dataclass(frozen=True, slots=True)
class Incoming:
    """What an update is, for the bot."""

    kind: str  # command | text | callback | pre_checkout | successful_payment | refunded_payment | join_request | other
    update_id: int
    person: Person | None = None
    chat_id: int | None = None
    sent_at: datetime | None = None
    command: Command | None = None
    callback_id: str | None = None
    callback_data: str | None = None
    message_id: int | None = None
    payment: Mapping[str, Any] | None = None  # pre_checkout_query / successful_payment / refunded_payment
    raw: Mapping[str, Any] | None = None  # the chat_join_request object


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) and value > 0 else None


def parse_command(text: str, bot_username: str) -> Command | None:
    match = COMMAND.match(text.strip())
    if match is None:
        return None
    addressed = match.group("bot")
    if addressed and bot_username and addressed.lower() != bot_username.lower():
        return None  # a command for another bot in a group
    argument = (match.group("arg") or "").strip() or None
    return Command(match.group("name").lower(), argument)


def start_token(command: Command) -> str | None:
    """The deep-link parameter of ``/start <token>`` when it has Telegram's shape, else None."""
    if command.argument and START_PARAMETER.match(command.argument):
        return command.argument
    return None


def parse(update: Mapping[str, Any], bot_username: str) -> Incoming:
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise ValueError("update_id missing")
    message = update.get("message")
    if isinstance(message, Mapping):
        person = Person.from_user(message.get("from") or {})
        chat = message.get("chat") or {}
        chat_id = chat.get("id") if chat.get("type") == "private" else None
        common: dict[str, Any] = {
            "update_id": update_id,
            "person": person,
            "chat_id": chat_id,
            "sent_at": _time(message.get("date")),
            "message_id": message.get("message_id"),
        }
        if person is None or not isinstance(chat_id, int):
            return Incoming("other", **common)
        for kind in ("successful_payment", "refunded_payment"):
            if isinstance(message.get(kind), Mapping):
                return Incoming(kind, payment=message[kind], **common)
        text = message.get("text")
        if isinstance(text, str):
            command = parse_command(text, bot_username) if text.startswith("/") else None
            if command is not None:
                return Incoming("command", command=command, **common)
            return Incoming("text", **common)
        return Incoming("other", **common)
    callback = update.get("callback_query")
    if isinstance(callback, Mapping):
        person = Person.from_user(callback.get("from") or {})
        origin = callback.get("message") or {}
        chat = origin.get("chat") or {}
        data = callback.get("data")
        return Incoming(
            "callback",
            update_id=update_id,
            person=person,
            chat_id=chat.get("id") if chat.get("type") == "private" else None,
            callback_id=str(callback.get("id") or ""),
            callback_data=data if isinstance(data, str) else None,
            message_id=origin.get("message_id"),
        )
    query = update.get("pre_checkout_query")
    if isinstance(query, Mapping):
        return Incoming(
            "pre_checkout",
            update_id=update_id,
            person=Person.from_user(query.get("from") or {}),
            callback_id=str(query.get("id") or ""),
            payment=query,
        )
    join = update.get("chat_join_request")
    if isinstance(join, Mapping):
        return Incoming("join_request", update_id=update_id, person=Person.from_user(join.get("from") or {}), raw=join)
    return Incoming("other", update_id=update_id)
