"""``GET /go/{slug}``: record the click and answer with the bridge page (docs/architecture.md §2.1–2.2).

Exactly one DynamoDB write and no other network call before responding (link routes are cached).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from funil import http, ids, pages
from funil.click import bridge, rotation, useragent
from funil.click.capture import ClickRequest, build_click_item
from funil.click.links import is_slug
from funil.click.storage import Clicks, Links
from funil.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClickDeps:
    links: Links
    clicks: Clicks
    settings: Settings
    now: Callable[[], datetime]
    new_token: Callable[[], str] = ids.new_click_token
    draw: Callable[[], float] = random.random


def _message(status: int, title_key: str, body_key: str, accept_language: str | None) -> http.Response:
    text = pages.texts(accept_language)
    page, nonce = pages.message_page(text[title_key], text[body_key], pages.language(accept_language))
    return http.html_response(status, page, {"content-security-policy": pages.message_csp(nonce)})


def serve_click(event: http.Event, deps: ClickDeps) -> http.Response:
    slug = (http.path_parameter(event, "slug") or "").lower()
    accept_language = http.header(event, "accept-language")
    route = deps.links.route(slug) if is_slug(slug) else None
    if route is None or not route.enabled:
        return _message(404, "not_found_title", "not_found_body", accept_language)
    bot = rotation.choose_weighted(route.targets, deps.draw)
    if bot is None:
        log.warning("link %s has no healthy bot", slug)
        unavailable = _message(503, "unavailable_title", "unavailable_body", accept_language)
        unavailable["headers"]["retry-after"] = "30"
        return unavailable

    visitor = useragent.classify(http.header(event, "user-agent"))
    token = deps.new_token()
    if not visitor.is_bot:
        # Bots, crawlers and link previews get the very same page but are neither stored nor counted.
        now = deps.now()
        request = ClickRequest(
            query=http.query_pairs(event),
            cookies=http.cookies(event),
            headers={key.lower(): value for key, value in (event.get("headers") or {}).items()},
            source_ip=http.source_ip(event),
        )
        item = build_click_item(
            request,
            route=route,
            bot=bot,
            visitor=visitor,
            token=token,
            now=now,
            ip_hash_secret=deps.settings.ip_hash_secret,
            trusted_proxy_hops=deps.settings.trusted_proxy_hops,
            ttl_margin_days=deps.settings.click_ttl_margin_days,
        )
        try:
            deps.clicks.add(item)
        except Exception:
            # The visitor still reaches the bot (as an organic lead): losing one attribution beats
            # losing the sale. The error is logged and alarmed on.
            log.exception("click not stored for link %s", slug)

    links = bridge.telegram_links(bot.username, token)
    if route.pixel is None:
        return http.redirect_response(links.web)
    nonce = pages.new_nonce()
    page = bridge.render(
        bot_username=bot.username,
        token=token,
        meta_pixel_id=route.pixel.meta_pixel_id,
        beacon_path=f"/go/{slug}/c",
        in_app=visitor.in_app is not None,
        accept_language=accept_language,
        nonce=nonce,
    )
    return http.html_response(200, page, {"content-security-policy": bridge.content_security_policy(nonce)})
