"""The compact click item (docs/data-model.md): what capture stores, and what readers get back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from funil import meta_cookies
from funil.click.capture import ClickRequest, build_click_item
from funil.click.fields import click_fields, click_item_from_fields
from funil.click.links import BotTarget, LinkRoute, PixelRef
from funil.click.stream import page_view_message

NOW = datetime(2026, 11, 22, 18, 30, 0, 123456, tzinfo=UTC)
FBCLID = "IwZXh0bgNhZW0BMABhZGlkAasUJ4Q2d9YBHQ_aem_AbCdEf-123_xyZ"
FBP = "fb.1.1732000000000.1234567890"
ROUTE = LinkRoute(
    slug="demo",
    tenant_id="t_demo",
    enabled=True,
    attribution_window_days=7,
    targets=(BotTarget("bot_demo_a", "FunilDemoABot", 1),),
    pixel=PixelRef("px_demo", "1234567890123456", True),
)
QUERY = [
    ("utm_source", "facebook"),
    ("utm_campaign", "black_friday"),
    ("fb_campaign_id", "120210000000000001"),
    ("adset_name", "Lookalike 1%"),
    ("placement", "Instagram_Stories"),
    ("fbclid", FBCLID),
    ("ttclid", "E_C_P_abc"),
]
HEADERS = {
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Instagram 325.0.4.32.96",
    "accept-language": "pt-BR",
    "referer": "https://l.instagram.com/",
    "cloudfront-viewer-country": "BR",
}


def capture(cookies: dict[str, str] | None = None, route: LinkRoute = ROUTE, query=QUERY):
    return build_click_item(
        ClickRequest(query=list(query), cookies=cookies or {}, headers=HEADERS, source_ip="189.40.1.77"),
        route=route,
        bot=route.targets[0],
        token="AbCdEfGhIjKlMnOpQrStUv",
        now=NOW,
        fbp=FBP,
        ip_hash_secret=b"k" * 32,
        trusted_proxy_hops=0,
        ttl_margin_days=2,
    )


def test_stored_compact_and_read_back_under_the_attribution_names() -> None:
    captured = capture()
    item = captured.item
    assert item["pk"] == "CLICK#AbCdEfGhIjKlMnOpQrStUv" and item["sk"] == "CLICK"
    assert item["t"] == 1795372200123 and item["w"] == 7
    assert item["u"] == {"source": "facebook", "campaign": "black_friday"}
    assert item["ad"] == {"c": "120210000000000001", "sn": "Lookalike 1%", "p": "Instagram_Stories"}
    assert "fbc" not in item  # built from the fbclid: derived again by readers
    assert (captured.fbc, captured.fbc_built) == (f"fb.1.1795372200123.{FBCLID}", True)

    fields = click_fields(item, visitor=True)
    assert fields["token"] == "AbCdEfGhIjKlMnOpQrStUv"
    assert (fields["link_slug"], fields["bot_id"], fields["pixel_id"]) == ("demo", "bot_demo_a", "px_demo")
    assert fields["clicked_at"] == "2026-11-22T18:30:00.123Z" and fields["clicked_at_ms"] == 1795372200123
    assert fields["attribution_ends_at"] == "2026-11-29T18:30:00.123Z"
    assert fields["utm"] == {"utm_source": "facebook", "utm_campaign": "black_friday"}
    assert fields["ad"] == {
        "campaign_id": "120210000000000001",
        "adset_name": "Lookalike 1%",
        "placement": "Instagram_Stories",
    }
    assert fields["click_ids"] == {"fbclid": FBCLID, "ttclid": "E_C_P_abc"}
    assert (fields["fbc"], fields["fbc_source"]) == (captured.fbc, "fbclid")
    assert fields["fbp"] == FBP
    assert fields["ip"] == "189.40.1.77" and fields["ip_anon"] == "189.40.1.0" and len(fields["ip_hmac"]) == 22
    assert fields["geo"] == {"country": "BR"}
    assert fields["visitor"] == {"device": "mobile", "os": "ios", "browser": "webview", "in_app": "instagram"}
    assert "visitor" not in click_fields(item)  # only for readers that ask (the bot's lead)
    assert click_item_from_fields(fields) == item


@pytest.mark.parametrize(
    ("cookie", "stored", "source"),
    [
        (f"fb.1.1795000000000.{FBCLID}", True, "cookie"),  # this click's fbclid, seen earlier: kept
        ("fb.1.1700000000000.AnOlderClick", False, "fbclid"),  # an older click's: replaced
    ],
)
def test_an_fbc_cookie_is_stored_only_when_kept(cookie: str, stored: bool, source: str) -> None:
    captured = capture({"_fbc": cookie})
    assert ("fbc" in captured.item) is stored
    assert captured.fbc_built is (source == "fbclid")
    fields = click_fields(captured.item)
    assert fields["fbc_source"] == source and fields["fbc"] == captured.fbc
    assert click_item_from_fields(fields) == captured.item


def test_without_fbclid_the_cookie_is_the_fbc_and_nothing_is_built() -> None:
    query = [(name, value) for name, value in QUERY if name != "fbclid"]
    captured = capture({"_fbc": "fb.1.1700000000000.AnOlderClick"}, query=query)
    assert captured.item["fbc"] == "fb.1.1700000000000.AnOlderClick" and not captured.fbc_built
    assert click_fields(capture(query=query).item).get("fbc") is None


def test_the_page_view_of_a_stored_click() -> None:
    message = page_view_message(capture().item)
    assert message is not None
    assert (message.event_id, message.tenant_id, message.pixel_id) == ("pv_AbCdEfGhIjKlMnOpQrStUv", "t_demo", "px_demo")
    assert message.occurred_at == datetime(2026, 11, 22, 18, 30, 0, 123000, tzinfo=UTC)
    no_pixel = LinkRoute("demo", "t_demo", True, 7, ROUTE.targets, None)
    assert page_view_message(capture(route=no_pixel).item) is None
    broken = {key: value for key, value in capture().item.items() if key != "tenant_id"}
    with pytest.raises(ValueError, match="tenant"):
        page_view_message(broken)


def test_minted_fbp_and_cookie_attributes() -> None:
    fbp = meta_cookies.new_fbp(1795372200123, meta_cookies.new_fbp_payload())
    assert meta_cookies.valid_fbp(fbp) and fbp.startswith("fb.1.1795372200123.")
    assert meta_cookies.set_cookie("_fbp", fbp) == f"_fbp={fbp}; Max-Age=7776000; Path=/; SameSite=Lax; Secure"
