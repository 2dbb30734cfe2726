"""Capturing an ad click: what the redirect stores for every human visit.

Pure: takes the request's raw values, the link route, the chosen bot, the time and the token, and
returns the DynamoDB item (plain Python values). Every value from outside is bounded and checked
here; oversized or malformed ones are truncated or dropped, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from funil import clock, meta_cookies
from funil.click import privacy
from funil.click.links import BotTarget, LinkRoute
from funil.click.useragent import Visitor

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
MAX_UTM_PARAMS = 16
MAX_PARAM_NAME = 64
MAX_VALUE = 256
MAX_CLICK_ID = 512
MAX_HEADER_VALUE = 512
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
        elif name.startswith("utm_") and name not in utm and len(utm) < MAX_UTM_PARAMS:
            value = clean(raw_value)
            if value and re.fullmatch(r"utm_[a-z0-9_]{1,59}", name):
                utm[name] = value
        elif name in AD_PARAMS and AD_PARAMS[name] not in ad:
            value = clean(raw_value)
            if value:
                ad[AD_PARAMS[name]] = value
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


def build_click_item(
    request: ClickRequest,
    *,
    route: LinkRoute,
    bot: BotTarget,
    visitor: Visitor,
    token: str,
    now: datetime,
    ip_hash_secret: bytes,
    trusted_proxy_hops: int,
    ttl_margin_days: int,
) -> dict[str, Any]:
    """The click item as stored: one durable record of this visit (docs/architecture.md §2.1)."""
    click_ids, utm, ad = _campaign_params(request.query)
    now_ms = clock.to_epoch_ms(now)
    fbc, fbc_source = meta_cookies.choose_fbc(request.cookies.get("_fbc"), click_ids.get("fbclid"), now_ms)
    headers = request.headers
    ip = privacy.client_ip(request.source_ip, headers.get("x-forwarded-for"), trusted_proxy_hops)
    window_ends = attribution_expiry(now, route)
    item: dict[str, Any] = {
        "pk": f"CLICK#{token}",
        "sk": "CLICK",
        "type": "click",
        "token": token,
        "tenant_id": route.tenant_id,
        "link_slug": route.slug,
        "bot_id": bot.bot_id,
        "bot_username": bot.username,
        "pixel_id": route.pixel.pixel_id if route.pixel else None,
        "clicked_at": clock.iso(now),
        "clicked_at_ms": now_ms,
        "attribution_ends_at": clock.iso(window_ends),
        # TTL only tidies up: readers compare attribution_ends_at/expires_at themselves.
        "expires_at": clock.to_epoch_s(window_ends + timedelta(days=ttl_margin_days)),
        "click_ids": click_ids,
        "utm": utm,
        "ad": ad,
        "fbc": fbc,
        "fbc_source": fbc_source,
        "fbp": meta_cookies.valid_fbp(request.cookies.get("_fbp")),
        "ip": ip,
        "ip_hmac": privacy.ip_hmac(ip, ip_hash_secret) if ip else None,
        "ip_anon": privacy.anonymised_ip(ip) if ip else None,
        "user_agent": clean(headers.get("user-agent"), MAX_HEADER_VALUE),
        "accept_language": clean(headers.get("accept-language"), 128),
        "referer": clean(headers.get("referer"), MAX_HEADER_VALUE),
        "geo": _geo(headers),
        "visitor": visitor.as_item(),
    }
    return {key: value for key, value in item.items() if value not in (None, {}, "")}
