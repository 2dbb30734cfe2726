"""The fake Bot API's validator against the oracle (tests/oracles/telegram-bot-api.json)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.fakes.telegram_api import UploadedFile, load_spec, validate_call

PIX = "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR"


def keyboard(*buttons: dict[str, Any]) -> str:
    """reply_markup as python-telegram-bot posts it: a JSON-serialized form field."""
    return json.dumps({"inline_keyboard": [list(buttons)]})


GOOD_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("getMe", {}),
    ("getWebhookInfo", {}),
    ("setWebhook", {"url": "https://x.example/tg/bot_a", "secret_token": "s" * 40, "allowed_updates": '["message"]'}),
    ("sendMessage", {"chat_id": "42", "text": "Olá!"}),
    ("sendMessage", {"chat_id": 42, "text": "Olá!", "link_preview_options": {"is_disabled": True}}),
    ("sendMessage", {"chat_id": "@canal", "text": "x" * 4096}),
    (
        "sendMessage",
        {
            "chat_id": "42",
            "text": "Pague com PIX",
            "reply_markup": keyboard(
                {"text": "Copiar código", "copy_text": {"text": PIX}},
                {"text": "Já paguei", "callback_data": "chk:" + "a" * 32},
                {"text": "Abrir", "url": "https://example.com/d/abc"},
            ),
        },
    ),
    ("sendPhoto", {"chat_id": "42", "photo": UploadedFile("qr.png", "image/png", b"\x89PNG"), "caption": "c" * 1024}),
    ("sendPhoto", {"chat_id": "42", "photo": "AgACAgIAAxkBAAIB"}),
    ("answerCallbackQuery", {"callback_query_id": "987", "text": "t" * 200}),
    (
        "sendInvoice",
        {
            "chat_id": "42",
            "title": "VIP",
            "description": "Acesso ao grupo VIP",
            "payload": "p" * 128,
            "provider_token": "",
            "currency": "XTR",
            "prices": json.dumps([{"label": "VIP", "amount": 50}]),
        },
    ),
    ("answerPreCheckoutQuery", {"pre_checkout_query_id": "1", "ok": "true"}),
    ("answerPreCheckoutQuery", {"pre_checkout_query_id": "1", "ok": False, "error_message": "Esgotado"}),
    ("createChatInviteLink", {"chat_id": "-1001234567890", "member_limit": "1", "name": "pagamento abc"}),
    ("createChatInviteLink", {"chat_id": -1001234567890, "creates_join_request": True}),
    ("approveChatJoinRequest", {"chat_id": "-1001234567890", "user_id": "42"}),
    ("refundStarPayment", {"user_id": 42, "telegram_payment_charge_id": "stxAbc"}),
    ("editMessageReplyMarkup", {"chat_id": 42, "message_id": 7, "reply_markup": {"inline_keyboard": []}}),
]


@pytest.mark.parametrize(("method", "params"), GOOD_CALLS, ids=[f"{i}-{m}" for i, (m, _) in enumerate(GOOD_CALLS)])
def test_good_calls_pass(method: str, params: dict[str, Any]) -> None:
    assert validate_call(method, params) == []


BAD_CALLS: list[tuple[str, str, dict[str, Any], str]] = [
    ("unknown method", "sendMessages", {"chat_id": 1, "text": "x"}, "unknown method"),
    ("unknown param", "sendMessage", {"chat_id": 1, "text": "x", "disable_web_page_preview": True}, "unknown parameter"),
    ("missing required", "sendMessage", {"chat_id": 1}, "text: required parameter"),
    ("wrong type top level", "sendMessage", {"chat_id": "1", "text": "x", "disable_notification": "yes"}, "Boolean"),
    ("integer as float", "createChatInviteLink", {"chat_id": -100, "member_limit": 1.5}, "Integer"),
    ("integer as decimal text", "editMessageReplyMarkup", {"chat_id": "1", "message_id": "1.5"}, "Integer"),
    ("text too long", "sendMessage", {"chat_id": 1, "text": "x" * 4097}, "1-4096 characters"),
    ("empty text", "sendMessage", {"chat_id": 1, "text": ""}, "1-4096 characters"),
    ("caption too long", "sendPhoto", {"chat_id": 1, "photo": "id", "caption": "c" * 1025}, "0-1024 characters"),
    (
        "callback_data over 64 bytes (multi-byte)",
        "sendMessage",
        {"chat_id": 1, "text": "x", "reply_markup": keyboard({"text": "a", "callback_data": "ç" * 33})},
        "1-64 bytes",
    ),
    (
        "empty callback_data",
        "sendMessage",
        {"chat_id": 1, "text": "x", "reply_markup": keyboard({"text": "a", "callback_data": ""})},
        "1-64 bytes",
    ),
    (
        "copy_text over 256",
        "sendMessage",
        {"chat_id": 1, "text": "x", "reply_markup": keyboard({"text": "a", "copy_text": {"text": "0" * 257}})},
        "1-256 characters",
    ),
    (
        "copy_text as a string",
        "sendMessage",
        {"chat_id": 1, "text": "x", "reply_markup": keyboard({"text": "a", "copy_text": PIX})},
        "copy_text",
    ),
    (
        "unknown button field",
        "sendMessage",
        {"chat_id": 1, "text": "x", "reply_markup": keyboard({"text": "a", "callback_data": "b", "color": "red"})},
        "unknown field",
    ),
    (
        "button with two kinds",
        "sendMessage",
        {"chat_id": 1, "text": "x", "reply_markup": keyboard({"text": "a", "callback_data": "b", "url": "https://x"})},
        "exactly one button kind",
    ),
    (
        "button without a kind",
        "sendMessage",
        {"chat_id": 1, "text": "x", "reply_markup": keyboard({"text": "a"})},
        "exactly one button kind",
    ),
    (
        "keyboard not an array of arrays",
        "sendMessage",
        {"chat_id": 1, "text": "x", "reply_markup": json.dumps({"inline_keyboard": [{"text": "a", "url": "u"}]})},
        "inline_keyboard",
    ),
    ("reply_markup not JSON", "sendMessage", {"chat_id": 1, "text": "x", "reply_markup": "{nope"}, "JSON-serialized"),
    ("nested wrong type", "sendMessage", {"chat_id": 1, "text": "x", "link_preview_options": '{"is_disabled": "yes"}'}, "Boolean"),
    ("answerCallbackQuery text", "answerCallbackQuery", {"callback_query_id": "1", "text": "t" * 201}, "0-200"),
    (
        "invoice payload too long",
        "sendInvoice",
        {"chat_id": 1, "title": "t", "description": "d", "payload": "é" * 65, "currency": "XTR",
         "prices": [{"label": "a", "amount": 1}]},
        "1-128 bytes",
    ),
    (
        "Stars with a provider token",
        "sendInvoice",
        {"chat_id": 1, "title": "t", "description": "d", "payload": "p", "currency": "XTR", "provider_token": "tok",
         "prices": [{"label": "a", "amount": 1}]},
        "provider_token",
    ),
    (
        "Stars with two prices",
        "sendInvoice",
        {"chat_id": 1, "title": "t", "description": "d", "payload": "p", "currency": "XTR",
         "prices": [{"label": "a", "amount": 1}, {"label": "b", "amount": 2}]},
        "exactly one item",
    ),
    (
        "price amount as float",
        "sendInvoice",
        {"chat_id": 1, "title": "t", "description": "d", "payload": "p", "currency": "XTR",
         "prices": [{"label": "a", "amount": 1.5}]},
        "Integer",
    ),
    ("bad currency", "sendInvoice",
     {"chat_id": 1, "title": "t", "description": "d", "payload": "p", "currency": "real", "prices": [{"label": "a", "amount": 1}]},
     "currency"),
    ("join request with member_limit", "createChatInviteLink",
     {"chat_id": -100, "creates_join_request": True, "member_limit": 1}, "member_limit"),
    ("member_limit as text", "createChatInviteLink", {"chat_id": -100, "member_limit": "one"}, "Integer"),
    ("pre-checkout refusal without message", "answerPreCheckoutQuery", {"pre_checkout_query_id": "1", "ok": False},
     "error_message"),
    ("file to a non-file parameter", "sendMessage", {"chat_id": 1, "text": b"bytes"}, "InputFile"),
    ("webhook secret characters", "setWebhook", {"url": "https://x", "secret_token": "a b"}, "secret_token"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "method", "params", "expected"), BAD_CALLS, ids=[case[0] for case in BAD_CALLS])
def test_each_violation_class_is_caught(case: str, method: str, params: dict[str, Any], expected: str) -> None:
    errors = validate_call(method, params)
    assert errors, case
    assert any(expected in error for error in errors), errors


def test_methods_are_matched_case_insensitively_like_telegram() -> None:
    assert validate_call("sendmessage", {"chat_id": 1, "text": "x"}) == []


def test_union_types_pick_the_matching_subtype() -> None:
    media = json.dumps([{"type": "photo", "media": "attach://a"}, {"type": "photo", "media": "id2", "caption": "c"}])
    assert validate_call("sendMediaGroup", {"chat_id": 1, "media": media}) == []
    bad = json.dumps([{"type": "photo", "media": "id", "caption": "c" * 1025}, {"type": "photo", "media": "x"}])
    assert validate_call("sendMediaGroup", {"chat_id": 1, "media": bad})


def test_html_tags_do_not_count_towards_the_text_limit() -> None:
    text = "<b>" + "x" * 4096 + "</b>"
    assert validate_call("sendMessage", {"chat_id": 1, "text": text, "parse_mode": "HTML"}) == []


def test_the_oracle_is_bot_api_10_1() -> None:
    spec = load_spec()
    assert spec["version"] == "Bot API 10.1"
    assert "sendMessage" in spec["methods"]
    assert "CopyTextButton" in spec["types"]


@pytest.mark.parametrize(
    ("parse_mode", "text"),
    [
        ("HTML", '<b>Grupo VIP</b> por <i>R$ 19,90</i> &amp; <a href="https://x.example">link</a>'),
        ("HTML", '<pre><code class="language-text">000201</code></pre> 1 &lt; 2 &#128512;'),
        ("HTML", '<span class="tg-spoiler">x</span><blockquote expandable>y</blockquote>'),
        ("MarkdownV2", "*Grupo VIP* por _R$ 19,90_\\. Pague em `0002.01`\\!"),
        ("Markdown", "*VIP* 1.5!"),
    ],
)
def test_well_formed_entities_pass(parse_mode: str, text: str) -> None:
    assert validate_call("sendMessage", {"chat_id": 1, "text": text, "parse_mode": parse_mode}) == []


@pytest.mark.parametrize(
    ("parse_mode", "text", "expected"),
    [
        ("HTML", "Olá <Maria>", "unsupported start tag"),
        ("HTML", "1 < 2", "unescaped '<'"),
        ("HTML", "Tom & Jerry", "unescaped '&'"),
        ("HTML", "<b>aberto", "unclosed tag"),
        ("HTML", "<b><i>x</b></i>", "unmatched end tag"),
        ("HTML", "linha<br>linha", "unsupported start tag"),
        ("MarkdownV2", "Preço: R$ 19.90!", "reserved"),
        ("markdownv3", "x", "unsupported parse_mode"),
    ],
)
def test_entities_telegram_cannot_parse_are_caught(parse_mode: str, text: str, expected: str) -> None:
    errors = validate_call("sendMessage", {"chat_id": 1, "text": text, "parse_mode": parse_mode})
    assert any("can't parse entities" in error and expected in error for error in errors), errors
    caption = validate_call("sendPhoto", {"chat_id": 1, "photo": "id", "caption": text, "parse_mode": parse_mode})
    assert any(expected in error for error in caption), caption


def test_a_less_than_sign_is_plain_text_without_parse_mode() -> None:
    assert validate_call("sendMessage", {"chat_id": 1, "text": "1 < 2 & <b>"}) == []
    assert validate_call("sendMessage", {"chat_id": 1, "text": "<" + "x" * 4095}) == []
    assert validate_call("sendMessage", {"chat_id": 1, "text": "<b>" + "x" * 4094}) != []  # 4097 without HTML
