"""GET /d/{token} through the real handler on moto: paid, unpaid, refunded, unknown; never a write."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

RUN = "DeliveryPageFunction"
TOKEN = "Dlv0aBcDeFgHiJkLmNoPqRsTu"  # events/delivery_page_get.json
PAYMENT = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def put_payment(table: Any, seed: Any, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"PAYMENT#{PAYMENT}",
        "sk": "PAYMENT",
        "type": "payment",
        "tenant_id": seed.tenant_id,
        "payment_id": PAYMENT,
        "bot_id": seed.bots[0]["id"],
        "telegram_user_id": 555000111,
        "offer_id": "vip_mensal",
        "offer_name": "Grupo VIP — mensal",
        "amount_cents": 4990,
        "currency": "BRL",
        "status": "paid",
        "created_at": "2026-11-22T18:00:00.000Z",
        "paid_at": "2026-11-22T18:05:00.000Z",
        "delivery_token": TOKEN,
        "gsi2pk": f"DELIVERY#{TOKEN}",
        "gsi2sk": "PAYMENT",
        "attribution": {"link_slug": seed.link_slug, "fbc": "fb.1.1795370000000.IwAR", "ip": "177.12.34.56"},
    }
    item.update(changes)
    table.put({key: value for key, value in item.items() if value is not None})
    return item


def writes(aws_calls: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [call for call in aws_calls if call[1] not in {"GetItem", "Query", "BatchGetItem"}]


def test_paid_page_fires_the_browser_purchase_with_the_servers_event_id(invoke, event, seed, table, aws_calls):
    put_payment(table, seed)
    del aws_calls[:]
    answer = invoke(RUN, event("delivery_page_get.json"))
    assert answer["statusCode"] == 200
    body = answer["body"]
    assert 'lang="pt-BR"' in body and "Pagamento confirmado" in body and "Grupo VIP — mensal" in body
    assert "R$ 49,90" in body
    config = json.loads(re.search(r'<script type="application/json" id="funil-cfg">(.*?)</script>', body).group(1))
    assert config["eventId"] == f"purchase_{PAYMENT}"
    assert config["pixel"] == seed.meta_pixel_id
    assert config["data"]["value"] == 49.9 and config["data"]["currency"] == "BRL"
    assert config["data"]["content_ids"] == ["vip_mensal"]
    assert "fbq('track','Purchase',c.data,{eventID:c.eventId})" in body
    nonce = re.search(r"'nonce-([A-Za-z0-9_-]+)'", answer["headers"]["content-security-policy"]).group(1)
    assert f'<script nonce="{nonce}">' in body
    assert "https://connect.facebook.net" in answer["headers"]["content-security-policy"]
    assert answer["headers"]["cache-control"] == "no-store"
    assert writes(aws_calls) == []  # opening the page never triggers the server Purchase


@pytest.mark.parametrize(
    ("status", "title"), [("pending", "Pagamento ainda não confirmado"), ("expired", "Pagamento ainda não confirmado"),
                          ("refunded", "Compra reembolsada")]
)  # fmt: skip
def test_unpaid_or_refunded_payment_gets_a_clear_page_without_any_event(
    invoke, event, seed, table, aws_calls, status, title
):
    put_payment(table, seed, status=status, paid_at=None)
    del aws_calls[:]
    answer = invoke(RUN, event("delivery_page_get.json"))
    assert answer["statusCode"] == 200
    assert title in answer["body"]
    assert "fbq" not in answer["body"] and "purchase_" not in answer["body"]
    assert writes(aws_calls) == []


@pytest.mark.parametrize("token", ["UnknownTokenUnknownToken", "short", "bad%20token%3Cscript%3E", "x" * 200])
def test_unknown_or_malformed_token_is_a_404_page_without_trace(invoke, event, seed, table, token):
    put_payment(table, seed)
    request = event("delivery_page_get.json")
    request["pathParameters"]["token"] = token
    request["rawPath"] = f"/d/{token}"
    answer = invoke(RUN, request)
    assert answer["statusCode"] == 404
    assert "Página não encontrada" in answer["body"]
    assert "fbq" not in answer["body"] and "Traceback" not in answer["body"] and "<script" not in answer["body"]


def test_payment_of_another_token_on_the_index_is_not_shown(invoke, event, seed, table):
    put_payment(table, seed, delivery_token="SomeOtherTokenAbcdefgh12")  # index says TOKEN, item disagrees
    assert invoke(RUN, event("delivery_page_get.json"))["statusCode"] == 404


def test_no_event_when_the_pixel_does_not_report_purchases_or_belongs_elsewhere(invoke, event, seed, table):
    put_payment(table, seed)
    table.update(f"PIXEL#{seed.pixel_id}", "PIXEL", "SET events.Purchase = :off", {":off": False})
    answer = invoke(RUN, event("delivery_page_get.json"))
    assert answer["statusCode"] == 200 and "Pagamento confirmado" in answer["body"] and "fbq" not in answer["body"]
    table.update(
        f"PIXEL#{seed.pixel_id}", "PIXEL", "SET events.Purchase = :on, tenant_id = :t", {":on": True, ":t": "t_other"}
    )
    answer = invoke(RUN, event("delivery_page_get.json"))
    assert "fbq" not in answer["body"]


def test_stars_payment_without_fiat_value_shows_the_page_without_an_event(invoke, event, seed, table):
    put_payment(table, seed, currency="XTR", amount_cents=250)
    answer = invoke(RUN, event("delivery_page_get.json"))
    assert answer["statusCode"] == 200 and "⭐ 250" in answer["body"] and "fbq" not in answer["body"]
    put_payment(table, seed, currency="XTR", amount_cents=250, fiat_amount_cents=2490, fiat_currency="BRL")
    config = re.search(r'id="funil-cfg">(.*?)</script>', invoke(RUN, event("delivery_page_get.json"))["body"]).group(1)
    assert json.loads(config)["data"]["value"] == 24.9


def test_delivered_access_link_is_on_the_page_and_escaped(invoke, event, seed, table):
    put_payment(table, seed)
    table.put({"pk": f"PAYMENT#{PAYMENT}", "sk": "DELIVERY", "status": "delivered",
               "invite_link": "https://t.me/+AbC\"<x>", "tenant_id": seed.tenant_id})  # fmt: skip
    body = invoke(RUN, event("delivery_page_get.json"))["body"]
    assert 'href="https://t.me/+AbC&quot;&lt;x&gt;"' in body and "<x>" not in body


def test_english_when_the_browser_prefers_it(invoke, event, seed, table):
    put_payment(table, seed)
    request = event("delivery_page_get.json")
    request["headers"]["accept-language"] = "en-US,en;q=0.9"
    assert "Payment confirmed" in invoke(RUN, request)["body"]


def test_a_mismatched_or_newline_suffixed_token_answers_exactly_as_an_unknown_one(invoke, event, seed, table):
    import re

    def page(token: str) -> tuple[int, str]:
        request = event("delivery_page_get.json")
        request["pathParameters"]["token"] = token
        request["rawPath"] = f"/d/{token}"
        answer = invoke(RUN, request)
        return answer["statusCode"], re.sub(r"nonce-?[=\"']*[A-Za-z0-9+/_=-]+", "nonce", answer["body"])

    put_payment(table, seed)
    token = event("delivery_page_get.json")["pathParameters"]["token"]
    assert page(token)[0] == 200
    unknown = page("UnknownTokenUnknownToken")
    assert unknown[0] == 404
    assert page(token + "\n") == unknown  # the token pattern is anchored: no trailing newline
    put_payment(table, seed, delivery_token="SomeOtherTokenAbcdefgh12")  # index says TOKEN, item disagrees
    assert page(token) == unknown
