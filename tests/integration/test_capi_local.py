"""The local stack with the fake Graph API: PageView and Purchase arrive with the expected keys."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import httpx
import pytest
from funil import clock
from funil.messages import ConversionMessage, ConversionRefs, EventKind

from local import aws
from local.capi_local import register
from local.server import LocalStack, start_stack

UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Instagram 325.0.4.32.96"
)
FBP = "fb.1.1732000000000.1234567890"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with start_stack(port=0, extensions=[register]) as started:
        yield started


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=10) as http:
        yield http


def _click(client: httpx.Client, cookies: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """A phone's click on the demo link: (its token, the cookies the answer set)."""
    headers = {"user-agent": UA}
    if cookies:
        headers["cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    page = client.get("/go/demo?fbclid=IwAR0abcDEF_123", headers=headers)
    assert page.status_code == 200
    match = re.search(r"start=([A-Za-z0-9_-]{22})", page.text)
    assert match
    set_cookies = dict(header.split(";", 1)[0].split("=", 1) for header in page.headers.get_list("set-cookie"))
    return match.group(1), set_cookies


def _paid_payment(stack: LocalStack, token: str) -> str:
    from funil.adapters.dynamo import Table
    from funil.click.fields import click_fields

    table = Table(stack.resources.tables["AppTable"])
    stored = table.get(f"CLICK#{token}", "CLICK")
    assert stored is not None
    click = click_fields(stored)
    payment_id = uuid.uuid4().hex
    now = clock.utc_now()
    table.put(
        {
            "pk": f"PAYMENT#{payment_id}",
            "sk": "PAYMENT",
            "type": "payment",
            "payment_id": payment_id,
            "tenant_id": stack.seed.tenant_id,
            "bot_id": click["bot_id"],
            "telegram_user_id": 4242,
            "offer_id": "vip",
            "amount_cents": 1990,
            "currency": "BRL",
            "status": "paid",
            "created_at": clock.iso(now - timedelta(minutes=2)),
            "paid_at": clock.iso(now),
            # As checkout snapshots it: the raw IP and User-Agent stay on the click, read from there.
            "attribution": {"click_token": token, **{key: click.get(key) for key in ("link_slug", "fbc", "fbp")}},
        }
    )
    # Who paid, as the gateway reported it (kept beside the payment, with a TTL).
    table.put(
        {
            "pk": f"PAYMENT#{payment_id}",
            "sk": "PAYER",
            "type": "payer",
            "tenant_id": stack.seed.tenant_id,
            "payment_id": payment_id,
            "email": "Comprador@Example.com",
            "phone": "(11) 98765-4321",
            "source": "sandbox",
            "created_at": clock.iso(now),
            "expires_at": clock.to_epoch_s(now + timedelta(days=30)),
        }
    )
    message = ConversionMessage(
        kind=EventKind.PURCHASE,
        event_id=f"purchase_{payment_id}",
        tenant_id=stack.seed.tenant_id,
        pixel_id=stack.seed.pixel_id,
        occurred_at=now,
        refs=ConversionRefs(payment_id=payment_id),
    )
    boto3.client("sqs", region_name=aws.REGION).send_message(
        QueueUrl=stack.resources.queues["ConversionsQueue"], MessageBody=message.model_dump_json()
    )
    return payment_id


def _events(client: httpx.Client) -> list[dict[str, Any]]:
    answer = client.get("/_local/capi")
    assert answer.status_code == 200
    return list(answer.json())


def _page_views(client: httpx.Client, token: str) -> list[dict[str, Any]]:
    answer = client.get("/_local/capi", params={"token": token})
    assert answer.status_code == 200
    return [event for event in answer.json() if event["event_name"] == "PageView"]


def test_one_click_is_one_page_view_carrying_the_fbp_its_answer_set(stack: LocalStack, client: httpx.Client) -> None:
    """GET /go/demo is the only request: the server PageView comes from the stored click (table stream)."""
    token, cookies = _click(client)
    assert set(cookies) == {"_fbp", "_fbc"}
    assert stack.drain(10)
    assert stack.drain(10)  # nothing more arrives later: a click is one PageView
    (page_view,) = _page_views(client, token)
    assert page_view["event_id"] == f"pv_{token}"  # the bridge page's Pixel eventID
    assert page_view["user_data"]["fbp"] == cookies["_fbp"]
    assert page_view["user_data"]["fbc"] == cookies["_fbc"]


def test_page_view_and_purchase_arrive_at_the_fake_graph_api(stack: LocalStack, client: httpx.Client) -> None:
    token, cookies = _click(client, {"_fbp": FBP})
    assert "_fbp" not in cookies  # the visitor's own is kept
    assert stack.drain(10)
    page_view = next(event for event in _events(client) if event["event_id"] == f"pv_{token}")
    assert page_view["event_name"] == "PageView"
    assert page_view["action_source"] == "website"
    assert page_view["event_source_url"] == f"{stack.base_url}/go/demo"
    assert page_view["user_data"]["client_user_agent"] == UA
    assert page_view["user_data"]["fbp"] == FBP
    assert page_view["user_data"]["fbc"].endswith(".IwAR0abcDEF_123")
    assert page_view["user_data"]["client_ip_address"] == "127.0.0.1"

    payment_id = _paid_payment(stack, token)
    assert stack.drain(10)
    purchase = next(event for event in _events(client) if event["event_id"] == f"purchase_{payment_id}")
    assert purchase["event_name"] == "Purchase"
    assert purchase["custom_data"]["value"] == 19.9
    assert purchase["custom_data"]["currency"] == "BRL"
    assert purchase["custom_data"]["order_id"] == payment_id
    assert {"em", "ph", "external_id", "fbc", "fbp", "client_ip_address", "client_user_agent"} <= set(
        purchase["user_data"]
    )
    assert all(re.fullmatch(r"[a-f0-9]{64}", purchase["user_data"][key]) for key in ("em", "ph", "external_id"))

    # The PageView went straight from the click stream, unrecorded; the Purchase through the sender.
    deliveries = {item["event_id"]: item for item in client.get("/_local/capi/deliveries").json()}
    assert f"pv_{token}" not in deliveries
    assert deliveries[f"purchase_{payment_id}"]["status"] == "sent"
    assert deliveries[f"purchase_{payment_id}"]["match_quality"]["grade"] == "great"


def test_injected_token_error_dead_letters(stack: LocalStack, client: httpx.Client) -> None:
    answer = client.post("/_local/capi/faults", json={"status": 400, "code": 190, "is_transient": False})
    assert answer.status_code == 201
    payment_id = _paid_payment(stack, _click(client)[0])
    assert stack.drain(10)
    deliveries = {item["event_id"]: item for item in client.get("/_local/capi/deliveries").json()}
    record = deliveries[f"purchase_{payment_id}"]
    assert (record["status"], record["error_code"]) == ("dead", 190)
    assert all(event["event_id"] != f"purchase_{payment_id}" for event in _events(client))
    assert client.post("/_local/capi/faults", json={"bogus": 1}).status_code == 400
