"""The optional phone step (an offer's ``ask_phone``, off by default; docs/data-model.md "Lead").

After "buy" the charge or invoice goes out first and stays valid whatever follows; then the bot
offers Telegram's share-my-phone button (``KeyboardButton.request_contact`` in a one-time reply
keyboard) with a skip button beside it. Never required, asked once per lead:

- the button sends ``message.contact``; only the sender's own number is kept (``contact.user_id``
  equals the sender's id: a forwarded contact card is someone else's) as the lead's ``phone``,
  international (``+<digits>``), with ``phone_source = telegram_contact`` and ``phone_shared_at``;
- the skip button's text comes back as a message: ``phone_declined_at`` is recorded, never asked again;
- the conversions builder sends the lead's ``phone`` (hashed) in Lead, InitiateCheckout, Purchase and
  Refund events when the payer gave none. The number is never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from funil import keys
from funil.adapters.dynamo import is_conditional_failure
from funil.bot import texts
from funil.bot.ports import BotApi, BotDeps
from funil.bot.updates import Incoming
from funil.bot.views import BotView, OfferView
from funil.clock import iso
from funil.conversions import normalize

PHONE_SOURCE = "telegram_contact"
_NON_DIGITS = re.compile(r"\D")


def wanted(offer: OfferView, lead: Mapping[str, Any]) -> bool:
    """Ask only when the offer wants it and the lead has neither a phone nor said no."""
    return offer.ask_phone and not lead.get("phone") and not lead.get("phone_declined_at")


def international(phone_number: str) -> str | None:
    """``+<country code><number>`` as Meta normalises it, or None. Telegram gives an account's own
    number in international form, with or without the ``+``."""
    digits = _NON_DIGITS.sub("", phone_number)
    normalised = normalize.phone(f"+{digits}") if digits else None
    return f"+{normalised}" if normalised else None


def _send(api: BotApi, chat_id: int, text: str, reply_markup: Any) -> None:
    # The adapter's helpers take inline keyboards only; a reply keyboard goes through its own ``call``
    # (the same error mapping: 403, 401, 429).
    api.call(api.bot.send_message(chat_id, text, reply_markup=reply_markup))


def _keyboard_removed() -> Any:
    from telegram import ReplyKeyboardRemove

    return ReplyKeyboardRemove()


def ask(api: BotApi, chat_id: int) -> None:
    from telegram import KeyboardButton, ReplyKeyboardMarkup

    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton(texts.SHARE_PHONE, request_contact=True)], [KeyboardButton(texts.SKIP_PHONE)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=texts.PHONE_PLACEHOLDER,
    )
    _send(api, chat_id, texts.PHONE_PROMPT, keyboard)


def is_skip(incoming: Incoming) -> bool:
    return incoming.kind == "text" and (incoming.text or "").strip() == texts.SKIP_PHONE


def _update_lead(deps: BotDeps, bot: BotView, user_id: int, expression: str, values: dict[str, Any]) -> bool:
    try:
        deps.table.update(
            *keys.lead(bot.bot_id, user_id),
            expression,
            {**values, ":tenant": bot.tenant_id},
            condition="attribute_exists(pk) AND tenant_id = :tenant",
        )
    except Exception as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def skip(deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming, now: datetime) -> str:
    assert incoming.person is not None
    assert incoming.chat_id is not None
    _update_lead(deps, bot, incoming.person.user_id, "SET phone_declined_at = :now", {":now": iso(now)})
    _send(api, incoming.chat_id, texts.PHONE_SKIPPED, _keyboard_removed())
    return "phone_skipped"


def shared(deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming, now: datetime) -> str:
    """A contact arrived: the sender's own valid number is stored on their lead."""
    assert incoming.person is not None
    assert incoming.chat_id is not None
    assert incoming.contact is not None
    if not incoming.contact.is_senders(incoming.person):
        _send(api, incoming.chat_id, texts.PHONE_NOT_OWN, None)
        return "contact_not_own"
    phone = international(incoming.contact.phone_number)
    if phone is None:
        _send(api, incoming.chat_id, texts.PHONE_SKIPPED, _keyboard_removed())
        return "contact_invalid"
    # The phone's hash on the lead's own (otherwise unused) gsi2: a data-subject request finds the lead by it.
    lead_key = keys.lead(bot.bot_id, incoming.person.user_id)
    index = keys.subject_index(bot.tenant_id, "phone", normalize.phone(phone), lead_key)
    stored = _update_lead(
        deps,
        bot,
        incoming.person.user_id,
        "SET phone = :phone, phone_source = :source, phone_shared_at = :now, gsi2pk = :gsi2pk, gsi2sk = :gsi2sk "
        "REMOVE phone_declined_at",
        {
            ":phone": phone,
            ":source": PHONE_SOURCE,
            ":now": iso(now),
            ":gsi2pk": index["gsi2pk"],
            ":gsi2sk": index["gsi2sk"],
        },
    )
    if not stored:
        return "contact_without_lead"
    _send(api, incoming.chat_id, texts.PHONE_THANKS, _keyboard_removed())
    return "contact_stored"
