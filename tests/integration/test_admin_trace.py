"""The sale debugger (``/api/v1/sales|clicks|leads/…/trace``) through the real handler, on a real sale.

The sale is made by the real functions on moto, as ``test_admin_subjects`` makes it: a click through
``RedirectFunction``, ``/start``, a PIX and the shared phone through ``TelegramWebhookFunction`` with
the fake Bot API, the sandbox's signed webhook through ``GatewayWebhookFunction``, the delivery by
``DeliveryFunction`` and the events by ``CapiSenderFunction`` on the fake Graph API. Then the tenant
asks for its timeline.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import hypothesis
import pytest
from funil.clock import utc_now
from funil.operator.api_keys import create_operator_key
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import given
from hypothesis import strategies as st

from local import aws
from local.handlers import LambdaContext
from tests.admin_api import Answer, caller, table_state
from tests.conftest import load_event
from tests.integration import test_admin_subjects as subjects_tests
from tests.integration import test_gateway_webhook_kinds as gateway_kinds
from tests.integration.test_admin_subjects import (
    PAYER,
    PERSON,
    PROFILE,
    SHARED_PHONE,
    Sale,
    World,
    buy,
    deliver,
    send_events,
)
from tests.integration.test_hostile_input import PATH_TEXT, route
from tests.unit.bot.telegram_harness import GATEWAY_URL_SECRET

world = subjects_tests.world  # the fixture: the demo tenant, whose person buys through the real functions
gateways = gateway_kinds.world  # the fixture: a tenant's four kinds of gateway, each on its fake

UA_START = "Mozilla/5.0 (iPhone"  # events/redirect_get.json's User-Agent
CHAIN = ["click", "start", "checkout", "charge_attempt", "webhook", "paid", "delivery"]


def trace(world: World, path: str, key: str | None = None) -> Answer:
    return world.api("GET", f"/api/v1/{path}/trace", key=key or world.key)


def steps(body: dict[str, Any]) -> list[str]:
    return [event["step"] for event in body["events"]]


def of_step(body: dict[str, Any], step: str) -> list[dict[str, Any]]:
    return [event for event in body["events"] if event["step"] == step]


def conversions(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {event["detail"]["event"]: event["detail"] for event in of_step(body, "conversion")}


def gateway_says(world: World, charge: dict[str, Any], event_type: str) -> int:
    """The sandbox's signed webhook about ``charge`` through the gateway webhook function."""
    headers, body = world.tg.sandbox.signed_webhook(charge, event_type)
    handler, function = world.function("GatewayWebhookFunction")
    event = load_event("gateway_webhook_post.json")
    event["pathParameters"] = {"gateway_id": "gw_demo", "secret": GATEWAY_URL_SECRET}
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/pay/gw_demo/{GATEWAY_URL_SECRET}"
    base = {name: value for name, value in event["headers"].items() if name != "sandbox-signature"}
    event["headers"] = {**base, **headers, "content-length": str(len(body))}
    event["body"] = body.decode()
    return int(handler(event, LambdaContext(function, "test"))["statusCode"])


def personal_values(world: World, sale: Sale) -> list[str]:
    """What the debugger must never show: the person's and the visitor's own values."""
    click = world.table.get(f"CLICK#{sale.token}", "CLICK")
    delivery = world.table.get(f"PAYMENT#{sale.payment_id}", "DELIVERY")
    payment = world.table.get(f"PAYMENT#{sale.payment_id}", "PAYMENT")
    values = [
        *PROFILE.values(), SHARED_PHONE, PAYER["email"], PAYER["email"].lower(), PAYER["name"], "97777-6666",
        "977776666", "52998224725", "529.982.247-25", click["ip"], click["ua"], click["ih"], click["fbp"],
        click["ci"]["fbclid"], delivery["invite_link"], payment["delivery_token"], payment["brcode"],
    ]  # fmt: skip
    assert all(values)
    return values


def shown(body: Any, values: list[str]) -> list[str]:
    text = json.dumps(body, ensure_ascii=False)
    return [value for value in values if value in text]


# -- one sale, three ways in ------------------------------------------------------------------------


def test_a_sales_trace_is_its_whole_chain_in_order_from_the_click_to_meta(world: World) -> None:
    sale = buy(world)
    answer = trace(world, f"sales/{sale.payment_id}")
    assert answer.status == 200, answer.body
    body = answer.body
    assert body["subject"] == {"payment_id": sale.payment_id}
    assert body["payments"] == [sale.payment_id]
    # The chain, then the four events, each sent once (the sender ran last).
    assert steps(body) == [*CHAIN, "conversion", "conversion", "conversion", "conversion"]
    ats = [event["at"] for event in body["events"] if event["step"] != "start"]  # a start is dated to the second
    assert ats == sorted(ats)

    [click] = of_step(body, "click")
    assert click["title"] == "Click on /go/demo"
    assert click["detail"] == {
        "token": sale.token,
        "click": "live",
        "link": "demo",
        "bot_id": sale.bot,
        "pixel_id": world.tg.seed.pixel_id,
        "utm": {
            "utm_source": "facebook", "utm_medium": "paid", "utm_campaign": "black_friday",
            "utm_content": "video_1", "utm_term": "vip",
        },
        "ad": {
            "campaign_id": "120210000000000001", "campaign_name": "BF VIP", "adset_id": "120210000000000002",
            "adset_name": "Lookalike 1%", "ad_id": "120210000000000003", "ad_name": "Video 1",
            "placement": "Instagram_Stories", "site_source_name": "ig",
        },
        "click_ids": ["fbclid"],
        "fbc": "fbclid",
        "fbp": True,
        "device": {"device": "mobile", "os": "ios", "browser": "webview", "in_app": "instagram"},
        "quality": {"suspect": False, "reasons": []},
        "attribution_ends_at": click["detail"]["attribution_ends_at"],
    }  # fmt: skip
    [start] = of_step(body, "start")
    assert start["title"] == "Start from the click"
    assert (start["detail"]["attributed"], start["detail"]["click_token"]) == (True, sale.token)
    [checkout] = of_step(body, "checkout")
    assert {name: checkout["detail"].get(name) for name in ("offer_id", "method", "amount_cents", "gateway_kind")} == {
        "offer_id": "grupo_vip", "method": "pix", "amount_cents": 1990, "gateway_kind": "sandbox",
    }  # fmt: skip
    [attempt] = of_step(body, "charge_attempt")
    assert (attempt["detail"]["gateway_id"], attempt["detail"]["outcome"]) == ("gw_demo", "created")
    assert attempt["detail"]["gateway_charge_id"] == checkout["detail"]["gateway_charge_id"]
    [webhook] = of_step(body, "webhook")
    assert webhook["title"] == "Webhook from gw_demo: paid → confirmed"
    assert {name: webhook["detail"][name] for name in ("status", "amount_cents", "currency", "result")} == {
        "status": "paid", "amount_cents": 1990, "currency": "BRL", "result": "confirmed",
    }  # fmt: skip
    [paid] = of_step(body, "paid")
    stored = world.table.get(f"PAYMENT#{sale.payment_id}", "PAYMENT")
    assert (paid["detail"]["paid_at"], paid["detail"]["confirmed_at"]) == (stored["paid_at"], stored["confirmed_at"])
    [delivery] = of_step(body, "delivery")
    assert delivery["detail"]["status"] == "delivered" and delivery["detail"]["invite_link_created"] is True

    events = conversions(body)
    assert sorted(events) == ["InitiateCheckout", "Lead", "PageView", "Purchase"]
    ids = {name: detail["event_id"] for name, detail in events.items()}
    assert ids == {
        "PageView": f"pv_{sale.token}", "Lead": f"lead_{sale.bot}_{PERSON}",
        "InitiateCheckout": f"ic_{sale.payment_id}", "Purchase": f"purchase_{sale.payment_id}",
    }  # fmt: skip
    purchase = events["Purchase"]
    assert (purchase["status"], purchase["attempts"], purchase["value"], purchase["currency"]) == (
        "sent",
        1,
        19.9,
        "BRL",
    )
    assert purchase["fbtrace_id"] and purchase["event_time"].startswith(stored["paid_at"][:19])
    # Which keys Meta got (the payer's e-mail and phone among them), never their values.
    assert {"em", "ph", "fbc", "fbp", "external_id"} <= set(purchase["user_data_keys"])
    assert set(purchase["match_quality"]["keys"]) <= set(purchase["user_data_keys"])
    assert purchase["match_quality"]["grade"] == "great"
    assert set(events["PageView"]["user_data_keys"]) == {"fbc", "fbp", "client_ip_address", "client_user_agent"}

    assert shown(body, personal_values(world, sale)) == []
    assert UA_START not in json.dumps(body)


def test_the_click_and_the_lead_lead_to_the_same_sale(world: World) -> None:
    sale = buy(world)
    by_click = trace(world, f"clicks/{sale.token}")
    assert by_click.status == 200, by_click.body
    assert by_click.body["subject"] == {"click_token": sale.token}
    assert by_click.body["payments"] == [sale.payment_id]
    assert steps(by_click.body)[: len(CHAIN)] == CHAIN
    [click] = of_step(by_click.body, "click")
    assert (click["detail"]["leads_found"], click["detail"]["leads_searched"]) == (1, "all")

    by_lead = trace(world, f"leads/{sale.bot}/{PERSON}")
    assert by_lead.status == 200, by_lead.body
    assert by_lead.body["subject"] == {"bot_id": sale.bot, "telegram_user_id": PERSON}
    assert by_lead.body["payments"] == [sale.payment_id]
    by_sale = trace(world, f"sales/{sale.payment_id}").body
    # One sale, one first click and one start: the three ways in tell the same story.
    assert by_lead.body["events"] == by_sale["events"]
    assert [event for event in by_click.body["events"] if event["step"] != "click"] == [
        event for event in by_sale["events"] if event["step"] != "click"
    ]
    assert shown([by_click.body, by_lead.body], personal_values(world, sale)) == []


def test_a_lead_who_never_bought_has_its_starts_and_its_lead_event(world: World) -> None:
    organic = PERSON + 7
    assert world.tg.start(organic, bot_id=world.tg.bot_a)[1]["outcome"] == "start_organic_no_token"
    assert send_events(world) == []
    body = trace(world, f"leads/{world.tg.bot_a}/{organic}").body
    assert body["payments"] == [] and steps(body) == ["start", "conversion"]
    [start] = of_step(body, "start")
    assert start["title"] == "Organic start (no token)" and start["detail"]["attributed"] is False
    assert conversions(body)["Lead"]["status"] == "sent"


def test_a_refund_shows_its_webhook_the_refund_the_revoked_access_and_the_refund_event(world: World) -> None:
    sale = buy(world)
    charge = world.tg.sandbox.refund(sale.payment_id)
    assert gateway_says(world, charge, "charge.refunded") == 200
    assert deliver(world) == []  # the job that revokes the buyer's unused invite link
    assert send_events(world) == []
    body = trace(world, f"sales/{sale.payment_id}").body
    webhooks = of_step(body, "webhook")
    assert [(hook["detail"]["event"], hook["detail"]["result"]) for hook in webhooks] == [
        ("payment", "confirmed"), ("refund", "refunded"),
    ]  # fmt: skip
    [refund] = of_step(body, "refund")
    assert refund["title"] == "Refunded: 19.90 BRL" and refund["detail"]["reason"] == "refund"
    assert refund["at"] >= webhooks[0]["at"]
    [revoked] = of_step(body, "revoke")
    assert revoked["detail"]["outcome"]
    assert conversions(body)["Refund"]["status"] == "sent"
    assert steps(body).index("refund") > steps(body).index("paid")


def test_one_api_pix_webhook_for_two_sales_is_in_each_sales_trace(gateways: gateway_kinds.World, invoke: Any) -> None:
    first, first_txid = gateways.create_payment("gw_apipix")
    second, second_txid = gateways.create_payment("gw_apipix", amount_cents=2990)
    gateways.apipix.pay(first_txid)
    gateways.apipix.pay(second_txid)
    batch = json.loads(gateways.apipix.webhook_body(first_txid, second_txid))  # the PSP batches them
    stranger = {"endToEndId": "E" + "2" * 31, "txid": "f" * 32, "valor": "1.00", "horario": "2026-11-22T18:35:00Z"}
    batch["pix"].append(stranger)  # and one that is no charge of ours
    status, answer = gateways.post("gw_apipix", json.dumps(batch).encode(), pix_suffix=True)
    assert (status, answer["results"]) == (200, ["confirmed", "confirmed", "unknown"])
    assert list(gateways.table.query("pk = :pk", {":pk": f"PAYMENT#{'f' * 32}"})) == []  # nothing to record under

    key = create_tenant(gateways.table, TenantCreate(id=gateway_kinds.TENANT, name="Loja"), utc_now)[1].key
    api = caller(invoke)
    said = {}
    for payment_id, cents in ((first, 1990), (second, 2990)):
        traced = api("GET", f"/api/v1/sales/{payment_id}/trace", key=key)
        assert traced.status == 200, traced.body
        assert steps(traced.body) == ["checkout", "webhook", "paid", "conversion"]  # no lead, click or routing here
        assert conversions(traced.body)["Purchase"]["status"] == "queued"  # no sender ran
        [webhook] = of_step(traced.body, "webhook")
        assert (webhook["detail"]["amount_cents"], webhook["detail"]["result"]) == (cents, "confirmed")
        said[payment_id] = webhook["detail"]["webhook_id"]
    assert said[first] == said[second]  # one webhook, recorded under each payment it named


# -- the click's verdict, and a click that expired ----------------------------------------------------


def test_a_suspect_click_shows_its_verdict(world: World) -> None:
    sale = buy(world)
    verdict = {"suspect": True, "reasons": ["datacenter", "burst"]}
    world.table.update(f"CLICK#{sale.token}", "CLICK", "SET q = :q", {":q": verdict})
    [click] = of_step(trace(world, f"sales/{sale.payment_id}").body, "click")
    assert click["title"] == "Click on /go/demo (suspect)" and click["detail"]["quality"] == verdict


def test_an_expired_click_is_shown_from_the_sales_snapshot_with_an_unknown_verdict(world: World) -> None:
    sale = buy(world)
    [live] = of_step(trace(world, f"sales/{sale.payment_id}").body, "click")
    world.table.update(f"CLICK#{sale.token}", "CLICK", "SET expires_at = :past", {":past": 1_700_000_000})
    [click] = of_step(trace(world, f"sales/{sale.payment_id}").body, "click")
    assert click["detail"]["click"] == "expired" and click["detail"]["quality"] == "unknown"
    # What the payment kept of it: the campaign and the device parsed while the click lived.
    for name in ("link", "utm", "ad", "device", "fbc", "click_ids"):
        assert click["detail"][name] == live["detail"][name], name
    assert click["at"] == live["at"]

    world.table.client.delete_item(
        TableName=world.table.name, Key={"pk": {"S": f"CLICK#{sale.token}"}, "sk": {"S": "CLICK"}}
    )  # DynamoDB's TTL finally deleted it
    gone = trace(world, f"sales/{sale.payment_id}").body
    [click] = of_step(gone, "click")
    assert click["detail"]["click"] == "expired" and click["detail"]["device"] == live["detail"]["device"]
    assert steps(gone)[: len(CHAIN)] == CHAIN
    assert trace(world, f"clicks/{sale.token}").status == 404  # nothing left to start from


# -- isolation, not found, bad ids ------------------------------------------------------------------


def test_another_tenants_key_gets_404_like_an_id_that_does_not_exist(world: World) -> None:
    sale = buy(world)
    other = create_tenant(world.table, TenantCreate(id="t_outra", name="Outra loja"), utc_now)[1].key
    before = table_state(world.resources)
    mine = [f"sales/{sale.payment_id}", f"clicks/{sale.token}", f"leads/{sale.bot}/{PERSON}"]
    missing = ["sales/" + "ab" * 16, "clicks/" + "A" * 22, f"leads/{sale.bot}/{PERSON + 1}", f"leads/bot_x/{PERSON}"]
    for path in mine:
        answer = trace(world, path, key=other)
        assert answer.status == 404, (path, answer.body)
        assert shown(answer.body, [sale.payment_id, sale.token, str(PERSON)]) == []
    for path in missing:
        assert trace(world, path).status == 404, path
    assert trace(world, mine[0], key=other).body == trace(world, missing[0]).body == {"error": "no such sale"}
    assert table_state(world.resources) == before


def test_the_routes_take_a_tenants_key_and_ids_of_their_shape(world: World) -> None:
    operator = create_operator_key(world.table, "deploy", utc_now).key
    before = table_state(world.resources)
    for path in ("sales/" + "ab" * 16, "clicks/" + "A" * 22, f"leads/{world.tg.bot_a}/{PERSON}"):
        assert trace(world, path, key=operator).status == 403
        assert world.api("GET", f"/api/v1/{path}/trace").status == 401
    for path, field in [
        ("sales/NOT-A-PAYMENT", "payment_id"),
        ("sales/" + "AB" * 16, "payment_id"),
        ("clicks/" + "x" * 65, "token"),
        ("clicks/a.b", "token"),
        (f"leads/{world.tg.bot_a}/0", "telegram_user_id"),
        (f"leads/{world.tg.bot_a}/-5", "telegram_user_id"),
        (f"leads/{world.tg.bot_a}/{2**64}", "telegram_user_id"),
        (f"leads/{world.tg.bot_a}/ana", "telegram_user_id"),
        (f"leads/{'b' * 65}/{PERSON}", "bot_id"),
    ]:
        answer = trace(world, path)
        assert (answer.status, answer.error_fields) == (422, [field]), (path, answer.body)
    assert table_state(world.resources) == before


def test_the_openapi_document_describes_the_three_traces(world: World) -> None:
    document = world.api("GET", "/api/v1/openapi.json").body
    for path in (
        "/api/v1/sales/{payment_id}/trace",
        "/api/v1/clicks/{token}/trace",
        "/api/v1/leads/{bot_id}/{telegram_user_id}/trace",
    ):
        answers = document["paths"][path]["get"]["responses"]
        assert {"200", "404", "422"} <= set(answers), path


# -- hostile path parameters ------------------------------------------------------------------------


@pytest.fixture
def sold(world: World) -> tuple[World, Sale]:
    return world, buy(world)


SEGMENT = st.one_of(
    PATH_TEXT,
    st.from_regex(r"[A-Za-z0-9_-]{1,70}", fullmatch=True),
    st.from_regex(r"[0-9a-fA-F]{30,34}", fullmatch=True),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", ".", "..", "trace", "%00", "0x10", "1e3", " 42", "+42", "٣", "bot_demo_a", str(PERSON)]),
)


@given(
    kind=st.sampled_from(["sales", "clicks", "leads"]),
    first=SEGMENT,
    second=SEGMENT,
    known=st.sampled_from([None, "first", "second"]),
    encode=st.booleans(),
)
@route(tests=1)
def test_hostile_path_parameters_never_fail_inside_and_write_nothing(
    sold: tuple[World, Sale],
    aws_env: aws.Resources,
    kind: str,
    first: str,
    second: str,
    known: str | None,
    encode: bool,
) -> None:
    world, sale = sold
    if known == "first":  # a real id beside a hostile one
        first = {"sales": sale.payment_id, "clicks": sale.token, "leads": sale.bot}[kind]
    elif known == "second":
        second = str(PERSON)

    def part(text: str) -> str:
        return quote(text, safe="") if encode else text

    path = f"/api/v1/{kind}/{part(first)}" + (f"/{part(second)}" if kind == "leads" else "") + "/trace"
    before = table_state(aws_env)
    answer = world.api("GET", path, key=world.key)
    hypothesis.event(f"status {answer.status}")
    assert answer.status in {200, 404, 422}, (path, answer)
    assert "Traceback" not in json.dumps(answer.body)
    assert table_state(aws_env) == before
    if answer.status == 200:
        assert answer.body["events"] and answer.body["payments"] == [sale.payment_id]
    else:
        assert set(answer.body) <= {"error", "fields"}
