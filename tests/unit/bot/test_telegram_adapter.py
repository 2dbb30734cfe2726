"""The Telegram adapter against the fake Bot API over real HTTP (POST /bot<token>/<method>)."""

from __future__ import annotations

import pytest
from funil.adapters import telegram
from funil.adapters.telegram import (
    BotTokenInvalid,
    Button,
    InvalidButton,
    RateLimited,
    TelegramClient,
    TelegramUnavailable,
    UserUnreachable,
)

from local.fakes.telegram_api import FakeTelegramApi, RunningFake, serve_http

TOKEN = "123456:TEST-adapter-token-for-tests-only-0001"
OTHER = "654321:TEST-adapter-token-for-tests-only-0002"
USER = 5550001


@pytest.fixture
def client(telegram_api: FakeTelegramApi, telegram_server: RunningFake) -> TelegramClient:
    telegram_api.register_bot(TOKEN, "bot_a", "FunilTestBot")
    return TelegramClient(TOKEN)


def test_base_url_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_API_BASE_URL", raising=False)
    assert telegram.api_base_url() == "https://api.telegram.org/bot"
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/_local/tgapi/")
    assert telegram.api_base_url() == "http://127.0.0.1:9/_local/tgapi/bot"
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot")
    assert telegram.api_base_url() == "https://api.telegram.org/bot"


def test_one_bot_per_token_one_request_for_all(telegram_server: RunningFake) -> None:
    assert telegram.bot_for(TOKEN) is telegram.bot_for(TOKEN)
    assert telegram.bot_for(TOKEN) is not telegram.bot_for(OTHER)
    assert telegram.bot_for(TOKEN).request is telegram.bot_for(OTHER).request
    assert TOKEN not in repr(TelegramClient(TOKEN))


def test_calls_on_one_loop_many_times(client: TelegramClient, telegram_api: FakeTelegramApi) -> None:
    """Kept-alive connections survive between calls (one loop for the container)."""
    for number in range(5):
        sent = client.send_message(USER, f"Olá {number}", keyboard=[[Button("Comprar", callback_data="b:o1")]])
        assert sent.chat_id == USER
    calls = telegram_api.recorded("bot_a", "sendMessage")
    assert len(calls) == 5
    assert calls[0]["params"]["reply_markup"] == {"inline_keyboard": [[{"text": "Comprar", "callback_data": "b:o1"}]]}
    assert calls[0]["params"]["link_preview_options"] == {"is_disabled": True}


def test_typed_helpers_pass_the_spec(client: TelegramClient, telegram_api: FakeTelegramApi) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    photo = client.send_photo(
        USER, png, caption="Pague com PIX", keyboard=[[Button("Copiar código", copy_text="000201abc")]]
    )
    client.edit_message_text(USER, photo.message_id, "Editado", keyboard=[[Button("Ver", url="https://t.me/x")]])
    client.edit_reply_markup(USER, photo.message_id, None)
    client.answer_callback_query("cbq-1", "Ok")
    client.send_invoice(USER, title="Curso", description="Acesso", payload="s:abc", stars=50)
    client.answer_pre_checkout_query("pcq-1", ok=True)
    client.answer_pre_checkout_query("pcq-2", ok=False, error_message="Oferta indisponível")
    client.refund_star_payment(USER, "stxCHARGE")
    assert client.create_chat_invite_link(-1001234567890, name="compra abc", member_limit=1).startswith(
        "https://t.me/+"
    )
    client.create_chat_invite_link(-1001234567890, creates_join_request=True)
    client.approve_chat_join_request(-1001234567890, USER)
    me = client.get_me()
    assert me["username"] == "FunilTestBot"
    assert client.get_webhook_info()["url"] == ""
    methods = [call["method"] for call in telegram_api.recorded("bot_a")]
    assert methods == [
        "sendPhoto", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery", "sendInvoice",
        "answerPreCheckoutQuery", "answerPreCheckoutQuery", "refundStarPayment", "createChatInviteLink",
        "createChatInviteLink", "approveChatJoinRequest", "getMe", "getWebhookInfo",
    ]  # fmt: skip
    assert telegram_api.violations == []  # every call was held against the Bot API oracle
    invoice = telegram_api.sent("sendInvoice")[0]
    assert invoice["currency"] == "XTR"
    assert invoice["prices"] == [{"label": "Curso", "amount": 50}]
    join = telegram_api.sent("createChatInviteLink")[1]
    assert join["creates_join_request"] is True and "member_limit" not in join
    assert telegram_api.file(0) is not None and telegram_api.file(0).data == png


def test_403_is_the_user(client: TelegramClient, telegram_api: FakeTelegramApi) -> None:
    telegram_api.block(USER, bot="bot_a")
    with pytest.raises(UserUnreachable):
        client.send_message(USER, "Oi")
    client.send_message(USER + 1, "Outro usuário")  # the bot is fine


def test_429_retry_after(client: TelegramClient, telegram_api: FakeTelegramApi) -> None:
    telegram_api.rate_limit(7, bot="bot_a")
    with pytest.raises(RateLimited) as raised:
        client.send_message(USER, "Oi")
    assert raised.value.retry_after == 7
    client.send_message(USER, "Oi")


def test_401_token_invalid_forgets_the_bot(client: TelegramClient, telegram_api: FakeTelegramApi) -> None:
    before = telegram.bot_for(TOKEN)
    telegram_api.revoke_token(TOKEN)
    with pytest.raises(BotTokenInvalid) as raised:
        client.get_me()
    assert TOKEN not in str(raised.value)
    assert telegram.bot_for(TOKEN) is not before


def test_network_error_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve_http(FakeTelegramApi()) as running:
        base = running.base_url
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", base)  # nobody listens there any more
    with pytest.raises(TelegramUnavailable):
        TelegramClient(TOKEN).get_me()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"callback_data": "x" * 65},
        {"callback_data": "é" * 33},  # 66 bytes
        {"copy_text": "0" * 257},
        {"callback_data": "a", "url": "https://t.me/x"},
        {},
    ],
)
def test_buttons_checked(kwargs: dict[str, str]) -> None:
    with pytest.raises(InvalidButton):
        Button("x", **kwargs)


def test_button_limits_accepted() -> None:
    Button("x", callback_data="x" * 64)
    Button("x", copy_text="0" * 256)
