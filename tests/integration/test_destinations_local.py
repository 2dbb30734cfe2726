"""The local stack (default extensions): a demo sale reaches the local UTMify, TikTok, GA4 and the
demo's webhook receiver, each event once, also when the gateway's webhook repeats and a destination
fails transiently once. Everything over HTTP to the stack, as a tester would do it by hand."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.server import LocalStack, start_stack

BUYER = {"id": 880377, "is_bot": False, "first_name": "Caio", "language_code": "pt-br"}
CHAT = {"id": BUYER["id"], "type": "private", "first_name": "Caio"}
UA = "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"
DRAIN_SECONDS = 180  # a transient failure is retried after the queue's backoff (30 s)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with start_stack(port=0) as started:
        yield started


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


def _inject(client: httpx.Client, bot_id: str, update: dict[str, Any]) -> None:
    answer = client.post(f"/_local/telegram/{bot_id}/updates", json=update)
    assert answer.status_code == 200 and answer.json()["status"] == 200


def _click(client: httpx.Client) -> str:
    query = "utm_source=tiktok&utm_campaign=natal&utm_medium=feed&ttclid=E.C.P.local-tt-1&gclid=Cj0local-g-1"
    page = client.get(f"/go/demo?{query}", headers={"user-agent": UA})
    assert page.status_code == 200
    match = re.search(r"start=([A-Za-z0-9_-]{22})", page.text)
    assert match
    return match.group(1)


def test_a_demo_sale_reaches_every_destination_once(stack: LocalStack, client: httpx.Client) -> None:
    seed = client.get("/_local/seed").json()
    assert {item["kind"] for item in seed["destinations"]} == {"utmify", "tiktok", "ga4", "webhook"}
    token = _click(client)
    # The demo link rotates between two bots: /start goes to the bot the click was sent to.
    bot_id = str(client.get("/_local/items", params={"prefix": f"CLICK#{token}"}).json()[0]["b"])
    start = {"message_id": 1, "date": int(time.time()), "chat": CHAT, "from": BUYER, "text": f"/start {token}"}
    _inject(client, bot_id, {"message": start})
    tap = {"id": "cb-dest-1", "from": BUYER, "chat_instance": "42", "data": "b:grupo_vip",
           "message": {"message_id": 2, "date": int(time.time()), "chat": CHAT, "text": "Ofertas"}}  # fmt: skip
    _inject(client, bot_id, {"callback_query": tap})
    (pending,) = client.get(f"/_local/telegram/{bot_id}/pending", params={"chat": CHAT["id"]}).json()
    payment_id = pending["payment_id"]
    assert stack.drain(DRAIN_SECONDS)  # the InitiateCheckout reached every destination

    assert client.post("/_local/utmify/faults", json={"times": 1, "status": 503}).status_code == 201
    assert client.post(f"/_local/sandbox/pay/{payment_id}").json()["payment_status"] == "paid"
    client.post(f"/_local/sandbox/pay/{payment_id}")  # the gateway's webhook again: a no-op for the sale
    assert stack.drain(DRAIN_SECONDS)

    def received(name: str) -> Any:
        return client.get(f"/_local/{name}", params={"payment": payment_id}).json()

    orders = received("utmify")
    assert [order["status"] for order in orders] == ["waiting_payment", "paid"]
    assert orders[1]["trackingParameters"]["utm_campaign"] == "natal" and orders[1]["isTest"] is True
    assert stack.destinations.utmify.transient_failures_served == 1  # failed once, then sent once
    events = received("tiktok")
    assert [event["event"] for event in events] == ["InitiateCheckout", "CompletePayment"]
    assert events[1]["event_id"] == f"purchase_{payment_id}" and events[1]["user"]["ttclid"] == "E.C.P.local-tt-1"
    (purchase,) = received("ga4")  # begin_checkout names no transaction: the buyer's client_id finds it
    ga4 = [event for event in client.get("/_local/ga4").json() if event["client_id"] == purchase["client_id"]]
    assert [event["name"] for event in ga4] == ["begin_checkout", "purchase"]
    assert ga4[1]["params"]["transaction_id"] == payment_id and ga4[1]["params"]["gclid"] == "Cj0local-g-1"
    hooks = received("webhooks")
    assert [body["type"] for body in hooks["received"]] == ["checkout.created", "sale.paid"]
    assert hooks["duplicates"] == 0
    records = [
        record
        for record in client.get("/_local/destinations/deliveries").json()
        if record["event_id"] == f"purchase_{payment_id}"
    ]
    assert len(records) == 4 and {record["status"] for record in records} == {"sent"}
    assert {record["attempts"] for record in records if record["destination_id"] == "dst_demo_utmify"} == {2}
