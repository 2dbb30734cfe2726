"""Traffic quality verdicts, judged as the analytics consumer judges: the click the redirect stores, read back
by click_fields, its network from the IP database (the sample in tests/fixtures/ipdb), then assess_click."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from funil.adapters.ipdb import IpDatabase, NetworkInfo
from funil.analytics import quality
from funil.analytics.quality import (
    BURST_SAME_NET,
    MIN_HUMAN_START_SECONDS,
    REASONS,
    Verdict,
    assess_click,
    assess_start,
)
from funil.click.capture import ClickRequest, build_click_item
from funil.click.fields import click_fields
from funil.click.links import BotTarget, LinkRoute
from hypothesis import given
from hypothesis import strategies as st

from local.template import ROOT

NETWORKS = IpDatabase.open(ROOT / "tests" / "fixtures" / "ipdb" / "data")
ROUTE = LinkRoute(
    slug="promo",
    tenant_id="t_demo",
    enabled=True,
    attribution_window_days=7,
    targets=(BotTarget("bot_demo_a", "FunilDemoABot", 1),),
    pixel=None,
)
NOW = datetime(2026, 11, 27, 21, 15, 0, tzinfo=UTC)

TIM_SP = "189.40.1.77"  # a mobile carrier's address in the sample
AWS = "52.94.236.248"
PT_BR = "pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7"

INSTAGRAM_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Instagram 325.0.4.32.96 (iPhone14,5; iOS 17_4; pt_BR; pt; scale=3.00; 1170x2532; 581245013)"
)
FACEBOOK_ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; SM-A536E Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/122.0.6261.105 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/453.0.0.40.106;]"
)
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36"
)
# Puppeteer's own Chromium in its default headless mode (Windows build): the same token.
PUPPETEER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/121.0.6167.85 Safari/537.36"
)
PHANTOMJS = "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1"
GOOGLEBOT = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.118 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
FACEBOOKEXTERNALHIT = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)

# name: (User-Agent, Accept-Language, IP, reasons)
CASES: dict[str, tuple[str | None, str | None, str, tuple[str, ...]]] = {
    "instagram_iphone": (INSTAGRAM_IPHONE, "pt-BR,pt;q=0.9", TIM_SP, ()),
    "facebook_android": (FACEBOOK_ANDROID, PT_BR, "177.79.0.1", ()),
    "chrome_windows_claro_ipv6": (CHROME_WINDOWS, PT_BR, "2804:14c::1", ()),
    "instagram_iphone_on_a_vpn": (INSTAGRAM_IPHONE, "pt-BR,pt;q=0.9", "143.198.0.1", ("datacenter_asn",)),
    "headless_chrome_on_aws": (HEADLESS_CHROME, "en-US,en;q=0.9", AWS, ("headless", "datacenter_asn")),
    # Headless Chrome sends no Accept-Language unless told to.
    "puppeteer": (PUPPETEER, None, AWS, ("headless", "no_accept_language", "datacenter_asn")),
    "phantomjs": (PHANTOMJS, None, TIM_SP, ("headless", "no_accept_language")),
    "googlebot": (GOOGLEBOT, None, "8.8.8.8", ("crawler", "no_accept_language", "datacenter_asn")),
    "facebookexternalhit": (
        FACEBOOKEXTERNALHIT,
        None,
        "157.240.22.35",
        ("crawler", "no_accept_language", "datacenter_asn"),
    ),
    "curl": ("curl/8.5.0", None, TIM_SP, ("crawler", "no_accept_language")),
    "python_requests": ("python-requests/2.32.3", None, AWS, ("crawler", "no_accept_language", "datacenter_asn")),
    "no_headers": (None, None, TIM_SP, ("no_user_agent", "no_accept_language")),
    "chrome_without_accept_language": (CHROME_WINDOWS, None, TIM_SP, ("no_accept_language",)),
    "cloudflare_warp_or_private_relay": (INSTAGRAM_IPHONE, "pt-BR", "1.1.1.1", ()),
    "unknown_network": (INSTAGRAM_IPHONE, "pt-BR", "10.1.2.3", ()),
}


def stored_click(user_agent: str | None, accept_language: str | None, ip: str) -> dict[str, Any]:
    """The click item as the redirect stores it (funil.click.capture), read back as the consumer reads it."""
    headers = {
        name: value for name, value in (("user-agent", user_agent), ("accept-language", accept_language)) if value
    }
    captured = build_click_item(
        ClickRequest(query=[("utm_source", "facebook")], cookies={}, headers=headers, source_ip=ip),
        route=ROUTE,
        bot=ROUTE.targets[0],
        token="AbCdEfGhIjKlMnOpQrStUv",
        now=NOW,
        fbp="fb.1.1795372200123.1234567890",
        ip_hash_secret=b"k" * 32,
        trusted_proxy_hops=0,
        ttl_margin_days=2,
    )
    return click_fields(captured.item, visitor=True)


def judge(click: dict[str, Any], same_net_clicks: int = 1) -> Verdict:
    return assess_click(click, NETWORKS.lookup(click.get("ip")), same_net_clicks=same_net_clicks)


@pytest.mark.parametrize("case", CASES)
def test_real_visitors(case: str) -> None:
    user_agent, accept_language, ip, reasons = CASES[case]
    verdict = judge(stored_click(user_agent, accept_language, ip))
    assert verdict == Verdict(suspect=bool(reasons), reasons=reasons)
    assert verdict.quality == ("suspect" if reasons else "clean")


@pytest.mark.parametrize(
    ("same_net_clicks", "burst"), [(1, False), (BURST_SAME_NET - 1, False), (BURST_SAME_NET, True), (250, True)]
)
def test_a_burst_from_one_network(same_net_clicks: int, burst: bool) -> None:
    click = stored_click(INSTAGRAM_IPHONE, PT_BR, TIM_SP)
    assert judge(click, same_net_clicks).reasons == (("burst_same_net",) if burst else ())


def test_the_burst_threshold_can_be_given() -> None:
    click = stored_click(INSTAGRAM_IPHONE, PT_BR, TIM_SP)
    assert assess_click(click, None, same_net_clicks=3, burst=3).reasons == ("burst_same_net",)


def test_an_unknown_network_is_no_signal() -> None:
    click = stored_click(INSTAGRAM_IPHONE, PT_BR, AWS)
    assert assess_click(click, None, same_net_clicks=1) == Verdict(suspect=False)
    residential = NetworkInfo(asn=26615, org="TIM S/A", country="BR", region="SP", datacenter=False)
    assert assess_click(click, residential, same_net_clicks=1) == Verdict(suspect=False)


@pytest.mark.parametrize(
    ("seconds", "reasons"),
    [
        (-3600.0, ("impossible_start",)),  # before its click: the token did not come from our page
        (-0.4, ("impossible_start",)),  # Telegram's second-truncated date can make a 0.6 s start negative
        (0.0, ("impossible_start",)),
        (0.35, ("impossible_start",)),
        (MIN_HUMAN_START_SECONDS - 0.001, ("impossible_start",)),
        (MIN_HUMAN_START_SECONDS, ()),
        (2.5, ()),
        (45, ()),
        (86400 * 6, ()),
        (math.nan, ()),
        (math.inf, ()),
        (-math.inf, ()),
    ],
)
def test_assess_start(seconds: float, reasons: tuple[str, ...]) -> None:
    assert assess_start(seconds) == reasons


def test_a_verdict_grows_with_its_start_and_is_stored_in_reason_order() -> None:
    click = judge(stored_click(CHROME_WINDOWS, None, TIM_SP))
    assert click.plus(assess_start(30.0)) == click
    both = click.plus(assess_start(0.2))
    assert both == Verdict(suspect=True, reasons=("no_accept_language", "impossible_start"))
    assert both.as_item() == {"suspect": True, "reasons": ["no_accept_language", "impossible_start"]}
    assert Verdict.of([]).as_item() == {"suspect": False, "reasons": []}
    assert Verdict.of(["impossible_start", "crawler", "crawler"]).reasons == ("crawler", "impossible_start")


def test_the_reasons_are_a_stable_vocabulary() -> None:
    """Stored on clicks and shown in traces: renaming one would split the history."""
    assert REASONS == (
        "no_user_agent",
        "headless",
        "crawler",
        "no_accept_language",
        "datacenter_asn",
        "burst_same_net",
        "impossible_start",
    )
    assert set(quality.__all__) >= {"Verdict", "assess_click", "assess_start"}


FIELDS = st.sampled_from(["user_agent", "accept_language", "ip", "ip_anon", "visitor", "tenant_id", "geo", "token"])


@given(
    click=st.dictionaries(FIELDS | st.text(max_size=20), st.text(max_size=600)),
    same_net_clicks=st.integers(min_value=-(2**40), max_value=2**40),
    datacenter=st.none() | st.booleans(),
)
def test_any_mapping_of_strings_gets_a_verdict(
    click: dict[str, str], same_net_clicks: int, datacenter: bool | None
) -> None:
    network = (
        None if datacenter is None else NetworkInfo(asn=1, org="x", country=None, region=None, datacenter=datacenter)
    )
    verdict = assess_click(click, network, same_net_clicks=same_net_clicks)
    assert verdict.suspect == bool(verdict.reasons)
    assert set(verdict.reasons) <= set(REASONS) - {"impossible_start"}
    assert list(verdict.reasons) == sorted(verdict.reasons, key=REASONS.index)
    assert ("datacenter_asn" in verdict.reasons) is bool(datacenter)
    assert ("burst_same_net" in verdict.reasons) is (same_net_clicks >= BURST_SAME_NET)


# The click item's attributes that hold strings (the maps, ci, u, ad and g, are the redirect's own).
STRING_ATTRIBUTES = ["pk", "sk", "tenant_id", "l", "b", "ua", "al", "ip", "ih", "rf", "fbp", "fbc"]


@given(item=st.dictionaries(st.sampled_from(STRING_ATTRIBUTES), st.text(max_size=600)))
def test_any_stored_strings_read_back_get_a_verdict(item: dict[str, str]) -> None:
    """Whatever strings a click item holds, the consumer's path (click_fields, the database) judges it."""
    click = click_fields(item, visitor=True)
    verdict = judge(click)
    assert verdict.suspect == bool(verdict.reasons)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers())
def test_assess_start_never_raises(seconds: float) -> None:
    assert assess_start(seconds) == (("impossible_start",) if math.isfinite(seconds) and seconds < 1.0 else ())
