"""The demo in the local stack: an unpaid PIX followed up (and not a paid one), an upsell, an order bump.

Everything over HTTP to the stack (default extensions: the fake Bot API, the sandbox, the fake
Graph API; they keep the stack's clock, travel included). ``POST /_local/clock`` and
``POST /_local/schedules/TimersFunction`` bring the follow-ups due, as a tester would by hand.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.server import LocalStack, start_stack
from tests.telegram_fixtures import no_new_violations

UA = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
ANA = {"id": 880311, "is_bot": False, "first_name": "Ana", "language_code": "pt-br"}  # lets her PIX expire
RUI = {"id": 880312, "is_bot": False, "first_name": "Rui", "language_code": "pt-br"}  # buys, then more
MINUTE = 60


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    from funil import clock

    with start_stack(port=0) as started:
        yield started
    clock.back_to_now()  # the clock moved for this stack only


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
    assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text


def _tap(client: httpx.Client, bot_id: str, user: dict[str, Any], data: str) -> None:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    tap = {"id": f"cb-{time.monotonic_ns()}", "from": user, "chat_instance": "42", "data": data,
           "message": {"message_id": 2, "date": int(time.time()), "chat": chat, "text": "Ofertas"}}  # fmt: skip
    _inject(client, bot_id, {"callback_query": tap})


def _start(client: httpx.Client, bot_id: str, user: dict[str, Any], token: str | None = None) -> None:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    text = f"/start {token}" if token else "/start"
    message = {"message_id": 1, "date": int(time.time()), "chat": chat, "from": user, "text": text}
    _inject(client, bot_id, {"message": message})


def _messages(client: httpx.Client, bot_id: str, user: dict[str, Any]) -> list[dict[str, Any]]:
    calls = client.get(f"/_local/telegram/{bot_id}/calls", params={"chat": str(user["id"])}).json()
    return [call["params"] for call in calls if call["method"] == "sendMessage"]


def _buttons(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button.get("callback_data") or "copy" for row in rows for button in row]


def _payments(client: httpx.Client, user: dict[str, Any]) -> list[dict[str, Any]]:
    items = client.get("/_local/items", params={"prefix": "PAYMENT#"}).json()
    return [item for item in items if item["sk"] == "PAYMENT" and item.get("telegram_user_id") == user["id"]]


def _newest(client: httpx.Client, user: dict[str, Any], offer_id: str) -> dict[str, Any]:
    return max((p for p in _payments(client, user) if p["offer_id"] == offer_id), key=lambda p: p["created_at"])


def _pay(stack: LocalStack, client: httpx.Client, payment_id: str) -> None:
    assert client.post(f"/_local/sandbox/pay/{payment_id}").json()["payment_status"] == "paid"
    assert stack.drain(20)


def _timers(client: httpx.Client, seconds: float = 0) -> dict[str, int]:
    if seconds:
        assert client.post("/_local/clock", json={"seconds": seconds}).status_code == 200
    ran = client.post("/_local/schedules/TimersFunction")
    assert ran.status_code == 200, ran.text
    return dict(ran.json()["result"]["counts"])


def _purchase(client: httpx.Client, payment_id: str) -> dict[str, Any]:
    (event,) = [e for e in client.get("/_local/capi").json() if e.get("event_id") == f"purchase_{payment_id}"]
    return dict(event)


def test_follow_ups_upsell_and_bump_in_the_demo(stack: LocalStack, client: httpx.Client) -> None:
    seed = client.get("/_local/seed").json()
    ana_bot = seed["bots"][0]["id"]

    # Ana taps the VIP group's PIX and never pays.
    _start(client, ana_bot, ANA)
    _tap(client, ana_bot, ANA, "b:grupo_vip")
    unpaid = _newest(client, ANA, "grupo_vip")

    # Rui comes from an ad, buys the course and pays at once.
    page = client.get(
        "/go/demo?utm_source=facebook&utm_campaign=cursos&fbclid=IwAR0followUps", headers={"user-agent": UA}
    )
    token = re.search(r"start=([A-Za-z0-9_-]{22})", page.text).group(1)  # type: ignore[union-attr]
    (click,) = client.get("/_local/items", params={"prefix": f"CLICK#{token}"}).json()
    rui_bot = click["b"]
    _start(client, rui_bot, RUI, token)
    _tap(client, rui_bot, RUI, "b:curso")
    course = _newest(client, RUI, "curso")
    _pay(stack, client, course["payment_id"])

    # Delivered: the upsell comes with the next timers' run.
    assert _timers(client).get("follow_up_done") == 1
    (upsell,) = [m for m in _messages(client, rui_bot, RUI) if "Mentoria em grupo" in m["text"]]
    assert _buttons(upsell) == ["b:mentoria"] and "/parar" in upsell["text"]

    # Rui takes the mentoring and its bump: one PIX for both, two sales.
    _tap(client, rui_bot, RUI, "b:mentoria")
    (question,) = [m for m in _messages(client, rui_bot, RUI) if "Adicionar" in m["text"]]
    assert _buttons(question) == ["bb:mentoria", "bn:mentoria"]
    _tap(client, rui_bot, RUI, "bb:mentoria")
    mentoring = _newest(client, RUI, "mentoria")
    (part,) = [p for p in _payments(client, RUI) if p.get("bundle_of") == mentoring["payment_id"]]
    assert mentoring["amount_cents"] == 19700 + 1490 and part["amount_cents"] == 1490
    charges = [c for c in client.get("/_local/sandbox/charges").json() if c["reference"] == mentoring["payment_id"]]
    assert [charge["amount_cents"] for charge in charges] == [21190]
    _pay(stack, client, mentoring["payment_id"])

    # Three Purchases, each its own, each with Rui's click; the mentoring's worth its own price.
    events = {p["payment_id"]: _purchase(client, p["payment_id"]) for p in (course, mentoring, part)}
    assert [events[p["payment_id"]]["custom_data"]["value"] for p in (course, mentoring, part)] == [97.0, 197.0, 14.9]
    assert {event["user_data"]["fbc"] for event in events.values()} == {course["attribution"]["fbc"]}
    assert course["attribution"]["fbc"].endswith("IwAR0followUps")
    delivered = [m["text"] for m in _messages(client, rui_bot, RUI) if m["text"].startswith("✅ Pagamento confirmado")]
    assert len(delivered) == 3 and any("checklist" in text for text in delivered)

    # 50 minutes on: Ana's reminder (10 minutes left); nothing for Rui, who paid.
    rui_before = len(_messages(client, rui_bot, RUI))
    _timers(client, 50 * MINUTE + 5)
    (reminder,) = [m for m in _messages(client, ana_bot, ANA) if "expira em" in m["text"]]
    assert "/parar" in reminder["text"] and f"c:{unpaid['payment_id']}" in _buttons(reminder)

    # 40 more: her PIX expired 30 minutes ago: a new PIX, or the cheaper 7 days.
    _timers(client, 40 * MINUTE)
    (expired,) = [m for m in _messages(client, ana_bot, ANA) if "expirou" in m["text"]]
    assert _buttons(expired) == ["b:grupo_vip", "b:grupo_vip_7d"]
    _timers(client, 24 * 60 * MINUTE)
    assert len([m for m in _messages(client, ana_bot, ANA) if "/parar" in m["text"]]) == 2
    assert len(_messages(client, rui_bot, RUI)) == rui_before
    assert json.dumps(client.get("/_local/telegram/violations").json()) == "[]"
