"""The local stack: a demo sale is told once in the demo seller's admin chat, registered by the demo
through ``/admin <code>``, also when the gateway's webhook comes again and the notice is redelivered.

The whole chain runs over HTTP: the click, ``/start`` and "buy" to the bot's webhook, the sandbox's
signed webhook to ``/pay/...``, the Purchase copied to NotificationsQueue and NotificationsFunction
sending through the fake Bot API, which records (and checks) every call.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest

from local import aws
from local.server import LocalStack, start_stack

WAIT_SECONDS = 60.0
BUYER = 5550777


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with start_stack(port=0) as started:
        yield started


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


def eventually(condition: Callable[[], Any], what: str) -> Any:
    """Poll ``condition`` until it holds (its value returned), failing after ``WAIT_SECONDS``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def told(client: httpx.Client, bot_id: str, chat: int) -> list[str]:
    calls = client.get(f"/_local/telegram/{bot_id}/calls", params={"chat": str(chat)}).json()
    return [str(call["params"]["text"]) for call in calls if call["method"] == "sendMessage"]


def sale_notices(client: httpx.Client, bot_id: str, chat: int) -> list[str]:
    return [text for text in told(client, bot_id, chat) if "Nova venda" in text]


def buy(client: httpx.Client, bot_id: str) -> str:
    """A click on the demo link with ad macros, ``/start <token>`` and "buy": the pending payment's id."""
    params = {"utm_source": "facebook", "campaign_name": "Black Friday", "adset_name": "LAL 1%", "ad_name": "Video 3"}
    page = client.get("/go/demo", params={**params, "fbclid": "IwAR0notify"}, headers={"user-agent": "Mozilla/5.0"})
    token = re.search(r"start=([A-Za-z0-9_-]{22})", page.text).group(1)  # type: ignore[union-attr]
    user = {"id": BUYER, "is_bot": False, "first_name": "Ana", "language_code": "pt-br"}
    chat = {"id": BUYER, "type": "private", "first_name": "Ana"}
    now = int(time.time())
    start = {"message": {"message_id": 1, "date": now, "chat": chat, "from": user, "text": f"/start {token}"}}
    clicked_bot = str(client.get("/_local/items", params={"prefix": f"CLICK#{token}"}).json()[0]["b"])
    assert client.post(f"/_local/telegram/{clicked_bot}/updates", json=start).json()["status"] == 200
    tap = {"id": "cb-notify", "from": user, "chat_instance": "42", "data": "b:grupo_vip",
           "message": {"message_id": 2, "date": now, "chat": chat, "text": "Ofertas"}}  # fmt: skip
    assert client.post(f"/_local/telegram/{clicked_bot}/updates", json={"callback_query": tap}).json()["status"] == 200
    (pending,) = client.get(f"/_local/telegram/{clicked_bot}/pending", params={"chat": str(BUYER)}).json()
    return str(pending["payment_id"])


def test_a_demo_sale_is_told_once_in_the_demo_admin_chat(stack: LocalStack, client: httpx.Client) -> None:
    seed = client.get("/_local/seed").json()
    admin, bot_id = seed["admin_chat_id"], seed["bots"][0]["id"]
    assert admin and any("Pronto" in text for text in told(client, bot_id, admin))  # the demo registered it

    payment_id = buy(client, bot_id)
    assert client.post(f"/_local/sandbox/pay/{payment_id}").json()["payment_status"] == "paid"
    [notice] = eventually(lambda: sale_notices(client, bot_id, admin), "the sale's notice")
    assert "Grupo VIP" in notice and "Campanha: Black Friday" in notice and "Do clique à venda" in notice

    # The gateway's webhook again, and the notice's message delivered again: nothing more is told.
    assert client.post(f"/_local/sandbox/pay/{payment_id}").json()["payment_status"] == "paid"
    copy = json.dumps({"version": 1, "kind": "Purchase", "event_id": f"purchase_{payment_id}",
                       "tenant_id": seed["tenant_id"], "pixel_id": seed["pixel_id"],
                       "occurred_at": "2026-11-22T18:00:00Z", "refs": {"payment_id": payment_id}})  # fmt: skip
    sqs = boto3.client("sqs", region_name=aws.REGION)
    sqs.send_message(QueueUrl=stack.resources.queues["NotificationsQueue"], MessageBody=copy)
    eventually(lambda: _claim_checked_twice(client, payment_id), "the repeated notice to be handled")
    assert len(sale_notices(client, bot_id, admin)) == 1


def _claim_checked_twice(client: httpx.Client, payment_id: str) -> bool:
    """The queue is empty again: the repeated message was consumed (and found the chat claimed)."""
    queues = client.get("/_local/queues").json()["NotificationsQueue"]
    claims = client.get("/_local/items", params={"prefix": f"NOTICE#t_demo#purchase_{payment_id}"}).json()
    return queues == {"visible": 0, "in_flight": 0} and [claim["status"] for claim in claims] == ["sent"]


def test_another_admin_chat_registers_through_the_seed_route(client: httpx.Client) -> None:
    answer = client.post("/_local/seed", json={"admin_chat_id": 5550901})
    assert answer.status_code == 200 and answer.json()["admin_chat_id"] == 5550901
    assert client.post("/_local/seed", json={"admin_chat_id": "x"}).status_code == 400


def test_a_revoked_bot_is_one_alert_and_one_recovery_in_the_admin_chat(stack: LocalStack, client: httpx.Client) -> None:
    """Bot health on the demo: bot B's token revoked at the fake BotFather is one alert in the admin
    chat (told through bot A) however often the check runs, and one message when the token works again."""
    seed = client.get("/_local/seed").json()
    admin, bot_a, bot_b = seed["admin_chat_id"], seed["bots"][0]["id"], seed["bots"][1]["id"]

    def alerts(head: str) -> list[str]:
        return [text for text in told(client, bot_a, admin) if head in text and "Token do bot recusado" in text]

    def health_check_and_notices_done() -> None:
        assert client.post("/_local/schedules/BotHealthFunction").status_code == 200
        eventually(lambda: client.get("/_local/queues").json()["NotificationsQueue"] == {"visible": 0, "in_flight": 0},
                   "the notifications queue to be empty")  # fmt: skip

    assert client.post(f"/_local/telegram/{bot_b}/faults", json={"kind": "revoke"}).status_code == 201
    health_check_and_notices_done()
    [opened] = eventually(lambda: alerts("Alerta"), "the alert")
    assert bot_b in opened
    health_check_and_notices_done()  # still refused: the same incident, nothing more told
    assert alerts("Alerta") == [opened]

    assert client.delete("/_local/telegram").status_code in {200, 204}  # faults forgotten: the token works again
    health_check_and_notices_done()
    [resolved] = eventually(lambda: alerts("Resolvido"), "the recovery")
    assert bot_b in resolved
    health_check_and_notices_done()
    assert alerts("Resolvido") == [resolved] and alerts("Alerta") == []
