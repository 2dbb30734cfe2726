"""Personal data through the real handlers on moto: a stored webhook keeps no payer.

Each gateway's documented webhook (tests/fixtures/gateways/) is sent the way that gateway
authenticates it, to the deployed gateway webhook handler; the raw webhook it stores (pattern 20)
must hold none of the fixture's personal values and all of its ids and amounts.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local import aws
from tests.integration.test_gateway_webhook_kinds import World, world  # noqa: F401  (the fixture)
from tests.unit.payments.gateway_payloads import PAYLOADS, Payload

WEBHOOKS = [payload for payload in PAYLOADS if payload.is_webhook]


def _stored_webhooks(world: World) -> list[dict[str, Any]]:  # noqa: F811
    client = boto3.client("dynamodb", region_name=aws.REGION)
    items = client.scan(TableName=world.resources.tables["AppTable"])["Items"]
    return [item for item in items if item["sk"]["S"] == "WEBHOOK"]


def _send(world: World, payload: Payload) -> int:  # noqa: F811
    body = payload.raw()
    if payload.gateway == "apipix":
        return world.post("gw_apipix", body, pix_suffix=True)[0]
    if payload.gateway == "pushinpay":
        return world.post("gw_push", body, {"content-type": "application/json"})[0]
    if payload.gateway == "woovi":
        headers = {"x-webhook-signature": world.woovi.sign(body), "content-type": "application/json"}
        return world.post("gw_woovi", body, headers)[0]
    data_id = str(payload.body()["data"]["id"])
    note = world.mercadopago.notification(data_id)
    return world.post("gw_mp", body, note.headers, query=f"data.id={data_id}&type=payment")[0]


@pytest.mark.parametrize("payload", WEBHOOKS, ids=lambda payload: f"{payload.gateway}/{payload.name}")
def test_a_documented_webhook_is_stored_without_its_payer(world: World, payload: Payload) -> None:  # noqa: F811
    status = _send(world, payload)
    assert status in (200, 400)  # authenticated: never 401/404 (unknown payments answer 200)
    [stored] = _stored_webhooks(world)
    text = json.dumps(stored, ensure_ascii=False)
    assert [value for value in payload.personal if value in text] == []
    assert [value for value in payload.kept if value not in text] == []
    assert "[redacted]" in text or not payload.personal


# --- raw IP/UA live on the click only, and only while it lives ------------------------------------


class _Items:
    """The table as the sender's loader reads it (BatchGetItem), over stored items."""

    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = {(item["pk"], item["sk"]): item for item in items}

    def batch_get(self, wanted: Any) -> list[dict[str, Any]]:
        return [self.items[key] for key in wanted if key in self.items]


def _snapshot_without_the_person() -> dict[str, Any]:
    from tests.unit.conversions.factories import TOKEN, attribution

    snapshot = {name: value for name, value in attribution().items() if name not in ("ip", "user_agent", "geo")}
    return {**snapshot, "click_token": TOKEN}


def test_the_purchase_still_gets_the_clicks_ip_and_ua_while_the_click_lives_and_never_after() -> None:
    from datetime import timedelta

    from funil import clock
    from funil.conversions.sources import SourceLoader
    from funil.messages import EventKind

    from tests.unit.conversions.factories import IP, NOW, UA, lead_item, message, payment_item, stored_click_item

    payment = payment_item(attribution=_snapshot_without_the_person())
    lead = lead_item(attribution=_snapshot_without_the_person())
    click = stored_click_item()
    loader = SourceLoader(_Items(payment, lead, click))
    purchase = message(EventKind.PURCHASE)

    [alive] = loader.load([purchase], now=NOW)
    assert alive.payment is not None and alive.lead is not None
    assert (alive.payment["attribution"]["ip"], alive.payment["attribution"]["user_agent"]) == (IP, UA)
    assert alive.lead["attribution"]["ip"] == IP
    assert "ip" not in payment["attribution"]  # the stored item is untouched

    after = NOW + timedelta(seconds=int(click["expires_at"]) - clock.to_epoch_s(NOW))
    [gone] = SourceLoader(_Items(payment, lead, click)).load([purchase], now=after)
    assert gone.payment is not None and "ip" not in gone.payment["attribution"]
    assert "user_agent" not in gone.payment["attribution"]

    foreign = {**click, "tenant_id": "t_other"}
    [other] = SourceLoader(_Items(payment, lead, foreign)).load([purchase], now=NOW)
    assert other.payment is not None and "ip" not in other.payment["attribution"]
