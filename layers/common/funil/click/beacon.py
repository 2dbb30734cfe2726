"""``POST /go/{slug}/c``: the bridge page's beacon with the browser's Meta cookies.

Fills the click's missing ``_fbp``/``_fbc`` and, when the link's pixel wants PageView, enqueues the
one server PageView of the click (event id ``pv_<token>``, the browser Pixel's eventID).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from funil import clock, http, ids, messages, meta_cookies
from funil.adapters.sqs import Queue
from funil.click.links import is_slug
from funil.click.storage import Clicks, Links

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BeaconDeps:
    links: Links
    clicks: Clicks
    conversions: Queue
    now: Callable[[], datetime]


class BadBeacon(ValueError):
    """The body is not a beacon; the message is safe to show the client."""


def parse_beacon(event: http.Event) -> tuple[str, str | None, str | None]:
    """(token, fbp, fbc) from the body. A present but malformed cookie value is an error."""
    try:
        body: Any = http.json_body(event)
    except ValueError as error:
        raise BadBeacon("body must be a JSON object") from error
    if not isinstance(body, dict):
        raise BadBeacon("body must be a JSON object")
    unknown = set(body) - {"token", "fbp", "fbc"}
    if unknown:
        raise BadBeacon(f"unknown fields: {', '.join(sorted(unknown))[:100]}")
    token = body.get("token")
    if not ids.is_click_token(token):
        raise BadBeacon("token must be 22 characters of A-Za-z0-9_-")
    fbp, fbc = body.get("fbp"), body.get("fbc")
    if fbp is not None and not meta_cookies.valid_fbp(fbp):
        raise BadBeacon("fbp is not a _fbp cookie value")
    if fbc is not None and not meta_cookies.valid_fbc(fbc):
        raise BadBeacon("fbc is not a _fbc cookie value")
    return str(token), fbp, fbc


def accept_beacon(event: http.Event, deps: BeaconDeps) -> http.Response:
    slug = (http.path_parameter(event, "slug") or "").lower()
    if not is_slug(slug):
        return http.json_response(404, {"error": "unknown link"})
    try:
        token, fbp, fbc = parse_beacon(event)
    except BadBeacon as error:
        return http.json_response(400, {"error": str(error)})
    route = deps.links.route(slug)
    if route is None:
        return http.json_response(404, {"error": "unknown link"})
    wants_page_view = route.pixel is not None and route.pixel.page_view
    now = deps.now()
    now_iso = clock.iso(now)
    before = deps.clicks.record_beacon(
        token,
        slug,
        fbp=fbp,
        fbc=fbc,
        claim_pageview=wants_page_view,
        now_iso=now_iso,
        now_epoch=clock.to_epoch_s(now),
    )
    if before is None:
        return http.json_response(404, {"error": "unknown or expired click"})
    if wants_page_view and "pageview_claimed_at" not in before and route.pixel is not None:
        message = messages.page_view(
            token, before["tenant_id"], route.pixel.pixel_id, clock.parse_iso(before["clicked_at"])
        )
        try:
            deps.conversions.send(message.model_dump_json(), {"kind": message.kind.value})
        except Exception:
            deps.clicks.release_pageview_claim(token, now_iso)
            log.exception("server PageView not enqueued for click %s; claim released", token)
            return http.json_response(503, {"error": "try again"})
    return http.response(204)
