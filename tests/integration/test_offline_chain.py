"""The local stack as the README starts it: the sandbox's routes, then the whole sale, offline.

Everything goes over HTTP to the stack (default extensions: the fake Graph API, the fake Bot API,
the sandbox); the handlers run on moto with the events API Gateway and SQS would give them.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.server import LocalStack, start_stack

UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with start_stack(port=0) as started:
        yield started


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


def payment(client: httpx.Client, payment_id: str) -> dict[str, Any]:
    (item,) = [
        item
        for item in client.get("/_local/items", params={"prefix": f"PAYMENT#{payment_id}"}).json()
        if item["sk"] == "PAYMENT"
    ]
    return dict(item)


# --- the sandbox's routes ----------------------------------------------------------------------------


def test_the_demo_seed_names_its_sandbox_gateway(client: httpx.Client) -> None:
    seed = client.get("/_local/seed").json()
    assert seed["gateway_id"] == "gw_sandbox_demo"
    (gateway,) = client.get("/_local/items", params={"prefix": "GATEWAY#"}).json()
    assert gateway["kind"] == "sandbox" and gateway["tenant_id"] == seed["tenant_id"]
    assert "credentials_ciphertext" in gateway and "api_key" not in json.dumps(gateway)


def test_checkout_creates_a_pending_payment_with_a_real_br_code(client: httpx.Client) -> None:
    from funil.payments.brcode import parse
    from funil.payments.gateways.sandbox import txid_to_reference

    answer = client.post("/_local/sandbox/checkout", json={"amount_cents": 1990})
    assert answer.status_code == 201
    created = answer.json()
    stored = payment(client, created["payment_id"])
    assert (stored["status"], stored["amount_cents"], stored["gateway_id"]) == ("pending", 1990, "gw_sandbox_demo")
    assert stored["brcode"] == created["brcode"]
    code = parse(created["brcode"])  # raises on a bad CRC
    assert code.amount_cents == 1990
    assert txid_to_reference(str(code.txid)) == created["payment_id"]
    charges = client.get("/_local/sandbox/charges").json()
    assert [charge["status"] for charge in charges if charge["reference"] == created["payment_id"]] == ["pending"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"amount_cents": 0}', 400),
        (b'{"amount_cents": "19,90"}', 400),
        (b"not json", 400),
        (b'{"amount_cents": 1990, "surprise": 1}', 400),
        (b'{"amount_cents": 1990, "bot_id": "no_such_bot"}', 404),
        (b'{"amount_cents": 1990, "offer_id": "no_such_offer"}', 404),
    ],
)
def test_bad_checkouts_are_refused_and_write_nothing(client: httpx.Client, body: bytes, status: int) -> None:
    before = len(client.get("/_local/items", params={"prefix": "PAYMENT#"}).json())
    answer = client.post("/_local/sandbox/checkout", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status
    assert "error" in answer.json() and "Traceback" not in answer.text
    assert len(client.get("/_local/items", params={"prefix": "PAYMENT#"}).json()) == before


def test_paying_sends_the_signed_webhook_through_the_real_route(stack: LocalStack, client: httpx.Client) -> None:
    buyer = 777001
    wanted = {"amount_cents": 1990, "offer_id": "grupo_vip", "telegram_user_id": buyer}
    created = client.post("/_local/sandbox/checkout", json=wanted).json()
    paid = client.post(f"/_local/sandbox/pay/{created['payment_id']}")
    assert paid.status_code == 200
    assert (paid.json()["webhook_status"], paid.json()["payment_status"]) == (200, "paid")
    assert stack.drain(15)
    stored = payment(client, created["payment_id"])
    assert stored["status"] == "paid" and stored["purchase_enqueued_at"] and stored["delivery_enqueued_at"]
    webhooks = client.get("/_local/items", params={"prefix": "WEBHOOK#gw_sandbox_demo#"}).json()
    assert any(created["payment_id"] in item["body"] for item in webhooks)
    purchases = [
        e for e in client.get("/_local/capi").json() if e.get("event_id") == f"purchase_{created['payment_id']}"
    ]
    assert [event["event_name"] for event in purchases] == ["Purchase"]
    sent = client.get(f"/_local/telegram/{stored['bot_id']}/calls", params={"chat": str(buyer)}).json()
    assert [call["method"] for call in sent if "t.me/+" in json.dumps(call)] == ["sendMessage"]

    again = client.post(f"/_local/sandbox/pay/{created['payment_id']}")  # the gateway repeats itself
    assert (again.status_code, again.json()["payment_status"]) == (200, "paid")
    assert payment(client, created["payment_id"])["confirmed_at"] == stored["confirmed_at"]
    assert stack.drain(15)
    assert (
        len([e for e in client.get("/_local/capi").json() if e.get("event_id") == f"purchase_{created['payment_id']}"])
        == 1
    )


def test_paying_an_unknown_payment_is_404(client: httpx.Client) -> None:
    for payment_id in ("ab" * 16, "nope"):
        answer = client.post(f"/_local/sandbox/pay/{payment_id}")
        assert answer.status_code == 404 and "error" in answer.json()


# --- the whole chain ---------------------------------------------------------------------------------


def _inject(client: httpx.Client, bot_id: str, update: dict[str, Any]) -> None:
    answer = client.post(f"/_local/telegram/{bot_id}/updates", json=update)
    assert answer.status_code == 200 and answer.json()["status"] == 200


def _calls(client: httpx.Client, bot_id: str, chat: int) -> list[dict[str, Any]]:
    return list(client.get(f"/_local/telegram/{bot_id}/calls", params={"chat": str(chat)}).json())


def test_click_start_buy_pay_deliver_and_four_events_once_each(stack: LocalStack, client: httpx.Client) -> None:
    # The ad click: one request; the bridge page's cookies; the click stored (compact: "b" is its bot).
    page = client.get("/go/demo?utm_source=facebook&fbclid=IwAR0offlineChain", headers={"user-agent": UA})
    token = re.search(r"start=([A-Za-z0-9_-]{22})", page.text).group(1)  # type: ignore[union-attr]
    cookies = dict(header.split(";", 1)[0].split("=", 1) for header in page.headers.get_list("set-cookie"))
    fbp = cookies["_fbp"]
    (click,) = client.get("/_local/items", params={"prefix": f"CLICK#{token}"}).json()
    assert click["fbp"] == fbp
    bot_id = click["b"]

    # /start <token> in the bot: the lead is attributed and gets the offers.
    user = {"id": 880011, "is_bot": False, "first_name": "Ana", "username": "ana_compra", "language_code": "pt-br"}
    chat = {"id": user["id"], "type": "private", "first_name": "Ana"}
    now = int(time.time())
    _inject(
        client,
        bot_id,
        {"message": {"message_id": 1, "date": now, "chat": chat, "from": user, "text": f"/start {token}"}},
    )
    offers = [
        button["callback_data"]
        for call in _calls(client, bot_id, user["id"])
        for row in (call["params"].get("reply_markup") or {}).get("inline_keyboard", [])
        for button in row
        if button.get("callback_data") == "b:grupo_vip"
    ]
    assert offers, "the offers' keyboard has the VIP group's PIX button"

    # "Buy": a PIX charge through the tenant's gateway (the sandbox), QR and copy-paste code.
    tap = {"id": "cb-offline-1", "from": user, "chat_instance": "42", "data": offers[0]}
    tap["message"] = {"message_id": 2, "date": now, "chat": chat, "text": "Ofertas"}
    _inject(client, bot_id, {"callback_query": tap})
    (pending,) = client.get(f"/_local/telegram/{bot_id}/pending", params={"chat": str(user["id"])}).json()
    payment_id = pending["payment_id"]
    assert "sendPhoto" in [call["method"] for call in _calls(client, bot_id, user["id"])]
    assert payment(client, payment_id)["attribution"]["fbc"].endswith("IwAR0offlineChain")

    # The buyer pays in the sandbox; its signed webhook confirms; delivery and events follow.
    assert client.post(f"/_local/sandbox/pay/{payment_id}").json()["payment_status"] == "paid"
    assert stack.drain(20)

    calls = _calls(client, bot_id, user["id"])
    invites = [call for call in _calls(client, bot_id, -1001000000001) if call["method"] == "createChatInviteLink"]
    assert [invite["params"]["member_limit"] for invite in invites][-1:] == [1]
    delivered = [
        call for call in calls if call["method"] == "sendMessage" and "Entrar no grupo VIP" in json.dumps(call)
    ]
    assert len(delivered) == 1
    assert client.get("/_local/telegram/violations").json() == []

    wanted = {
        f"pv_{token}": "PageView",
        f"lead_{bot_id}_{user['id']}": "Lead",
        f"ic_{payment_id}": "InitiateCheckout",
        f"purchase_{payment_id}": "Purchase",
    }
    received = Counter(
        (event["event_id"], event["event_name"])
        for event in client.get("/_local/capi").json()
        if event.get("event_id") in wanted
    )
    assert received == Counter(dict.fromkeys(wanted.items(), 1))
    # The inspector's filters: one click's events, one payment's events.
    by_click = client.get("/_local/capi", params={"token": token}).json()
    assert sorted(event["event_name"] for event in by_click) == ["InitiateCheckout", "Lead", "PageView", "Purchase"]
    by_payment = client.get("/_local/capi", params={"payment": payment_id}).json()
    assert sorted(event["event_name"] for event in by_payment) == ["InitiateCheckout", "Purchase"]
    # Every event of the click carries the browser id its answer set as _fbp.
    assert {event["user_data"].get("fbp") for event in by_click} == {fbp}


def test_the_chat_for_a_token_is_the_chat_of_the_bot_the_link_chose(client: httpx.Client) -> None:
    page = client.get("/go/demo?fbclid=IwAR0whichBot", headers={"user-agent": UA})
    token = re.search(r"start=([A-Za-z0-9_-]{22})", page.text).group(1)  # type: ignore[union-attr]
    (click,) = client.get("/_local/items", params={"prefix": f"CLICK#{token}"}).json()
    chosen = click["b"]

    opened = client.get("/_local/chat", params={"start": token})
    assert opened.status_code == 302
    assert opened.headers["location"] == f"/_local/chat/{chosen}?start={token}"
    assert '"tokenBot"' not in client.get(opened.headers["location"]).text  # its own bot: nothing to say

    other = next(bot["id"] for bot in client.get("/_local/seed").json()["bots"] if bot["id"] != chosen)
    elsewhere = client.get(f"/_local/chat/{other}", params={"start": token})
    assert elsewhere.status_code == 200
    assert f'"tokenBot": {{"id": "{chosen}"' in elsewhere.text  # the page names the right bot and links it

    assert client.get("/_local/chat", params={"start": "A" * 22}).status_code == 404
    assert client.get("/_local/chat", params={"start": "<script>"}).status_code == 404


def test_a_lost_webhook_is_caught_by_the_reconciler_through_the_stack(stack: LocalStack, client: httpx.Client) -> None:
    # The payer pays but the sandbox's webhook never arrives: ReconcilerFunction's own HTTP client
    # asks the sandbox at the stack's URL and confirms the payment the same way.
    created = client.post("/_local/sandbox/checkout", json={"amount_cents": 1290}).json()
    stack.sandbox.fake.pay(created["gateway_charge_id"])  # type: ignore[attr-defined]  # no deliver: lost
    assert payment(client, created["payment_id"])["status"] == "pending"

    ran = client.post("/_local/schedules/ReconcilerFunction")
    assert ran.status_code == 200 and ran.json()["result"]["counts"].get("confirmed") == 1
    assert stack.drain(15)
    stored = payment(client, created["payment_id"])
    assert stored["status"] == "paid" and stored["purchase_enqueued_at"]


def test_a_refund_and_an_expiry_come_through_the_real_route(stack: LocalStack, client: httpx.Client) -> None:
    sold = {"amount_cents": 1990, "offer_id": "grupo_vip", "telegram_user_id": 777002}
    paid = client.post("/_local/sandbox/checkout", json=sold).json()
    assert client.post(f"/_local/sandbox/pay/{paid['payment_id']}").json()["payment_status"] == "paid"
    assert stack.drain(15)

    refunded = client.post(f"/_local/sandbox/refund/{paid['payment_id']}").json()
    assert (refunded["webhook_status"], refunded["payment_status"]) == (200, "refunded")
    assert stack.drain(15)
    vip = [
        call["method"]
        for call in client.get("/_local/telegram/bot_demo_a/calls").json()
        if call["params"].get("chat_id") == -1001000000001
    ]
    assert vip[-2:] == ["createChatInviteLink", "revokeChatInviteLink"]  # the buyer's link no longer works

    pending = client.post("/_local/sandbox/checkout", json={"amount_cents": 500}).json()
    expired = client.post(f"/_local/sandbox/expire/{pending['payment_id']}").json()
    assert (expired["webhook_status"], expired["payment_status"]) == (200, "expired")
    assert [
        c["status"] for c in client.get("/_local/sandbox/charges").json() if c["reference"] == pending["payment_id"]
    ] == ["expired"]
    for action in ("refund", "expire"):
        assert client.post(f"/_local/sandbox/{action}/{'cd' * 16}").status_code == 404


def test_a_webhook_that_failed_is_sent_again_until_it_gets_a_2xx(stack: LocalStack, client: httpx.Client) -> None:
    # Our endpoint answers 503 once (a crashed or throttled function): like a real gateway, the
    # sandbox tries again after a growing delay, and the sale is confirmed by its webhook.
    fake = stack.sandbox.fake  # type: ignore[attr-defined]
    fake.retry_delays = (0.2, 0.4, 0.8)
    failures = [503]

    def flaky(handler: Any) -> Any:
        def once_down(event: dict[str, Any], context: Any) -> Any:
            if failures and event.get("routeKey", "").startswith("POST /pay/"):
                return {"statusCode": failures.pop(), "body": '{"message":"Service Unavailable"}'}
            return handler(event, context)

        return once_down

    stack.intercept("GatewayWebhookFunction", flaky)
    created = client.post("/_local/sandbox/checkout", json={"amount_cents": 1490, "telegram_user_id": 777003}).json()
    paid = client.post(f"/_local/sandbox/pay/{created['payment_id']}").json()
    assert paid["webhook_status"] == 503 and paid["payment_status"] == "pending"

    def charge() -> dict[str, Any]:
        charges = client.get("/_local/sandbox/charges").json()
        return next(c for c in charges if c["id"] == created["gateway_charge_id"])

    # The sandbox records an attempt once our answer is back, a moment after the payment is paid.
    deadline = time.monotonic() + 20
    while payment(client, created["payment_id"])["status"] != "paid" or len(charge()["webhook_attempts"]) < 2:
        assert time.monotonic() < deadline, "the sandbox never retried its webhook"
        time.sleep(0.05)
    tries = charge()["webhook_attempts"]
    assert [(t["attempt"], t["status"]) for t in tries] == [(1, 503), (2, 200)]
    assert tries[0]["next_retry_in_seconds"] == 0.2 and tries[1]["next_retry_in_seconds"] is None
    assert charge()["webhook_url"] or fake.webhook_url  # where it was sent


def test_a_webhook_never_answered_is_retried_a_bounded_number_of_times() -> None:
    from local.fakes.sandbox import SandboxGateway

    fake = SandboxGateway(retry_delays=(0.01, 0.02), webhook_url="http://127.0.0.1:9/pay/x/y")
    created = fake.handle(
        httpx.Request(
            "POST",
            "http://sandbox/v1/charges",
            headers={"authorization": f"Bearer {fake.api_key}"},
            json={"reference": "a" * 32, "amount_cents": 100},
        )
    ).json()
    sent: list[str] = []

    def unreachable(url: str, headers: dict[str, str], body: bytes) -> int | None:
        sent.append(url)
        raise httpx.ConnectError("refused")

    fake.pay(created["id"], unreachable)
    deadline = time.monotonic() + 5
    while len(fake.attempts.get(created["id"], [])) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    fake.close()
    assert [t["status"] for t in fake.attempts[created["id"]]] == [None, None, None]
    assert fake.attempts[created["id"]][-1]["next_retry_in_seconds"] is None  # the last try: no more
    assert len(sent) == 3
