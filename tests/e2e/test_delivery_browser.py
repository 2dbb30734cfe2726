"""The delivery page in a real browser: the browser Purchase carries the server's event id.

Headless Chromium (Debian's package) opens ``GET /d/{token}`` on the local stack; Meta's Pixel script
is the recording stub of conftest.py (https://connect.facebook.net/** intercepted). The payment is
written straight into the stack's table as the payments core leaves a paid one.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.e2e.conftest import (
    ACTION_TIMEOUT_MS,
    CHROMIUM,
    NO_CHROMIUM,
    PIXEL_URL,
    WAIT_MS,
    WAIT_SECONDS,
    seed_data,
)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

ANDROID_TELEGRAM = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Mobile Safari/537.36 Telegram-Android/11.5.3 (Samsung SM-A546E; Android 14; SDK 34; HIGH)"
)


def _table(stack: Any) -> Any:
    from funil.adapters.dynamo import Table

    return Table(stack.resources.tables["AppTable"])


def _payment(stack: Any, status: str = "paid") -> tuple[str, str]:
    seed = seed_data(stack)
    payment_id, token = uuid.uuid4().hex, secrets.token_urlsafe(24)
    _table(stack).put(
        {
            "pk": f"PAYMENT#{payment_id}",
            "sk": "PAYMENT",
            "type": "payment",
            "tenant_id": seed["tenant_id"],
            "payment_id": payment_id,
            "bot_id": seed["bots"][0]["id"],
            "telegram_user_id": 555000111,
            "offer_id": "vip_mensal",
            "offer_name": "Grupo VIP — mensal",
            "amount_cents": 4990,
            "currency": "BRL",
            "status": status,
            "pixel_id": seed["pixel_id"],
            "delivery_token": token,
            "gsi2pk": f"DELIVERY#{token}",
            "gsi2sk": "PAYMENT",
        }
    )
    return payment_id, token


def _item_count(stack: Any) -> int:
    table = _table(stack)
    return int(table.client.scan(TableName=table.name, Select="COUNT")["Count"])


def _wait_for_every_script(visit: Any) -> None:
    """Until the page's scripts have all run and Python has recorded every Pixel call they made.

    The pages run their scripts at load and set no timer: the inline one as it is parsed, Meta's
    (async, inserted by the inline one) before the load event, which waits for it. So after ``load``
    nothing more comes; the page's own list of the Pixel calls then matches what Python recorded.
    """
    visit.page.wait_for_load_state("load", timeout=WAIT_MS)
    assert visit.recorded_pixel_calls() == visit.fbq_calls


def _pixel_requests(visit: Any) -> list[str]:
    return [request.url for request in visit.requests if request.url.startswith("https://connect.facebook.net/")]


def test_paid_page_fires_purchase_with_the_server_event_id(stack: Any, bridge: Any) -> None:
    payment_id, token = _payment(stack)
    items_before = _item_count(stack)
    visit = bridge(ANDROID_TELEGRAM)
    document = visit.open(f"/d/{token}")
    assert document.status == 200
    _wait_for_every_script(visit)
    assert visit.fbq_calls == [
        ["init", seed_data(stack)["meta_pixel_id"]],
        [
            "track",
            "Purchase",
            {"value": 49.9, "currency": "BRL", "content_ids": ["vip_mensal"], "content_type": "product"},
            {"eventID": f"purchase_{payment_id}"},
        ],
    ]
    assert _pixel_requests(visit) == [PIXEL_URL]
    assert visit.page.locator("h1").inner_text() == "Pagamento confirmado ✅"
    assert "Grupo VIP — mensal" in visit.page.content()
    assert visit.csp_violations == [] and visit.page_errors == [] and visit.console_errors() == []
    # Only the page itself from our origin: it sends us nothing and writes nothing; the server
    # Purchase comes from the payment.
    ours = [request for request in visit.requests if request.url.startswith(stack.base_url)]
    assert [(request.method, request.url) for request in ours] == [("GET", f"{stack.base_url}/d/{token}")]
    assert _item_count(stack) == items_before


@pytest.mark.parametrize(
    ("status", "title"), [("pending", "Pagamento ainda não confirmado"), ("refunded", "Compra reembolsada")]
)
def test_unpaid_page_fires_nothing(stack: Any, bridge: Any, status: str, title: str) -> None:
    _, token = _payment(stack, status)
    visit = bridge(ANDROID_TELEGRAM)
    assert visit.open(f"/d/{token}").status == 200
    _wait_for_every_script(visit)
    assert visit.page.locator("h1").inner_text() == title
    assert visit.fbq_calls == [] and _pixel_requests(visit) == []
    assert visit.page_errors == []


def test_unknown_token_is_a_clear_404_without_events(stack: Any, bridge: Any) -> None:
    visit = bridge(ANDROID_TELEGRAM)
    document = visit.open("/d/" + secrets.token_urlsafe(24))
    assert document.status == 404
    assert visit.page.locator("h1").inner_text() == "Página não encontrada"
    _wait_for_every_script(visit)
    assert visit.fbq_calls == [] and _pixel_requests(visit) == []
    assert "Traceback" not in visit.html


# --- the local web chat (local/telegram_local.py, local/chat_page.html) ---------------------------

CHAT_TOKEN = "AbCdEfGhIjKlMnOpQrStUv"
PIX_CODE = "00020101021226830014br.gov.bcb.pix2561pix.example/qr/v2/cobv/0f1e2d3c5204000053039865802BR6304ABCD"


@pytest.fixture(scope="module")
def stack() -> Any:
    """This module's local stack (one per process at a time): the defaults plus the Telegram extension;
    ``/tg/{bot_id}`` and the sandbox's pay route are stand-ins that record what the chat page sends.
    """
    from local import server, telegram_local
    from local.server import LocalResponse, start_stack

    # The real sandbox would answer the pay button first: this page test records the click instead.
    extensions = [ext for ext in server.default_extensions() if ext.__module__ != "local.sandbox_local"]
    if "local.telegram_local:register" not in server.DEFAULT_EXTENSIONS:
        extensions.append(telegram_local.register)
    running = start_stack(host="127.0.0.1", port=0, extensions=extensions, preload=False)
    running.webhook_calls = []
    running.sandbox_calls = []

    def webhook(request: Any) -> Any:
        running.webhook_calls.append((request.path_params["bot_id"], request.headers, request.json()))
        return LocalResponse.json({})

    def sandbox(request: Any) -> Any:
        running.sandbox_calls.append(request.path_params["payment_id"])
        return LocalResponse.json({"status": "paid"})

    running.add_route("POST", "/tg/{bot_id}", webhook)
    running.add_route("POST", "/_local/sandbox/pay/{payment_id}", sandbox)
    try:
        yield running
    finally:
        running.stop()


def _bot_api(stack: Any, bot_id: str, method: str, **kwargs: Any) -> Any:
    import httpx

    token = stack.telegram.credentials[bot_id][0]
    answer = httpx.post(f"{stack.base_url}/_local/tgapi/bot{token}/{method}", timeout=WAIT_SECONDS, **kwargs).json()
    assert answer["ok"], answer
    return answer["result"]


def _png() -> bytes:
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(PIX_CODE, error="m").save(buffer, kind="png", scale=4)
    return buffer.getvalue()


def test_chat_page_start_buttons_photo_pix_and_delivery(stack: Any, browser: Any) -> None:
    import json as jsonlib

    bot_id = stack.seed.bots[0]["id"]
    context = browser.new_context(locale="pt-BR", service_workers="block")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.route(lambda url: not url.startswith(stack.base_url + "/"), lambda route: route.abort("blockedbyclient"))
    outside: list[str] = []
    context.on(
        "request", lambda request: None if request.url.startswith(stack.base_url) else outside.append(request.url)
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{stack.base_url}/_local/chat/{bot_id}?start={CHAT_TOKEN}")
        assert page.locator("#token").input_value() == CHAT_TOKEN
        with _delivered(page, "message"):
            page.click("#startButton")
        page.wait_for_function("document.querySelectorAll('.msg.me').length === 1")
        (hook_bot, headers, update) = stack.webhook_calls[-1]
        assert hook_bot == bot_id
        assert headers["x-telegram-bot-api-secret-token"] == stack.telegram.credentials[bot_id][1]
        user = update["message"]["from"]
        assert update["message"]["text"] == f"/start {CHAT_TOKEN}"
        assert update["message"]["chat"]["id"] == user["id"] and update["message"]["chat"]["type"] == "private"
        assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
        assert isinstance(update["update_id"], int)

        # The bot answers with an offer: its buttons become a callback_query with the message.
        keyboard = {"inline_keyboard": [[{"text": "Comprar VIP", "callback_data": "buy:vip"}]]}
        offer = _bot_api(stack, bot_id, "sendMessage",
                         data={"chat_id": str(user["id"]), "text": "Bem-vindo! Escolha:", "reply_markup": jsonlib.dumps(keyboard)})  # fmt: skip
        with _delivered(page, "callback_query"):
            page.get_by_text("Comprar VIP").click()
        callback = next(call[2]["callback_query"] for call in stack.webhook_calls if "callback_query" in call[2])
        assert callback["data"] == "buy:vip" and callback["from"]["id"] == user["id"]
        assert callback["message"]["message_id"] == offer["message_id"]

        # The PIX: QR photo (served back from the fake), copy button, and the sandbox pay button.
        _bot_api(stack, bot_id, "sendPhoto", data={"chat_id": str(user["id"]), "caption": "PIX de R$ 49,90"},
                 files={"photo": ("qr.png", _png(), "image/png")})  # fmt: skip
        pix_keyboard = {"inline_keyboard": [[{"text": "Copiar código PIX", "copy_text": {"text": PIX_CODE}}]]}
        _bot_api(stack, bot_id, "sendMessage",
                 data={"chat_id": str(user["id"]), "text": PIX_CODE, "reply_markup": jsonlib.dumps(pix_keyboard)})  # fmt: skip
        page.wait_for_function(
            "document.querySelector('.msg.bot img') && document.querySelector('.msg.bot img').naturalWidth > 0"
        )
        from funil.adapters.dynamo import Table

        Table(stack.resources.tables["AppTable"]).put(
            {"pk": "PAYMENT#feedc0de" + "0" * 24, "sk": "PAYMENT", "payment_id": "feedc0de" + "0" * 24, "bot_id": bot_id,
             "telegram_user_id": user["id"], "status": "pending", "created_at": "2026-11-22T19:00:00.000Z"}
        )  # fmt: skip
        page.get_by_text("Pagar este PIX no sandbox").click()
        page.get_by_text("PIX pago no sandbox").wait_for()
        assert stack.sandbox_calls == ["feedc0de" + "0" * 24]

        # The delivery: the buyer's own invite link, clickable.
        _bot_api(stack, bot_id, "sendMessage", json={"chat_id": user["id"],
                 "text": "✅ Pagamento confirmado!\nhttps://t.me/+AbCdEf123", "link_preview_options": {"is_disabled": True}})  # fmt: skip
        link = page.locator('a[href="https://t.me/+AbCdEf123"]')
        link.wait_for()
        assert link.get_attribute("rel") == "noopener noreferrer"
        assert errors == [] and outside == []
        assert stack.telegram.fake.violations == []
    finally:
        context.close()


@contextmanager
def _delivered(page: Any, *kinds: str, path: str = "/updates") -> Iterator[None]:
    """Around what makes the chat page post an update with one of ``kinds`` (a key of the update or of
    its message), or ``POST …/join``: done once the stack has answered that post, which it does after
    delivering the update to the webhook stand-in (``stack.webhook_calls``).
    """

    def posted(response: Any) -> bool:
        request = response.request
        if request.method != "POST" or not request.url.split("?", 1)[0].endswith(path):
            return False
        update = request.post_data_json or {}
        return not kinds or any(kind in update or kind in (update.get("message") or {}) for kind in kinds)

    with page.expect_response(posted, timeout=WAIT_MS) as answer:
        yield
    assert answer.value.status == 200, answer.value.status


def test_chat_page_stars_checkout_and_join_request(stack: Any, browser: Any) -> None:
    import json as jsonlib

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
        start = [c for c in stack.webhook_calls if c[2].get("message", {}).get("text") == "/start"]
        user = start[-1][2]["message"]["from"]

        # Stars: the invoice's Pay button → pre_checkout_query; the bot's OK → successful_payment.
        _bot_api(stack, bot_id, "sendInvoice", data={"chat_id": str(user["id"]), "title": "VIP", "description": "Acesso",
                 "payload": "pay_abc", "provider_token": "", "currency": "XTR",
                 "prices": jsonlib.dumps([{"label": "VIP", "amount": 250}])})  # fmt: skip
        page.get_by_text("⭐ 250 Stars").wait_for()
        with _delivered(page, "pre_checkout_query"):
            page.locator("button.pay", has_text="Pagar").click()
        query = [c[2]["pre_checkout_query"] for c in stack.webhook_calls if "pre_checkout_query" in c[2]][-1]
        assert query["currency"] == "XTR" and query["total_amount"] == 250 and query["invoice_payload"] == "pay_abc"
        assert query["from"]["id"] == user["id"]
        with _delivered(page, "successful_payment"):  # the page sees the answer, then pays
            _bot_api(stack, bot_id, "answerPreCheckoutQuery", data={"pre_checkout_query_id": query["id"], "ok": "true"})
        paid = [c[2]["message"] for c in stack.webhook_calls if "successful_payment" in c[2].get("message", {})][-1]
        payment = paid["successful_payment"]
        assert (
            payment["currency"] == "XTR" and payment["total_amount"] == 250 and payment["invoice_payload"] == "pay_abc"
        )
        assert payment["telegram_payment_charge_id"] and paid["chat"]["id"] == user["id"]

        # A join-request link: opening it sends the bot a chat_join_request from this user.
        link = _bot_api(
            stack, bot_id, "createChatInviteLink", data={"chat_id": str(VIP_CHAT_E2E), "creates_join_request": "true"}
        )
        _bot_api(
            stack,
            bot_id,
            "sendMessage",
            data={"chat_id": str(user["id"]), "text": f"Seu acesso: {link['invite_link']}"},
        )
        with _delivered(page, path="/join"):
            page.get_by_text("(simulado)").click()
        join = [c[2]["chat_join_request"] for c in stack.webhook_calls if "chat_join_request" in c[2]][-1]
        assert join["from"]["id"] == user["id"] and join["chat"]["id"] == VIP_CHAT_E2E
        assert join["invite_link"]["invite_link"] == link["invite_link"]
        _bot_api(
            stack, bot_id, "approveChatJoinRequest", data={"chat_id": str(VIP_CHAT_E2E), "user_id": str(user["id"])}
        )
        page.get_by_text("Sua entrada no grupo foi aprovada").wait_for()
        assert errors == [] and stack.telegram.fake.violations == []
    finally:
        context.close()


VIP_CHAT_E2E = -1001987654321
