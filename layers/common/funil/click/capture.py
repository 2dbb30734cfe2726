"""Capturing an ad click: what the redirect stores for every human visit, and how readers see it.

Pure: takes the request's raw values, the link route, the chosen bot, the time, the token and the
visitor's ``_fbp``, and returns the DynamoDB item (plain Python values). Every value from outside is
bounded and checked here; oversized or malformed ones are truncated or dropped, never an error.

The stored item is compact (docs/data-model.md, "Click"): short attribute names, and nothing that can
be derived (the token is in ``pk``, the fbc built from the fbclid, the window's end, the anonymised
IP, the parsed User-Agent), so that the 99th percentile of real clicks is one write unit (≤ 1 KB,
docs/architecture.md §8). ``funil.click.fields`` reads it back for the rest of Funil; it lives apart so
the redirect, which only writes clicks, never loads it (cold start, docs/architecture.md §8).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from funil import clock, keys, meta_cookies
from funil.click import privacy
from funil.click.links import BotTarget, LinkRoute

# Click ids of the ad networks our users buy from. Meta's fbclid builds fbc; the others are kept
# for attribution reports and future connectors.
CLICK_ID_PARAMS = (
    "fbclid", "gclid", "gbraid", "wbraid", "ttclid", "kwai_click_id", "ksclid", "msclkid", "twclid",
    "sccid", "li_fat_id",
)  # fmt: skip
# Ad ids and names passed through Meta's URL macros ({{campaign.id}}, {{adset.name}}, …) under the
# names the Ads Manager's URL parameters builder suggests, plus common aliases.
AD_PARAMS = {
    "campaign_id": "campaign_id", "adset_id": "adset_id", "ad_id": "ad_id",
    "campaign_name": "campaign_name", "adset_name": "adset_name", "ad_name": "ad_name",
    "placement": "placement", "site_source_name": "site_source_name",
    "fb_campaign_id": "campaign_id", "fb_adset_id": "adset_id", "fb_ad_id": "ad_id",
    "campaignid": "campaign_id", "adsetid": "adset_id", "adid": "ad_id",
}  # fmt: skip
# The ad fields' names inside the stored item's ``ad`` map (docs/data-model.md).
AD_SHORT = {
    "campaign_id": "c", "adset_id": "s", "ad_id": "a", "campaign_name": "cn", "adset_name": "sn",
    "ad_name": "an", "placement": "p", "site_source_name": "ss",
}  # fmt: skip
AD_LONG = {short: name for name, short in AD_SHORT.items()}
_AD_PARAM_SHORT = {param: AD_SHORT[name] for param, name in AD_PARAMS.items()}
UTM_PREFIX = "utm_"
MAX_UTM_PARAMS = 16
MAX_PARAM_NAME = 64
MAX_VALUE = 256
MAX_CLICK_ID = 512
MAX_HEADER_VALUE = 512
# Geo fields keep their names inside the stored item's ``g`` map.
GEO_HEADERS = {
    "cloudfront-viewer-country": "country",
    "cloudfront-viewer-country-region": "region",
    "cloudfront-viewer-city": "city",
    "cloudfront-viewer-postal-code": "postal_code",
    "cloudfront-viewer-latitude": "latitude",
    "cloudfront-viewer-longitude": "longitude",
    "cloudfront-viewer-time-zone": "time_zone",
    "cloudfront-viewer-asn": "asn",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNFILLED_MACRO = re.compile(r"^\{\{.*\}\}$")
_UTM_NAME = re.compile(r"utm_[a-z0-9_]{1,59}")


@dataclass(frozen=True, slots=True)
class ClickRequest:
    """The parts of an HTTP request a click is made of."""

    query: list[tuple[str, str]]
    cookies: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)  # lowercase names
    source_ip: str | None = None


def clean(value: str | None, limit: int = MAX_VALUE) -> str | None:
    """A value without control characters, cut to ``limit``; None when nothing is left."""
    if not value:
        return None
    text = _CONTROL.sub("", value).strip()[:limit]
    return text or None


def _campaign_params(
    query: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    click_ids: dict[str, str] = {}
    utm: dict[str, str] = {}
    ad: dict[str, str] = {}
    for raw_name, raw_value in query:
        name = raw_name.strip().lower()[:MAX_PARAM_NAME]
        if _UNFILLED_MACRO.match(raw_value.strip()):
            continue
        if name in CLICK_ID_PARAMS and name not in click_ids:
            value = clean(raw_value, MAX_CLICK_ID)
            if value:
                click_ids[name] = value
        elif name.startswith(UTM_PREFIX) and name[4:] not in utm and len(utm) < MAX_UTM_PARAMS:
            value = clean(raw_value)
            if value and _UTM_NAME.fullmatch(name):
                utm[name[4:]] = value  # stored without its prefix
        elif name in _AD_PARAM_SHORT and _AD_PARAM_SHORT[name] not in ad:
            value = clean(raw_value)
            if value:
                ad[_AD_PARAM_SHORT[name]] = value
    return click_ids, utm, ad


def _geo(headers: dict[str, str]) -> dict[str, str]:
    geo = {}
    for header_name, key in GEO_HEADERS.items():
        value = clean(headers.get(header_name), 64)
        if value:
            geo[key] = value
    return geo


def attribution_expiry(clicked_at: datetime, route: LinkRoute) -> datetime:
    """When this click stops attributing leads: the link's window after the click."""
    return clicked_at + timedelta(days=route.attribution_window_days)


@dataclass(frozen=True, slots=True)
class CapturedClick:
    item: dict[str, Any]  # the click as stored
    fbc: str | None  # the click's fbc, whatever its source
    fbc_built: bool  # built here from this click's fbclid: the redirect sets it as the ``_fbc`` cookie


def build_click_item(
    request: ClickRequest,
    *,
    route: LinkRoute,
    bot: BotTarget,
    token: str,
    now: datetime,
    fbp: str,
    ip_hash_secret: bytes | None,
    trusted_proxy_hops: int,
    ttl_margin_days: int,
    host: str | None = None,
) -> CapturedClick:
    """The click item as stored: one durable record of this visit (docs/architecture.md §2.1).

    ``fbp`` is the visitor's ``_fbp``: their cookie, or the one the redirect mints and sets.
    ``ip_hash_secret`` None (the key could not be read): the click is stored without its IP's HMAC.
    ``host``: the seller's own domain the click came through (docs/domains.md); None on ours.
    """
    click_ids, utm, ad = _campaign_params(request.query)
    now_ms = clock.to_epoch_ms(now)
    fbc, fbc_source = meta_cookies.choose_fbc(request.cookies.get("_fbc"), click_ids.get("fbclid"), now_ms)
    headers = request.headers
    ip = privacy.client_ip(request.source_ip, headers.get("x-forwarded-for"), trusted_proxy_hops)
    window_ends = attribution_expiry(now, route)
    pk, sk = keys.click(token)
    item: dict[str, Any] = {
        "pk": pk,
        "sk": sk,
        "type": "click",
        "tenant_id": route.tenant_id,
        # TTL only tidies up: readers compare the window's end (t + w) and expires_at themselves.
        "expires_at": clock.to_epoch_s(window_ends + timedelta(days=ttl_margin_days)),
        "l": route.slug,
        "b": bot.bot_id,
        "px": route.pixel.pixel_id if route.pixel else None,
        "t": now_ms,
        "w": route.attribution_window_days,
        "ci": click_ids,
        "u": utm,
        "ad": ad,
        # An fbc built from the fbclid is derived again by readers (fb.1.<t>.<fbclid>): stored only
        # when it is the visitor's own cookie.
        "fbc": fbc if fbc_source == "cookie" else None,
        "fbp": fbp,
        "ip": ip,
        "ih": privacy.ip_hmac(ip, ip_hash_secret) if ip and ip_hash_secret else None,
        "ua": clean(headers.get("user-agent"), MAX_HEADER_VALUE),
        "al": clean(headers.get("accept-language"), 128),
        "rf": clean(headers.get("referer"), MAX_HEADER_VALUE),
        "g": _geo(headers),
        "h": host,
    }
    stored = {key: value for key, value in item.items() if value not in (None, {}, "")}
    return CapturedClick(stored, fbc, fbc_source == "fbclid")
