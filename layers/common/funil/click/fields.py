"""A stored click as the rest of Funil reads it: the compact item (docs/data-model.md) under long names.

The redirect stores the click compact (``funil.click.capture``: short attribute names, nothing that
can be derived). Readers (the bot, the conversions sender, the click stream) get it through
:func:`click_fields`, under the names of a lead's and a payment's ``attribution``, with the derived
values filled in. Apart from ``capture`` so that the redirect never loads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from funil import clock, keys, meta_cookies
from funil.click import privacy
from funil.click.capture import AD_LONG, AD_SHORT, UTM_PREFIX

_CLICK_PREFIX = keys.click("")[0]
# The visitor's raw request data: kept on the click alone (it expires with the attribution window),
# never copied onto leads or payments; the conversions sender reads it from the click while it lives.
PERSONAL_FIELDS = ("ip", "user_agent", "accept_language", "referer", "geo")


def _from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def click_fields(item: Mapping[str, Any], *, visitor: bool = False) -> dict[str, Any]:
    """The stored click under the names Funil reads and copies onto leads and payments (``attribution``).

    ``token``, ``clicked_at``/``clicked_at_ms``, ``attribution_ends_at``, an fbc built from the fbclid
    (``fbc_source`` ``fbclid``; ``cookie`` when the visitor had it), ``ip_anon`` and, with ``visitor``,
    the parsed User-Agent are derived from what is stored. Missing or malformed values are left out.
    """
    pk = str(item.get("pk") or "")
    ms = _number(item.get("t"))
    window = _number(item.get("w"))
    click_ids = dict(item.get("ci") or {})
    fields: dict[str, Any] = {
        "pk": pk,
        "sk": item.get("sk"),
        "type": item.get("type"),
        "token": pk[len(_CLICK_PREFIX) :] if pk.startswith(_CLICK_PREFIX) else None,
        "tenant_id": item.get("tenant_id"),
        "link_slug": item.get("l"),
        "bot_id": item.get("b"),
        "pixel_id": item.get("px"),
        "expires_at": item.get("expires_at"),
        "click_ids": click_ids,
        "utm": {UTM_PREFIX + name: value for name, value in (item.get("u") or {}).items()},
        "ad": {AD_LONG[name]: value for name, value in (item.get("ad") or {}).items() if name in AD_LONG},
        "fbp": item.get("fbp"),
        "ip": item.get("ip"),
        "ip_hmac": item.get("ih"),
        "user_agent": item.get("ua"),
        "accept_language": item.get("al"),
        "referer": item.get("rf"),
        "geo": dict(item.get("g") or {}),
        "host": item.get("h"),
    }
    if ms is not None:
        clicked_at = _from_epoch_ms(ms)
        fields["clicked_at"] = clock.iso(clicked_at)
        fields["clicked_at_ms"] = ms
        if window is not None:
            fields["attribution_ends_at"] = clock.iso(clicked_at + timedelta(days=window))
    if item.get("fbc"):
        fields["fbc"], fields["fbc_source"] = item["fbc"], "cookie"
    elif ms is not None and isinstance(click_ids.get("fbclid"), str):
        built = meta_cookies.fbc_from_fbclid(click_ids["fbclid"], ms)
        if built:
            fields["fbc"], fields["fbc_source"] = built, "fbclid"
    ip = fields["ip"]
    if isinstance(ip, str) and ip:
        with contextlib.suppress(ValueError):  # not an address: no network either
            fields["ip_anon"] = privacy.anonymised_ip(ip)
    if visitor and isinstance(fields["user_agent"], str):
        from funil.click import useragent  # the bot check's pattern list: only readers that want it

        fields["visitor"] = useragent.classify(fields["user_agent"]).as_item()
    return {name: value for name, value in fields.items() if value not in (None, "", {})}


def click_item_from_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The stored item for a click given under :func:`click_fields`' names (fixtures, tests, the seed).

    The inverse of :func:`click_fields`: what that function derives is dropped, except an fbc that
    is not the one the fbclid builds (it is kept, as a cookie's).
    """
    clicked_at = fields.get("clicked_at")
    ms = _number(fields.get("clicked_at_ms"))
    if isinstance(clicked_at, str):  # what click_fields will show again, to the millisecond
        moment = clock.parse_iso(clicked_at)
        ms = clock.to_epoch_s(moment) * 1000 + moment.microsecond // 1000
    window = None
    ends = fields.get("attribution_ends_at")
    if ms is not None and isinstance(ends, str):
        window = round((clock.parse_iso(ends) - _from_epoch_ms(ms)) / timedelta(days=1))
    click_ids = dict(fields.get("click_ids") or {})
    fbc = fields.get("fbc")
    fbclid = click_ids.get("fbclid")
    if fbc and ms is not None and isinstance(fbclid, str) and fbc == meta_cookies.fbc_from_fbclid(fbclid, ms):
        fbc = None
    token = fields.get("token")
    pk, sk = keys.click(str(token)) if token else (fields.get("pk"), fields.get("sk"))
    item: dict[str, Any] = {
        "pk": pk,
        "sk": sk,
        "type": fields.get("type") or "click",
        "tenant_id": fields.get("tenant_id"),
        "expires_at": fields.get("expires_at"),
        "l": fields.get("link_slug"),
        "b": fields.get("bot_id"),
        "px": fields.get("pixel_id"),
        "t": ms,
        "w": window,
        "ci": click_ids,
        "u": {name.removeprefix(UTM_PREFIX): value for name, value in (fields.get("utm") or {}).items()},
        "ad": {AD_SHORT[name]: value for name, value in (fields.get("ad") or {}).items() if name in AD_SHORT},
        "fbc": fbc,
        "fbp": fields.get("fbp"),
        "ip": fields.get("ip"),
        "ih": fields.get("ip_hmac"),
        "ua": fields.get("user_agent"),
        "al": fields.get("accept_language"),
        "rf": fields.get("referer"),
        "g": dict(fields.get("geo") or {}),
        "h": fields.get("host"),
    }
    return {name: value for name, value in item.items() if value not in (None, "", {})}
