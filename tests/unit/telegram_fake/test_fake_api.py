"""The fake Bot API on the wire: python-telegram-bot against it over HTTP, and httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    LinkPreviewOptions,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter

from local.fakes.telegram_api import FakeTelegramApi, RunningFake
from tests.telegram_fixtures import TOKEN_A, TOKEN_B, telegram_api, telegram_server

__all__ = ["telegram_api", "telegram_server"]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def run(server: RunningFake, token: str, action: Callable[[Bot], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with Bot(token, base_url=server.base_url + "/bot") as bot:
            return await action(bot)

    return asyncio.run(main())


def test_ptb_round_trip_records_every_call_oldest_first(
    telegram_api: FakeTelegramApi, telegram_server: RunningFake
) -> None:
    telegram_api.register_bot(TOKEN_A, "bot_a", "FunilABot")
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Copiar código", copy_text=CopyTextButton("000201abc"))],
            [InlineKeyboardButton("Já paguei", callback_data="chk:abc")],
        ]
    )

    async def action(bot: Bot) -> Any:
        me = await bot.get_me()
        text = await bot.send_message(
            42, "Olá", reply_markup=keyboard, link_preview_options=LinkPreviewOptions(is_disabled=True)
        )
        photo = await bot.send_photo(42, photo=PNG, caption="QR")
        invoice = await bot.send_invoice(42, "VIP", "Acesso", "pay_1", "XTR", [LabeledPrice("VIP", 50)])
        return me, text, photo, invoice

    me, text, photo, invoice = run(telegram_server, TOKEN_A, action)
    assert me.username == "FunilABot" and me.id == 7000000001 and me.is_bot
    assert text.message_id == 1 and text.chat.id == 42 and text.text == "Olá"
    assert text.reply_markup == keyboard
    assert photo.message_id == 2 and photo.caption == "QR" and photo.photo
    assert invoice.invoice.currency == "XTR" and invoice.invoice.total_amount == 50

    calls = telegram_api.recorded("bot_a")
    # PTB's Bot.initialize() calls getMe first.
    assert [call["method"] for call in calls] == ["getMe", "getMe", "sendMessage", "sendPhoto", "sendInvoice"]
    assert calls[2]["params"]["chat_id"] == 42  # as Telegram reads it, whatever the encoding
    assert calls[2]["params"]["reply_markup"]["inline_keyboard"][0][0]["copy_text"] == {"text": "000201abc"}
    assert calls[2]["params"]["link_preview_options"] == {"is_disabled": True}
    uploaded = calls[3]["params"]["photo"]
    assert uploaded["size"] == len(PNG)
    stored = telegram_api.file(uploaded["file_index"])
    assert stored is not None and stored.data == PNG
    assert telegram_api.recorded("7000000001") == calls  # by numeric id too


def test_invite_links_are_unique_per_call(telegram_api: FakeTelegramApi, telegram_server: RunningFake) -> None:
    async def action(bot: Bot) -> Any:
        first = await bot.create_chat_invite_link(-1001234567890, member_limit=1)
        second = await bot.create_chat_invite_link(-1001234567890, member_limit=1)
        return first, second

    first, second = run(telegram_server, TOKEN_A, action)
    assert first.invite_link != second.invite_link
    assert first.invite_link.startswith("https://t.me/+") and first.member_limit == 1
    assert first.creator.is_bot


def test_a_spec_violation_answers_400_and_is_recorded(telegram_server: RunningFake) -> None:
    fake = telegram_server.fake
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="ç" * 40)]])
    with pytest.raises(BadRequest, match="1-64 bytes"):
        run(telegram_server, TOKEN_A, lambda bot: bot.send_message(1, "x", reply_markup=markup))
    assert len(fake.violations) == 1 and fake.violations[0]["method"] == "sendMessage"
    assert fake.recorded(method="sendMessage")[0]["params"]["text"] == "x"
    fake.violations.clear()  # expected here; the fixture checks none are left


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_faults_403_429_401(telegram_api: FakeTelegramApi, telegram_server: RunningFake) -> None:
    telegram_api.register_bot(TOKEN_A, "bot_a")
    telegram_api.block(43, bot="bot_a")
    with pytest.raises(Forbidden, match="blocked by the user"):
        run(telegram_server, TOKEN_A, lambda bot: bot.send_message(43, "x"))
    assert run(telegram_server, TOKEN_B, lambda bot: bot.send_message(43, "x")).message_id == 1  # other bot

    telegram_api.rate_limit(7, bot="bot_a", chat_id=44)
    with pytest.raises(RetryAfter) as retry:
        run(telegram_server, TOKEN_A, lambda bot: bot.send_message(44, "x"))
    assert retry.value.retry_after in (7, timedelta(seconds=7))
    assert run(telegram_server, TOKEN_A, lambda bot: bot.send_message(44, "x")).message_id == 1  # once

    telegram_api.revoke_token(TOKEN_A)
    with pytest.raises(InvalidToken):
        run(telegram_server, TOKEN_A, lambda bot: bot.get_me())


def test_mock_transport_json_and_errors(telegram_api: FakeTelegramApi) -> None:
    client = httpx.Client(transport=httpx.MockTransport(telegram_api.handle), base_url="https://api.telegram.org")
    ok = client.post(f"/bot{TOKEN_A}/sendMessage", json={"chat_id": 5, "text": "oi"}).json()
    assert ok["ok"] is True and ok["result"]["text"] == "oi" and ok["result"]["chat"]["type"] == "private"
    assert client.get(f"/bot{TOKEN_A}/getMe").json()["result"]["is_bot"] is True
    assert client.post(f"/bot{TOKEN_A}/answerCallbackQuery", data={"callback_query_id": "1"}).json() == {
        "ok": True,
        "result": True,
    }
    telegram_api.rate_limit(3)
    limited = client.post(f"/bot{TOKEN_A}/sendMessage", json={"chat_id": 5, "text": "oi"})
    assert limited.status_code == 429
    assert limited.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    unknown = client.post(f"/bot{TOKEN_A}/sendMessages", json={"chat_id": 5, "text": "oi"})
    assert unknown.status_code == 404 and unknown.json()["ok"] is False
    assert telegram_api.violations[-1]["errors"] == ["sendMessages: unknown method"]
    telegram_api.violations.clear()
    assert json.loads(json.dumps(telegram_api.recorded()))  # JSON-serialisable as /_local serves it
