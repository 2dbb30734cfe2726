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
        """None when the user has no integer id (or is a bot); ValueError when the id is past 64 bits."""
        user_id = user.get("id")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user.get("is_bot"):
            return None
        _int(user_id, "from.id")

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
class SharedContact:
    """A ``message.contact`` (Bot API Contact): a phone number and, when it is a Telegram user's, their id."""

    phone_number: str
    user_id: int | None

    def is_senders(self, person: Person) -> bool:
        """Only the sender's own number counts (the contact button shares it; a forwarded card does not)."""
        return self.user_id is not None and self.user_id == person.user_id


@dataclass(frozen=True, slots=True)
class Incoming:
    """What an update is, for the bot."""

    # command | text | contact | callback | pre_checkout | successful_payment | refunded_payment | join_request | other
    kind: str
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
    text: str | None = None  # a plain text message (not a command)
    contact: SharedContact | None = None


INT64 = 2**63  # every Telegram id fits in a signed 64-bit integer
MAX_TEXT = 4096  # a message's text
MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit on callback_data
MAX_ID = 256  # ids, payloads and links
MAX_PHONE = 64  # a contact's phone number (E.164 has at most 15 digits; clients add separators)


def _object(value: Any, name: str) -> Mapping[str, Any]:
    """A nested object of the update; absent is empty; anything else is a malformed update (ValueError)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} is not an object")
    return value


def _int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not -INT64 < value < INT64:
        raise ValueError(f"{name} is not a 64-bit integer")
    return value


def _str(value: Any, name: str, limit: int = MAX_ID) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value.encode("utf-8", "surrogatepass")) > limit:
        raise ValueError(f"{name} is not a string of at most {limit} bytes")
    return value


def _time(value: Any) -> datetime | None:
    value = _int(value, "date")
    if value is None or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("date out of range") from None


def _payment(value: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A pre_checkout_query / successful_payment / refunded_payment with the fields we read well typed."""
    for field in ("id", "currency", "invoice_payload", "telegram_payment_charge_id", "provider_payment_charge_id"):
        _str(value.get(field), f"{name}.{field}")
    _int(value.get("total_amount"), f"{name}.total_amount")
    return value


def _private_chat(chat: Mapping[str, Any]) -> int | None:
    chat_id = _int(chat.get("id"), "chat.id")
    return chat_id if chat.get("type") == "private" else None


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
    """The update as the bot sees it. Raises ValueError for an update of the wrong shape (a malformed
    update: the webhook answers 200 and logs it, since Telegram would redeliver anything else)."""
    update_id = update.get("update_id")
    if update_id is None:
        raise ValueError("update_id missing")
    update_id = _int(update_id, "update_id")
    assert update_id is not None
    message = update.get("message")
    if message is not None:
        message = _object(message, "message")
        person = Person.from_user(_object(message.get("from"), "message.from"))
        chat_id = _private_chat(_object(message.get("chat"), "message.chat"))
        common: dict[str, Any] = {
            "update_id": update_id,
            "person": person,
            "chat_id": chat_id,
            "sent_at": _time(message.get("date")),
            "message_id": _int(message.get("message_id"), "message.message_id"),
        }
        if person is None or chat_id is None:
            return Incoming("other", **common)
        for kind in ("successful_payment", "refunded_payment"):
            if message.get(kind) is not None:
                return Incoming(kind, payment=_payment(_object(message[kind], kind), kind), **common)
        text = _str(message.get("text"), "message.text", MAX_TEXT)
        if text is not None:
            command = parse_command(text, bot_username) if text.startswith("/") else None
            if command is not None:
                return Incoming("command", command=command, **common)
            return Incoming("text", text=text, **common)
        if message.get("contact") is not None:
            contact = _object(message["contact"], "message.contact")
            phone_number = _str(contact.get("phone_number"), "message.contact.phone_number", MAX_PHONE)
            if phone_number:
                user_id = _int(contact.get("user_id"), "message.contact.user_id")
                return Incoming("contact", contact=SharedContact(phone_number, user_id), **common)
        return Incoming("other", **common)
    callback = update.get("callback_query")
    if callback is not None:
        callback = _object(callback, "callback_query")
        origin = _object(callback.get("message"), "callback_query.message")
        return Incoming(
            "callback",
            update_id=update_id,
            person=Person.from_user(_object(callback.get("from"), "callback_query.from")),
            chat_id=_private_chat(_object(origin.get("chat"), "callback_query.message.chat")),
            callback_id=_str(callback.get("id"), "callback_query.id") or "",
            callback_data=_str(callback.get("data"), "callback_query.data", MAX_CALLBACK_DATA),
            message_id=_int(origin.get("message_id"), "callback_query.message.message_id"),
        )
    query = update.get("pre_checkout_query")
    if query is not None:
        query = _payment(_object(query, "pre_checkout_query"), "pre_checkout_query")
        return Incoming(
            "pre_checkout",
            update_id=update_id,
            person=Person.from_user(_object(query.get("from"), "pre_checkout_query.from")),
            callback_id=str(query.get("id") or ""),
            payment=query,
        )
    join = update.get("chat_join_request")
    if join is not None:
        join = _object(join, "chat_join_request")
        _int(_object(join.get("chat"), "chat_join_request.chat").get("id"), "chat_join_request.chat.id")
        _str(_object(join.get("invite_link"), "chat_join_request.invite_link").get("invite_link"), "invite_link")
        person = Person.from_user(_object(join.get("from"), "chat_join_request.from"))
        return Incoming("join_request", update_id=update_id, person=person, raw=join)
    return Incoming("other", update_id=update_id)
