"""What a click, a lead or a sale is counted under: the dimensions, named as the stats API takes them.

A click's dimensions come from its stored item; a lead's and a sale's from the attribution snapshot
the bot copied from their click (``funil.bot.leads.ATTRIBUTION_FIELDS``), so a sale counts under the
campaign, ad and device of the click that brought it, even after that click has expired. Values are
bounded (utm values may be 256 characters) and an absent value is the empty string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The order is the cube's column order (funil.analytics.cube): append only, never reorder.
DIMENSIONS = (
    "link", "bot", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
    "campaign_id", "campaign", "adset_id", "adset", "ad_id", "ad", "placement",
    "device", "os", "browser", "in_app", "country", "region", "quality",
)  # fmt: skip
INDEX = {name: position for position, name in enumerate(DIMENSIONS)}
MAX_VALUE = 100
NONE = ""  # no value (an organic lead has no campaign)

# The click's ``ad`` map (URL macros, funil.click.capture) under the dimensions' names.
AD_DIMENSIONS = {
    "campaign_id": "campaign_id", "campaign_name": "campaign", "adset_id": "adset_id",
    "adset_name": "adset", "ad_id": "ad_id", "ad_name": "ad", "placement": "placement",
}  # fmt: skip
VISITOR_DIMENSIONS = ("device", "os", "browser", "in_app")
UTM_DIMENSIONS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")

Key = tuple[str, ...]


def _bounded(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return NONE
    return str(value).strip()[:MAX_VALUE]


def _mapping(source: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = source.get(name)
    return value if isinstance(value, Mapping) else {}


def key_of(values: Mapping[str, Any]) -> Key:
    return tuple(_bounded(values.get(name)) for name in DIMENSIONS)


def attributed(
    source: Mapping[str, Any],
    *,
    bot_id: str | None,
    network: Mapping[str, Any] | None = None,
    quality: str = NONE,
) -> Key:
    """The dimensions of a click's fields, or of the attribution snapshot a lead or payment carries
    (both use ``funil.click.fields.click_fields``' names: ``link_slug``, ``utm``, ``ad``, ``visitor``).

    ``network`` is what the IP database knows of the visitor's network (``country``, ``region``);
    without it the CloudFront viewer headers a click may carry (``geo``) are used.
    """
    utm, ad, visitor = _mapping(source, "utm"), _mapping(source, "ad"), _mapping(source, "visitor")
    geo = network or _mapping(source, "geo")
    values: dict[str, Any] = {"link": source.get("link_slug"), "bot": bot_id, "quality": quality}
    values.update({name: utm.get(name) for name in UTM_DIMENSIONS})
    values.update({dimension: ad.get(field) for field, dimension in AD_DIMENSIONS.items()})
    values.update({name: visitor.get(name) for name in VISITOR_DIMENSIONS})
    values.update({"country": geo.get("country"), "region": geo.get("region")})
    return key_of(values)


def matches(key: Key, filters: Mapping[str, str]) -> bool:
    return all(key[INDEX[name]] == value for name, value in filters.items())
