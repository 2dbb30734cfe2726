"""Data-subject requests (``/api/v1/subjects``) through the real handler, on a person who really bought.

The person's data is made by the real functions on moto: a click through ``RedirectFunction``, a
lead through ``TelegramWebhookFunction`` (``/start <token>``, a PIX, the phone they share) with the
fake Bot API over HTTP, the sale confirmed by the sandbox's signed webhook through
``GatewayWebhookFunction`` (with who paid: the payer item), the delivery by ``DeliveryFunction``
(their own invite link) and the events by ``CapiSenderFunction`` on the fake Graph API. Then the
tenant exports and erases them: the whole table is read back from moto's store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from funil import encryption, keys
from funil.adapters.kms import Kms
from funil.adapters.meta_graph import GraphClient
from funil.clock import utc_now
from funil.messages import ConversionMessage, ConversionRefs, EventKind
from funil.operator.api_keys import create_key, create_operator_key
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import given
from hypothesis import strategies as st

from local import aws
from local.fakes.meta_graph import FakeMetaGraph
from local.handlers import LambdaContext, handler_globals, load_handler
from local.template import load
from tests.admin_api import Answer, caller, table_state
from tests.conftest import load_event
from tests.integration.test_hostile_input import JSON_VALUES, route
from tests.unit.bot.telegram_harness import GATEWAY_URL_SECRET, TgEnv
from tests.unit.conversions.factories import sqs_records

PERSON = 6123456789  # the buyer's Telegram user id
PROFILE = {"first_name": "Mariana", "last_name": "Quintanilha", "username": "mari_quintanilha"}
SHARED_PHONE = "5511987654321"  # shared in the bot (Telegram gives it without the +)
PAYER = {
    "name": "Mariana Quintanilha",
    "email": "Mariana.Quintanilha@Example.com",
    "phone": "(21) 97777-6666",
    "document": "529.982.247-25",
    "address": {"city": "Niterói", "state": "RJ", "zip_code": "24020-000", "country": "br"},
}
META_TOKEN = "EAAG-fake-meta-token-for-the-subjects-tests"  # the fake Graph API's
PUBLIC = "https://funil.example"
EXPORTED_KINDS = (
    "leads",
    "touches",
    "charges",
    "accesses",
    "clicks",
    "payments",
    "payers",
    "deliveries",
    "invites",
    "conversions",
)


# -- the world --------------------------------------------------------------------------------------


@dataclass
class World:
    tg: TgEnv
    api: Callable[..., Answer]
    invoke: Callable[..., Any]
    resources: aws.Resources
    key: str  # the demo tenant's API key
    key_id: str
    graph: FakeMetaGraph

    @property
    def table(self) -> Any:
        return self.tg.table

    def function(self, logical_id: str) -> tuple[Any, Any]:
        function = load().functions[logical_id]
        return load_handler(function, fresh=True), function

    def export(self, body: Any, key: str | None = None) -> Answer:
        return self.api("POST", "/api/v1/subjects/export", body, key=key or self.key)

    def erase(self, body: Any, key: str | None = None) -> Answer:
        return self.api("POST", "/api/v1/subjects/erase", body, key=key or self.key)


@pytest.fixture
def world(tg: TgEnv, invoke: Callable[..., Any], aws_env: aws.Resources, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    created = create_key(tg.table, tg.tenant, "lgpd", utc_now)
    token = encryption.encrypt_field(
        Kms(), aws_env.keys["SecretsKey"], keys.pixel(tg.seed.pixel_id), encryption.PIXEL_ACCESS_TOKEN, META_TOKEN
    )
    tg.table.update(*keys.pixel(tg.seed.pixel_id), "SET access_token_ciphertext = :t", {":t": token})
    return World(
        tg, caller(invoke), invoke, aws_env, created.key, created.id, FakeMetaGraph(access_tokens={META_TOKEN})
    )


def click(world: World) -> tuple[str, str]:
    """A human click on the demo link through the redirect: (token, the bot it chose)."""
    answer = world.invoke("RedirectFunction", load_event("redirect_get.json"))
    assert answer["statusCode"] == 200
    token = next(iter(item for item in stored(world) if item["pk"].startswith("CLICK#")))["pk"].removeprefix("CLICK#")
    bot = world.table.get(f"CLICK#{token}", "CLICK")["b"]
    return token, bot


def contact(user_id: int, phone: str) -> dict[str, Any]:
    update: dict[str, Any] = json.loads(load_event("telegram_contact.json")["body"])
    message = update["message"]
    message["from"].update(id=user_id, **PROFILE)
    message["chat"].update(id=user_id)
    message["contact"].update(user_id=user_id, phone_number=phone)
    return update


def pay(world: World, payment_id: str, payer: dict[str, Any] | None = PAYER) -> int:
    """The buyer pays in the sandbox; its signed webhook goes through the gateway webhook function."""
    charge = world.tg.sandbox.pay(payment_id, payer=payer)
    headers, body = world.tg.sandbox.signed_webhook(charge, "charge.paid")
    handler, function = world.function("GatewayWebhookFunction")
    event = load_event("gateway_webhook_post.json")
    event["pathParameters"] = {"gateway_id": "gw_demo", "secret": GATEWAY_URL_SECRET}
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/pay/gw_demo/{GATEWAY_URL_SECRET}"
    base = {name: value for name, value in event["headers"].items() if name not in ("sandbox-signature",)}
    event["headers"] = {**base, **headers, "content-length": str(len(body))}
    event["body"] = body.decode()
    return int(handler(event, LambdaContext(function, "test"))["statusCode"])


def deliver(world: World) -> list[str]:
    """The delivery queue's messages through the delivery function; the failed ones' ids."""
    handler, function = world.function("DeliveryFunction")
    template = load_event("sqs_delivery.json")["Records"][0]
    records = [
        {**template, "messageId": f"d{number}", "body": json.dumps(body)}
        for number, body in enumerate(world.tg.drain("DeliveryQueue"))
    ]
    result = handler({"Records": records}, LambdaContext(function, "test"))
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


def send_events(world: World, *extra: ConversionMessage) -> list[str]:
    """The conversions queue's messages (and ``extra``) through the sender, on the fake Graph API."""
    handler, function = world.function("CapiSenderFunction")
    handler_globals(handler)["DEPS"].graph = GraphClient(
        client=httpx.Client(transport=httpx.MockTransport(world.graph.handle))
    )
    messages = [ConversionMessage.model_validate(body) for body in world.tg.drain()] + list(extra)
    result = handler(sqs_records(messages), LambdaContext(function, "test"))
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


def page_view(world: World, token: str) -> ConversionMessage:
    """The click's server PageView, as the click stream queues it for the sender."""
    return ConversionMessage(
        kind=EventKind.PAGE_VIEW,
        event_id=f"pv_{token}",
        tenant_id=world.tg.tenant,
        pixel_id=world.tg.seed.pixel_id,
        occurred_at=datetime.now(UTC),
        refs=ConversionRefs(click_token=token),
    )


@dataclass
class Sale:
    token: str
    bot: str
    payment_id: str


def buy(world: World, *, paid: bool = True) -> Sale:
    """Click, /start, the phone step, a PIX bought (and paid with who paid, delivered, events sent)."""
    tg = world.tg
    token, bot = click(world)
    tg.table.update(f"BOT#{bot}", "OFFER#grupo_vip", "SET ask_phone = :yes", {":yes": True})
    assert tg.start(PERSON, token, bot_id=bot, **PROFILE)[1]["outcome"] == "start_attributed"
    assert tg.callback(PERSON, "b:grupo_vip", bot_id=bot)[1]["outcome"] == "pix_created"
    assert tg.post(contact(PERSON, SHARED_PHONE), bot)[1]["outcome"] == "contact_stored"
    [payment] = tg.payments(PERSON)
    sale = Sale(token, bot, payment["payment_id"])
    if paid:
        assert pay(world, sale.payment_id) == 200
        assert deliver(world) == []
    assert send_events(world, page_view(world, token)) == []
    return sale


def stored(world: World) -> list[dict[str, Any]]:
    """Every item of the app table as plain JSON values (moto's own store)."""
    from funil.adapters.dynamo import deserialize

    return [deserialize(json.loads(item)) for item in table_state(world.resources)]


def tenant_items(world: World) -> list[dict[str, Any]]:
    return [item for item in stored(world) if item.get("tenant_id") == world.tg.tenant]


def person_values(world: World, sale: Sale) -> list[str]:
    """Every value of the person's the table held before the erasure (raw, as stored)."""
    click_item = world.table.get(f"CLICK#{sale.token}", "CLICK")
    delivery = world.table.get(f"PAYMENT#{sale.payment_id}", "DELIVERY")
    values = [
        str(PERSON), *PROFILE.values(), SHARED_PHONE, PAYER["email"], PAYER["email"].lower(), PAYER["name"],
        "97777-6666", "977776666", "52998224725", "529.982.247-25", sale.token,
        click_item["ih"], click_item["ip"], click_item["ua"], click_item["fbp"], click_item["ci"]["fbclid"],
        delivery["invite_link"],
    ]  # fmt: skip
    assert all(values)
    return values


def leftovers(world: World, values: list[str]) -> list[tuple[str, str, str]]:
    """(item pk, sk, value) for each of ``values`` still found anywhere in the tenant's items."""
    found = []
    for item in tenant_items(world):
        text = json.dumps(item, ensure_ascii=False, default=str)
        for value in values:
            if re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", text):
                found.append((item["pk"], item["sk"], value))
    return found


# -- export ---------------------------------------------------------------------------------------


def test_the_export_holds_everything_stored_about_the_person(world: World) -> None:
    sale = buy(world)
    answer = world.export({"telegram_user_id": PERSON})
    assert answer.status == 200, answer.body
    body = answer.body
    assert body["subject"] == {"telegram_user_id": PERSON}
    assert {kind: len(body[kind]) for kind in EXPORTED_KINDS} == {
        "leads": 1, "touches": 1, "charges": 1, "accesses": 1, "clicks": 1, "payments": 1, "payers": 1,
        "deliveries": 1, "invites": 1, "conversions": 4,
    }  # fmt: skip
    [lead] = body["leads"]
    assert (lead["telegram_user_id"], lead["first_name"], lead["last_name"]) == (PERSON, "Mariana", "Quintanilha")
    assert lead["phone"] == f"+{SHARED_PHONE}" and lead["attribution"]["click_token"] == sale.token
    assert body["touches"][0]["click_token"] == sale.token
    [clicked] = body["clicks"]
    assert clicked["token"] == sale.token and clicked["user_agent"].startswith("Mozilla/5.0 (iPhone")
    assert clicked["ip"] and clicked["ip_hmac"] and clicked["fbp"] == "fb.1.1732000000000.1234567890"
    [payment] = body["payments"]
    assert (payment["payment_id"], payment["status"], payment["amount_cents"]) == (sale.payment_id, "paid", 1990)
    [payer] = body["payers"]
    assert (payer["email"], payer["document"]) == (PAYER["email"], "52998224725")
    assert body["deliveries"][0]["status"] == "delivered" and body["deliveries"][0]["invite_link"]
    assert body["invites"][0]["telegram_user_id"] == PERSON
    assert sorted(record["event_id"].split("_")[0] for record in body["conversions"]) == [
        "ic", "lead", "purchase", "pv",
    ]  # fmt: skip
    assert all(record["status"] == "sent" for record in body["conversions"])
    text = json.dumps(body)
    assert "ciphertext" not in text and '"pk"' not in text and "gsi1pk" not in text and "delivery_token" not in text
    assert body["request_id"].startswith("dsr_") and body["exported_at"]


@pytest.mark.parametrize(
    ("identifier", "normalised"),
    [
        ({"email": "  MARIANA.quintanilha@example.COM "}, "mariana.quintanilha@example.com"),  # as Meta's em
        ({"phone": "+55 (21) 97777-6666"}, "5521977776666"),  # the payer's phone, typed differently
        ({"phone": "11 98765-4321"}, SHARED_PHONE),  # the phone shared in the bot, as a national number
    ],
)
def test_an_email_or_a_phone_finds_the_same_person(world: World, identifier: dict[str, str], normalised: str) -> None:
    sale = buy(world)
    by_telegram = world.export({"telegram_user_id": PERSON}).body
    body = world.export(identifier).body
    for kind in EXPORTED_KINDS:
        assert body[kind] == by_telegram[kind], kind
    assert body["payments"][0]["payment_id"] == sale.payment_id
    assert body["subject"] == {next(iter(identifier)): normalised}


def test_an_unknown_person_has_nothing_and_the_request_is_still_logged(world: World) -> None:
    buy(world)
    for identifier in ({"telegram_user_id": PERSON + 1}, {"email": "ninguem@example.com"}, {"phone": "11912345678"}):
        body = world.export(identifier).body
        assert all(body[kind] == [] for kind in EXPORTED_KINDS), identifier
    listed = world.api("GET", "/api/v1/subjects/requests", key=world.key).body["items"]
    assert [entry["identifier"] for entry in listed] == ["phone", "email", "telegram_user_id"]  # newest first


# -- erasure ----------------------------------------------------------------------------------------


def test_erasure_leaves_nothing_of_the_person_and_keeps_the_books(world: World) -> None:
    sale = buy(world)
    values = person_values(world, sale)
    assert leftovers(world, values)  # the check sees them while they are there
    before = world.table.get(f"PAYMENT#{sale.payment_id}", "PAYMENT")

    answer = world.erase({"telegram_user_id": PERSON})
    assert answer.status == 200, answer.body
    assert answer.body["erased"] == {
        "leads": 1, "touches": 1, "charges": 1, "accesses": 1, "clicks": 1, "payments": 1, "payers": 1,
        "deliveries": 1, "invites": 1, "conversions": 4,
    }  # fmt: skip
    assert answer.body["subject"] == {"kind": "telegram_user_id"} and str(PERSON) not in json.dumps(answer.body)
    assert leftovers(world, values) == []

    payment = world.table.get(f"PAYMENT#{sale.payment_id}", "PAYMENT")
    books = ("amount_cents", "currency", "status", "created_at", "paid_at", "confirmed_at", "offer_id", "gateway_id")
    assert {name: payment[name] for name in books} == {name: before[name] for name in books}
    assert payment["anonymised_at"] and "telegram_user_id" not in payment and "lead_ref" not in payment
    assert payment["attribution"] == {
        name: before["attribution"][name] for name in ("link_slug", "pixel_id", "utm", "ad")
    }
    record = world.table.get(f"PAYMENT#{sale.payment_id}", "DELIVERY")
    assert record["status"] == "delivered" and record["anonymised_at"] and "invite_link" not in record
    purchase = world.table.get(f"CAPI#{world.tg.seed.pixel_id}#purchase_{sale.payment_id}", "CAPI")
    assert purchase["status"] == "sent" and "user_data" not in purchase["payload"]
    assert purchase["payload"]["custom_data"]["value"] == 19.9  # the sale Meta was told about stays
    assert world.table.get(f"CAPI#{world.tg.seed.pixel_id}#lead_{sale.bot}_{PERSON}", "CAPI") is None

    after = table_state(world.resources)
    again = world.erase({"telegram_user_id": PERSON})  # repeating it is harmless: only its log entry is new
    assert again.status == 200 and set(again.body["erased"].values()) == {0}
    new = {json.loads(item)["pk"]["S"] for item in table_state(world.resources) - after}
    assert new == {f"AUDIT#{world.tg.tenant}"} and after <= table_state(world.resources)
    exported = world.export({"telegram_user_id": PERSON}).body
    assert all(exported[kind] == [] for kind in EXPORTED_KINDS)


def test_erasing_by_email_reaches_the_whole_chain(world: World) -> None:
    sale = buy(world)
    values = person_values(world, sale)
    answer = world.erase({"email": PAYER["email"]})
    assert answer.status == 200 and answer.body["erased"]["leads"] == 1 and answer.body["erased"]["payers"] == 1
    assert leftovers(world, values) == []


def test_a_pending_payment_erased_and_then_paid_is_confirmed_without_the_person(world: World) -> None:
    sale = buy(world, paid=False)
    values = person_values_before_payment(world, sale)
    assert world.erase({"phone": SHARED_PHONE}).body["erased"]["payments"] == 1

    assert pay(world, sale.payment_id) == 200  # the gateway confirms later: the money is in the books
    payment = world.table.get(f"PAYMENT#{sale.payment_id}", "PAYMENT")
    assert payment["status"] == "paid" and payment["purchase_enqueued_at"] and payment["delivery_enqueued_at"]
    assert world.table.get(f"PAYMENT#{sale.payment_id}", "PAYER") is None  # who paid is not kept for them
    assert deliver(world) == []  # no buyer to deliver to: acknowledged, not retried
    assert world.table.get(f"PAYMENT#{sale.payment_id}", "DELIVERY") is None
    assert send_events(world) == []  # the Purchase has no customer: refused, never retried, nothing sent
    assert [event["event_name"] for event in world.graph.events(world.tg.seed.meta_pixel_id)].count("Purchase") == 0
    assert pay(world, sale.payment_id) == 200  # the gateway repeats itself: still once
    assert world.table.get(f"PAYMENT#{sale.payment_id}", "PAYMENT")["confirmed_at"] == payment["confirmed_at"]
    assert leftovers(world, values) == []


def person_values_before_payment(world: World, sale: Sale) -> list[str]:
    """The person's values, and those of who pays later (the payer the gateway will report)."""
    click_item = world.table.get(f"CLICK#{sale.token}", "CLICK")
    return [
        str(PERSON), *PROFILE.values(), SHARED_PHONE, sale.token, click_item["ih"], click_item["fbp"],
        PAYER["email"], PAYER["name"], "97777-6666", "52998224725", "529.982.247-25",
    ]  # fmt: skip


def test_a_delivery_leased_right_now_loses_its_lease(world: World) -> None:
    sale = buy(world)
    world.table.update(
        f"PAYMENT#{sale.payment_id}", "DELIVERY", "SET #s = :s, claim_id = :c",
        {":s": "in_progress", ":c": "the-consumer-s-claim"}, names={"#s": "status"},
    )  # fmt: skip
    world.erase({"telegram_user_id": PERSON})
    record = world.table.get(f"PAYMENT#{sale.payment_id}", "DELIVERY")
    assert record["claim_id"] == "erased"  # the consumer's own write back (claim_id = its claim) now fails


def test_a_payment_linked_to_the_lead_is_found_when_no_charge_names_it(world: World) -> None:
    sale = buy(world)
    older = "ab" * 16
    world.table.put(
        {**world.table.get(f"PAYMENT#{sale.payment_id}", "PAYMENT"), "pk": f"PAYMENT#{older}", "payment_id": older}
    )
    pk, sk = keys.lead_payment(sale.bot, PERSON, older)
    world.table.put({"pk": pk, "sk": sk, "type": "lead_payment", "tenant_id": world.tg.tenant, "payment_id": older})
    body = world.export({"telegram_user_id": PERSON}).body
    assert sorted(payment["payment_id"] for payment in body["payments"]) == sorted([older, sale.payment_id])
    assert world.erase({"telegram_user_id": PERSON}).body["erased"]["payments"] == 2
    assert "telegram_user_id" not in world.table.get(f"PAYMENT#{older}", "PAYMENT")


def test_a_long_history_is_erased_in_several_transactions(world: World) -> None:
    sale = buy(world)
    [touch] = world.tg.touches(PERSON, sale.bot)
    for number in range(150):  # a person who opened the bot again and again
        at = f"2026-01-01T00:00:{number // 10:02d}.{number % 10:03d}Z"
        world.table.put({**touch, "sk": f"TOUCH#{at}#organic", "at": at, "attributed": False, "reason": "no_token"})
    values = person_values(world, sale)
    answer = world.erase({"telegram_user_id": PERSON})
    assert answer.status == 200 and answer.body["erased"]["touches"] == 151
    assert leftovers(world, values) == []
    assert world.tg.touches(PERSON, sale.bot) == []


# -- isolation, the log, bad input ------------------------------------------------------------------


def test_another_tenants_request_finds_nothing_of_the_person(world: World) -> None:
    buy(world)
    other = create_tenant(world.table, TenantCreate(id="t_outra", name="Outra loja"), utc_now)[1].key
    before = table_state(world.resources)
    for identifier in ({"telegram_user_id": PERSON}, {"email": PAYER["email"]}, {"phone": SHARED_PHONE}):
        exported = world.export(identifier, key=other)
        assert exported.status == 200 and all(exported.body[kind] == [] for kind in EXPORTED_KINDS)
        erased = world.erase(identifier, key=other)
        assert erased.status == 200 and set(erased.body["erased"].values()) == {0}
    changed = table_state(world.resources) - before
    assert {json.loads(item)["pk"]["S"] for item in changed} == {"AUDIT#t_outra"}
    assert before <= table_state(world.resources)
    assert world.api("GET", "/api/v1/subjects/requests", key=world.key).body["items"] == []


def test_every_request_is_logged_without_the_identifier_and_listed_newest_first(world: World) -> None:
    buy(world)
    world.export({"email": PAYER["email"]})
    world.export({"telegram_user_id": PERSON})
    world.erase({"phone": SHARED_PHONE})
    entries = [item for item in stored(world) if item["pk"] == f"AUDIT#{world.tg.tenant}"]
    assert len(entries) == 3
    text = json.dumps(entries)
    assert PAYER["email"].lower() not in text.lower() and str(PERSON) not in text and SHARED_PHONE not in text
    seen, cursor = [], None
    while True:
        page = world.api(
            "GET", "/api/v1/subjects/requests", key=world.key, limit=2, **({"cursor": cursor} if cursor else {})
        ).body
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [(entry["action"], entry["identifier"]) for entry in seen] == [
        ("erase", "phone"), ("export", "telegram_user_id"), ("export", "email"),
    ]  # fmt: skip
    assert {entry["key_id"] for entry in seen} == {world.key_id}
    assert seen[0]["counts"]["payments"] == 1 and seen[0]["requested_at"] >= seen[1]["requested_at"]
    other = create_tenant(world.table, TenantCreate(id="t_outra", name="Outra"), utc_now)[1].key
    foreign = world.api("GET", "/api/v1/subjects/requests", key=other, cursor=cursor or "x")
    assert foreign.status == 422 and foreign.error_fields == ["cursor"]
    first_cursor = world.api("GET", "/api/v1/subjects/requests", key=world.key, limit=1).body["next_cursor"]
    assert world.api("GET", "/api/v1/subjects/requests", key=other, cursor=first_cursor).status == 422


BAD_BODIES: list[tuple[Any, list[str]]] = [
    ({}, ["telegram_user_id", "email", "phone"]),
    ({"telegram_user_id": None, "email": None}, ["telegram_user_id", "email", "phone"]),
    ({"telegram_user_id": PERSON, "email": "a@example.com"}, ["telegram_user_id", "email"]),
    ({"email": "a@example.com", "phone": "11987654321"}, ["email", "phone"]),
    ({"email": "not an address"}, ["email"]),
    ({"email": "a" * 64}, ["email"]),
    ({"email": "f" * 64}, ["email"]),  # a SHA-256 is not an address (the normaliser would pass it)
    ({"phone": "12345"}, ["phone"]),
    ({"phone": "f" * 64}, ["phone"]),
    ({"telegram_user_id": "6123456789"}, ["telegram_user_id"]),
    ({"telegram_user_id": 0}, ["telegram_user_id"]),
    ({"telegram_user_id": True}, ["telegram_user_id"]),
    ({"telegram_user_id": 1.5}, ["telegram_user_id"]),
    ({"telegram_user_id": 2**64}, ["telegram_user_id"]),
    ({"telegram_user_id": PERSON, "name": "Mariana"}, ["name"]),
    ("{not json", ["body"]),
    ([PERSON], ["body"]),
]


def test_a_bad_body_is_422_naming_the_fields_and_writes_nothing(world: World) -> None:
    buy(world)
    before = table_state(world.resources)
    for body, fields in BAD_BODIES:
        for path in ("/api/v1/subjects/export", "/api/v1/subjects/erase"):
            answer = world.api("POST", path, body, key=world.key)
            assert answer.status == 422, (path, body, answer.body)
            assert sorted(answer.error_fields) == sorted(fields), (path, body)
            assert "Mariana" not in json.dumps(answer.body) and "Traceback" not in json.dumps(answer.body)
    assert table_state(world.resources) == before  # no log entry either


def test_the_routes_take_a_tenants_key(world: World) -> None:
    operator = create_operator_key(world.table, "deploy", utc_now).key
    before = table_state(world.resources)
    for path in ("/api/v1/subjects/export", "/api/v1/subjects/erase"):
        assert world.api("POST", path, {"telegram_user_id": PERSON}, key=operator).status == 403
        assert world.api("POST", path, {"telegram_user_id": PERSON}).status == 401
    assert world.api("GET", "/api/v1/subjects/requests", key=operator).status == 403
    assert table_state(world.resources) == before


# -- hostile bodies ---------------------------------------------------------------------------------

IDENTIFIER_VALUES = st.one_of(
    JSON_VALUES,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.emails(),
    st.from_regex(r"\+?[0-9 ()\-]{0,20}", fullmatch=True),
)
BODIES = st.one_of(
    st.dictionaries(st.sampled_from(["telegram_user_id", "email", "phone"]), IDENTIFIER_VALUES, max_size=3),
    st.dictionaries(st.text(max_size=12), IDENTIFIER_VALUES, max_size=3),
    JSON_VALUES,
).map(lambda value: json.dumps(value, default=repr)) | st.text(max_size=200)  # and text that is no JSON


@pytest.fixture
def lone_tenant(invoke: Callable[..., Any], table: Any) -> tuple[Callable[..., Answer], str]:
    return caller(invoke), create_tenant(table, TenantCreate(id="t_lone", name="Loja"), utc_now)[1].key


@given(path=st.sampled_from(["/api/v1/subjects/export", "/api/v1/subjects/erase"]), body=BODIES)
@route(tests=1)
def test_hostile_bodies_never_fail_inside_and_write_only_a_log_entry(
    lone_tenant: tuple[Callable[..., Answer], str], aws_env: aws.Resources, path: str, body: str
) -> None:
    api, key = lone_tenant
    before = table_state(aws_env)
    answer = api("POST", path, body, key=key)
    assert answer.status in {200, 422}, answer
    assert "Traceback" not in json.dumps(answer.body)
    new = table_state(aws_env) - before
    assert before <= table_state(aws_env)
    if answer.status == 422:
        assert new == set() and answer.error_fields
    else:
        [entry] = [json.loads(item) for item in new]
        assert entry["pk"] == {"S": "AUDIT#t_lone"} and entry["type"] == {"S": "subject_request"}


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 2000 + "]" * 2000,
        '{"a":' * 3000 + "1" + "}" * 3000,
        '{"telegram_user_id": ' + "9" * 5000 + "}",
    ],
    ids=["deep-array", "deep-object", "huge-number"],
)
def test_bodies_the_json_parser_cannot_read_are_422_and_write_nothing(
    lone_tenant: tuple[Callable[..., Answer], str], aws_env: aws.Resources, raw: str
) -> None:
    api, key = lone_tenant
    before = table_state(aws_env)
    answer = api("POST", "/api/v1/subjects/export", raw, key=key)
    assert table_state(aws_env) == before
    assert (answer.status, answer.error_fields) == (422, ["body"])
