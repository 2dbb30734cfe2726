"""Delivery in the local stack: the queue's consumer reaches the fake Bot API over HTTP, the page serves."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from local import aws
from tests.telegram_fixtures import no_new_violations

VIP_CHAT = -1001987654321


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from local import server, telegram_local
    from local.server import start_stack

    extensions = server.default_extensions()
    if "local.telegram_local:register" not in server.DEFAULT_EXTENSIONS:
        extensions.append(telegram_local.register)
    running = start_stack(host="127.0.0.1", port=0, extensions=extensions)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def _bot_api_calls_pass_the_oracle(stack: Any) -> Iterator[None]:
    """The stack's fake Bot API validates every call; each test fails on a violation of its own."""
    with no_new_violations(stack.telegram.fake):
        yield


def _paid(stack: Any, delivery: dict[str, Any], buyer: int) -> tuple[str, str]:
    from funil.adapters.dynamo import Table

    table = Table(stack.resources.tables["AppTable"])
    bot_id = stack.seed.bots[0]["id"]
    offer_id = "o" + uuid.uuid4().hex[:8]
    table.put({"pk": f"BOT#{bot_id}", "sk": f"OFFER#{offer_id}", "type": "offer", "tenant_id": stack.seed.tenant_id,
               "offer_id": offer_id, "title": "VIP", "price_cents": 1990, "delivery": delivery})  # fmt: skip
    payment_id, token = uuid.uuid4().hex, uuid.uuid4().hex
    table.put({"pk": f"PAYMENT#{payment_id}", "sk": "PAYMENT", "type": "payment", "tenant_id": stack.seed.tenant_id,
               "payment_id": payment_id, "bot_id": bot_id, "telegram_user_id": buyer, "offer_id": offer_id,
               "offer_name": "VIP", "amount_cents": 1990, "currency": "BRL", "status": "paid",
               "pixel_id": stack.seed.pixel_id, "delivery_token": token, "gsi2pk": f"DELIVERY#{token}",
               "gsi2sk": "PAYMENT"})  # fmt: skip
    return payment_id, token


def _enqueue(stack: Any, payment_id: str) -> None:
    sqs = boto3.client("sqs", region_name=aws.REGION)
    body = json.dumps({"version": 1, "payment_id": payment_id, "tenant_id": stack.seed.tenant_id})
    sqs.send_message(QueueUrl=stack.resources.queues["DeliveryQueue"], MessageBody=body)


def _messages_to(stack: Any, chat: int) -> list[dict[str, Any]]:
    bot_id = stack.seed.bots[0]["id"]
    calls = httpx.get(f"{stack.base_url}/_local/telegram/{bot_id}/calls?chat={chat}").json()
    return [call["params"] for call in calls if call["method"] == "sendMessage"]


def test_two_buyers_get_their_own_invite_links_through_the_queue(stack: Any) -> None:
    first, _ = _paid(stack, {"kind": "invite_link", "chat_id": VIP_CHAT}, buyer=7001)
    second, _ = _paid(stack, {"kind": "invite_link", "chat_id": VIP_CHAT}, buyer=7002)
    for payment_id in (first, second, first):  # the first one twice
        _enqueue(stack, payment_id)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (_messages_to(stack, 7001) and _messages_to(stack, 7002)):
        time.sleep(0.1)
    assert stack.drain(10)
    (to_first,) = _messages_to(stack, 7001)
    (to_second,) = _messages_to(stack, 7002)
    link_first = to_first["reply_markup"]["inline_keyboard"][0][0]["url"]
    link_second = to_second["reply_markup"]["inline_keyboard"][0][0]["url"]
    assert link_first.startswith("https://t.me/+") and link_first != link_second
    assert f"{stack.base_url}/d/" in to_first["text"]
    assert stack.telegram.fake.violations == []


def test_the_delivery_page_serves_over_http(stack: Any) -> None:
    _, token = _paid(stack, {"kind": "message", "url": "https://cursos.example/a"}, buyer=7003)
    page = httpx.get(f"{stack.base_url}/d/{token}")
    assert page.status_code == 200 and "Pagamento confirmado" in page.text
    assert httpx.get(f"{stack.base_url}/d/{uuid.uuid4().hex}").status_code == 404
