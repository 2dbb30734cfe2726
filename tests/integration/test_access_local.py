"""The demo's 30-day VIP group in the local stack: bought in the chat, reminded, renewed, removed.

Everything over HTTP to the stack (default extensions: the fake Bot API, the sandbox, the fake
Graph API); 30 days pass through ``POST /_local/clock`` and due work runs through
``POST /_local/schedules/TimersFunction``, as a tester would do it by hand.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.seed import DEMO_VIP_CHAT
from local.server import LocalStack, start_stack
from tests.telegram_fixtures import no_new_violations

DAY = 86400
BUYER = {"id": 880211, "is_bot": False, "first_name": "Bia", "language_code": "pt-br"}
CHAT = {"id": BUYER["id"], "type": "private", "first_name": "Bia"}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    from funil import clock

    with start_stack(port=0) as started:
        yield started
    # The clock moved for this stack only: later tests of the session start from the real time again.
    clock.back_to_now()


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


@pytest.fixture(autouse=True)
def _bot_api_calls_pass_the_oracle(stack: LocalStack) -> Iterator[None]:
    with no_new_violations(stack.telegram.fake):  # type: ignore[attr-defined]
        yield


def _inject(client: httpx.Client, bot_id: str, update: dict[str, Any]) -> None:
    answer = client.post(f"/_local/telegram/{bot_id}/updates", json=update)
    assert answer.status_code == 200 and answer.json()["status"] == 200


def _calls(client: httpx.Client, bot_id: str, chat: int) -> list[dict[str, Any]]:
    return list(client.get(f"/_local/telegram/{bot_id}/calls", params={"chat": str(chat)}).json())


def _texts(client: httpx.Client, bot_id: str) -> list[str]:
    return [call["params"]["text"] for call in _calls(client, bot_id, BUYER["id"]) if call["method"] == "sendMessage"]


def _access(client: httpx.Client, bot_id: str) -> dict[str, Any]:
    (item,) = [
        item
        for item in client.get("/_local/items", params={"prefix": f"LEAD#{bot_id}#{BUYER['id']}"}).json()
        if item["sk"] == "ACCESS#grupo_vip"
    ]
    return dict(item)


def _buy_in_the_chat(stack: LocalStack, client: httpx.Client, bot_id: str) -> str:
    """Tap the VIP's PIX button (the offers' menu or a renewal reminder), pay in the sandbox."""
    before = {
        p["payment_id"] for p in client.get(f"/_local/telegram/{bot_id}/pending", params={"chat": CHAT["id"]}).json()
    }
    tap = {"id": f"cb-{time.monotonic_ns()}", "from": BUYER, "chat_instance": "42", "data": "b:grupo_vip",
           "message": {"message_id": 2, "date": int(time.time()), "chat": CHAT, "text": "Ofertas"}}  # fmt: skip
    _inject(client, bot_id, {"callback_query": tap})
    pending = client.get(f"/_local/telegram/{bot_id}/pending", params={"chat": CHAT["id"]}).json()
    (payment_id,) = [p["payment_id"] for p in pending if p["payment_id"] not in before]
    paid = client.post(f"/_local/sandbox/pay/{payment_id}").json()
    if paid["payment_status"] != "paid":
        # After /_local/clock the sandbox's webhook is signed at the real time, outside our replay
        # window (401): the buyer taps "Já paguei / verificar" and the bot asks the gateway instead.
        check = {**tap, "id": f"cb-{time.monotonic_ns()}", "data": f"c:{payment_id}"}
        _inject(client, bot_id, {"callback_query": check})
    assert stack.drain(20)
    (payment,) = [p for p in client.get("/_local/items", params={"prefix": f"PAYMENT#{payment_id}"}).json()
                  if p["sk"] == "PAYMENT"]  # fmt: skip
    assert payment["status"] == "paid"
    return str(payment_id)


def _travel(client: httpx.Client, seconds: int) -> None:
    assert client.post("/_local/clock", json={"seconds": seconds}).status_code == 200
    ran = client.post("/_local/schedules/TimersFunction")
    assert ran.status_code == 200, ran.text


def test_the_demo_vip_is_reminded_renewed_then_removed(stack: LocalStack, client: httpx.Client) -> None:
    bot_id = client.get("/_local/seed").json()["bots"][0]["id"]
    now = int(time.time())
    _inject(client, bot_id, {"message": {"message_id": 1, "date": now, "chat": CHAT, "from": BUYER, "text": "/start"}})
    first = _buy_in_the_chat(stack, client, bot_id)
    access = _access(client, bot_id)
    assert access["status"] == "active" and access["payment_ids"] == [first]
    assert any("Entrar no grupo VIP" in str(call) for call in _calls(client, bot_id, BUYER["id"]))

    _travel(client, 27 * DAY + 60)  # 3 days left: the reminder, with the renewal buttons
    (reminder,) = [call for call in _calls(client, bot_id, BUYER["id"]) if "termina em 3 dias" in str(call)]
    buttons = [b["callback_data"] for row in reminder["params"]["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["b:grupo_vip", "s:grupo_vip"]

    renewal = _buy_in_the_chat(stack, client, bot_id)  # the reminder's PIX button
    renewed = _access(client, bot_id)
    assert sorted(renewed["payment_ids"]) == sorted([first, renewal])
    assert renewed["ends_at"] > access["ends_at"] and renewed["starts_at"] == access["starts_at"]
    assert any(text.startswith("✅ Pagamento confirmado!") and "Acesso renovado até" in text
               for text in _texts(client, bot_id))  # fmt: skip

    _travel(client, 3 * DAY)  # the first period's end: the renewal keeps the buyer in
    methods = [call["method"] for call in _calls(client, bot_id, DEMO_VIP_CHAT)]
    assert "banChatMember" not in methods and _access(client, bot_id)["status"] == "active"

    _travel(client, 30 * DAY)  # the renewed period's end
    removal = [call for call in _calls(client, bot_id, DEMO_VIP_CHAT) if call["method"].endswith("ChatMember")]
    assert [(call["method"], call["params"]["user_id"]) for call in removal] == [
        ("banChatMember", BUYER["id"]),
        ("unbanChatMember", BUYER["id"]),
    ]
    assert any("Seu acesso terminou" in text for text in _texts(client, bot_id))
    assert _access(client, bot_id)["status"] == "ended"
    (lead,) = [item for item in client.get("/_local/items", params={"prefix": f"LEAD#{bot_id}#{BUYER['id']}"}).json()
               if item["sk"] == "LEAD"]  # fmt: skip
    assert lead["access_expired_offer_ids"] == ["grupo_vip"]
