"""event_source_url names the host the click came through: a seller's own domain (docs/domains.md)."""

from __future__ import annotations

from funil.click.capture import ClickRequest, build_click_item
from funil.click.fields import click_fields, click_item_from_fields
from funil.click.links import BotTarget, LinkRoute
from funil.conversions.builder import BuildSettings, BuildStatus, Sources, build_event
from funil.delivery.entry import delivery_page_url
from funil.messages import EventKind

from tests.unit.conversions.factories import (
    BASE_URL,
    CLICKED_AT,
    NOW,
    attribution,
    click_item,
    lead_item,
    message,
    payment_item,
    pixel_item,
)

SETTINGS = BuildSettings(BASE_URL)
HOST = "go.bia-loja.com.br"


def test_a_page_view_names_the_sellers_domain_it_was_served_on() -> None:
    sources = Sources(pixel=pixel_item(), click=click_item(host=HOST))
    built = build_event(message(EventKind.PAGE_VIEW), sources, SETTINGS, NOW)
    assert built.status is BuildStatus.READY
    assert built.event is not None
    assert built.event["event_source_url"] == f"https://{HOST}/go/demo"


def test_a_purchase_after_the_click_expired_names_it_from_the_snapshot() -> None:
    snapshot = {**attribution(), "host": HOST}
    sources = Sources(pixel=pixel_item(), payment=payment_item(attribution=snapshot), lead=lead_item())
    built = build_event(message(EventKind.PURCHASE), sources, SETTINGS, NOW)
    assert built.event is not None
    assert built.event["event_source_url"] == f"https://{HOST}/go/demo"


def test_a_click_on_the_deployments_own_host_keeps_the_public_origin() -> None:
    built = build_event(message(EventKind.PAGE_VIEW), Sources(pixel=pixel_item(), click=click_item()), SETTINGS, NOW)
    assert built.event is not None
    assert built.event["event_source_url"] == f"{BASE_URL}/go/demo"


def test_the_delivery_page_is_on_the_host_of_the_buyers_click() -> None:
    payment = {"delivery_token": "Dlv0aBcDeF", "attribution": {"host": HOST}}
    assert delivery_page_url(BASE_URL, payment) == f"https://{HOST}/d/Dlv0aBcDeF"
    assert delivery_page_url(BASE_URL, {"delivery_token": "Dlv0aBcDeF"}) == f"{BASE_URL}/d/Dlv0aBcDeF"


def test_the_stored_click_keeps_the_host_it_came_through() -> None:
    route = LinkRoute("demo", "t_bia", True, 7, (BotTarget("bot_a", "BiaBot", 1),), None)
    request = ClickRequest(query=[], cookies={}, headers={"user-agent": "Mozilla/5.0"})
    captured = build_click_item(
        request,
        route=route,
        bot=route.targets[0],
        token="T" * 22,
        now=CLICKED_AT,
        fbp="fb.1.1.2",
        ip_hash_secret=None,
        trusted_proxy_hops=0,
        ttl_margin_days=2,
        host=HOST,
    )
    assert captured.item["h"] == HOST
    assert click_fields(captured.item)["host"] == HOST
    assert click_item_from_fields(click_fields(captured.item)) == captured.item
