"""The local web chat's reply keyboard: the phone step's share-my-phone button, in Chromium.

The bot's prompt is sent through the fake Bot API with the reply keyboard ``funil.bot.phone.ask``
builds (python-telegram-bot's ``ReplyKeyboardMarkup`` with ``request_contact``). The page shows it
under the input; a tap on the share button posts ``message.contact`` for the same user (their own
``user_id``), which ``/tg/{bot_id}`` (a stand-in here) receives; the skip button sends its text.
Every wait is for an event (the page's post answered, an element shown or hidden).
"""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import ACTION_TIMEOUT_MS
from tests.e2e.test_delivery_browser import _bot_api, _delivered, stack  # noqa: F401  (the fixture)


def _phone_prompt() -> str:
    """The phone step's message markup, built as funil.bot.phone.ask builds it."""
    from funil.bot import texts
    from telegram import KeyboardButton, ReplyKeyboardMarkup

    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton(texts.SHARE_PHONE, request_contact=True)], [KeyboardButton(texts.SKIP_PHONE)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=texts.PHONE_PLACEHOLDER,
    )
    return json.dumps(keyboard.to_dict())


def test_chat_page_shares_the_users_own_contact_and_skips(stack: Any, browser: Any) -> None:  # noqa: F811
    from funil.bot import phone, texts

    bot_id = stack.seed.bots[0]["id"]
    context = browser.new_context(locale="pt-BR", service_workers="block")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.route(lambda url: not url.startswith(stack.base_url + "/"), lambda route: route.abort("blockedbyclient"))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{stack.base_url}/_local/chat/{bot_id}")
        page.click("#newUser")
        with _delivered(page, "message"):
            page.click("#startButton")
        user = [c for c in stack.webhook_calls if c[2].get("message", {}).get("text") == "/start"][-1][2]["message"][
            "from"
        ]
        keyboard = page.locator("#replyKb")
        assert keyboard.is_hidden()

        _bot_api(stack, bot_id, "sendMessage",
                 data={"chat_id": str(user["id"]), "text": texts.PHONE_PROMPT, "reply_markup": _phone_prompt()})  # fmt: skip
        share = keyboard.get_by_role("button", name=texts.SHARE_PHONE)
        share.wait_for()
        assert page.locator("#text").get_attribute("placeholder") == texts.PHONE_PLACEHOLDER
        with _delivered(page, "contact"):
            share.click()
        message = [c[2]["message"] for c in stack.webhook_calls if "contact" in c[2].get("message", {})][-1]
        contact = message["contact"]
        assert contact["user_id"] == message["from"]["id"] == message["chat"]["id"] == user["id"]
        assert contact["first_name"] == user["first_name"]
        assert phone.international(contact["phone_number"]) == "+" + contact["phone_number"]  # kept by the bot
        keyboard.wait_for(state="hidden")  # one_time_keyboard: gone after the tap

        # Asked again: the skip button sends its own text, as a plain keyboard button does.
        _bot_api(stack, bot_id, "sendMessage",
                 data={"chat_id": str(user["id"]), "text": texts.PHONE_PROMPT, "reply_markup": _phone_prompt()})  # fmt: skip
        with _delivered(page, "text"):
            keyboard.get_by_role("button", name=texts.SKIP_PHONE).click()
        assert stack.webhook_calls[-1][2]["message"]["text"] == texts.SKIP_PHONE

        # A keyboard the bot removes (ReplyKeyboardRemove) is hidden without a tap.
        _bot_api(stack, bot_id, "sendMessage",
                 data={"chat_id": str(user["id"]), "text": texts.PHONE_PROMPT, "reply_markup": _phone_prompt()})  # fmt: skip
        share.wait_for()
        _bot_api(stack, bot_id, "sendMessage",
                 data={"chat_id": str(user["id"]), "text": "Ok!", "reply_markup": json.dumps({"remove_keyboard": True})})  # fmt: skip
        keyboard.wait_for(state="hidden")
        assert page.locator("#text").get_attribute("placeholder") != texts.PHONE_PLACEHOLDER
        assert errors == [] and stack.telegram.fake.violations == []
    finally:
        context.close()
