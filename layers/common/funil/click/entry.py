"""``GET /go/{slug}``: record the click and answer with the bridge page (docs/architecture.md §2.1–2.2).

Exactly one DynamoDB write and no other network call before responding (link routes are cached).
The answer sets Meta's first-party cookies as its parameter builder does (``funil.meta_cookies``):
an ``_fbp`` when the visitor has none, so the stored click carries the fbp the page's Pixel adopts,
and the ``_fbc`` built from this click's fbclid. The server PageView follows from the stored click
through the table's stream (``funil.click.stream``), off the visitor's request.

On a seller's own domain (``funil.domains.serving``, docs/domains.md) only that tenant's links are
served (another's slug is the same 404 as an unknown one); the cookies go on the domain's
registrable parent and the click keeps the host; a flagged domain sends the visitor (302) to the same
link on the tenant's spare domain, where the click is recorded.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from funil import clock, http, ids, meta_cookies, pages
from funil.adapters.secrets_manager import secret_bytes
from funil.click import bridge, rotation, useragent
from funil.click.capture import ClickRequest, build_click_item
from funil.click.links import is_slug
from funil.click.storage import Clicks, Links
from funil.config import Settings
from funil.domains.hosts import request_host
from funil.observability import count

if TYPE_CHECKING:
    from funil.domains.serving import Site, Sites

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClickDeps:
    links: Links
    clicks: Clicks
    settings: Settings
    now: Callable[[], datetime]
    new_token: Callable[[], str] = ids.new_click_token
    draw: Callable[[], float] = random.random
    new_fbp_payload: Callable[[], int] = meta_cookies.new_fbp_payload
    ip_hash_key: Callable[[str], bytes] = secret_bytes  # secret ARN → key, read on first use and cached
    sites: Sites | None = None  # the sellers' own domains by host (None: every host is ours)


def _message(status: int, title_key: str, body_key: str, accept_language: str | None) -> http.Response:
    text = pages.texts(accept_language)
    page, nonce = pages.message_page(text[title_key], text[body_key], pages.language(accept_language))
    return http.html_response(status, page, {"content-security-policy": pages.message_csp(nonce)})


def _ip_hash_key(deps: ClickDeps) -> bytes | None:
    """The key of the click's IP HMAC, or None (the click is stored without it) when it cannot be read."""
    try:
        return deps.ip_hash_key(deps.settings.ip_hash_secret_arn)
    except Exception:
        # Only the HMAC (analytics) is lost: the click and the visitor's way to the bot matter more.
        log.exception("IP hash key unavailable; click stored without its IP HMAC")
        count("IpHashKeyUnavailable")
        return None


def _site(event: http.Event, deps: ClickDeps) -> Site | None:
    """The seller's domain the request came through, or None for the deployment's own host."""
    if deps.sites is None:
        return None
    context = event.get("requestContext") or {}
    raw = context.get("domainName") if isinstance(context, dict) else None
    return deps.sites.site(request_host(raw or http.header(event, "host")))


def _on_spare(event: http.Event, spare: str, slug: str) -> str:
    """The same link, query included, on the spare domain (the port kept: the local stack has one)."""
    scheme = http.header(event, "x-forwarded-proto")
    _, sep, port = (http.header(event, "host") or "").rpartition(":")
    origin = f"{scheme if scheme in ('http', 'https') else 'https'}://{spare}"
    if sep and port.isdigit() and port not in ("80", "443"):
        origin += f":{port}"
    query = urlencode(http.query_pairs(event))
    return f"{origin}/go/{quote(slug, safe='')}" + (f"?{query}" if query else "")


def serve_click(event: http.Event, deps: ClickDeps) -> http.Response:
    slug = (http.path_parameter(event, "slug") or "").lower()
    accept_language = http.header(event, "accept-language")
    site = _site(event, deps)
    route = deps.links.route(slug) if is_slug(slug) else None
    if site is not None and route is not None and (route.tenant_id != site.tenant_id or not site.serves):
        if route.tenant_id == site.tenant_id and site.spare:
            return http.redirect_response(_on_spare(event, site.spare, slug))
        route = None  # another tenant's link, or a domain not serving: the same answer as no link
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
    cookies: list[str] = []
    if visitor.is_bot:
        # Bots, crawlers and link previews get the very same page but are neither stored nor counted
        # as clicks; they get no cookies either (nothing of theirs is stored for a Pixel to match).
        count("CrawlerVisits")
    else:
        now = deps.now()
        cookie_domain = site.cookie_domain if site is not None else None
        jar = http.cookies(event)
        fbp = meta_cookies.valid_fbp(jar.get(meta_cookies.FBP_COOKIE))
        if fbp is None:  # none, or not one Meta's Pixel would keep: mint it as the parameter builder does
            fbp = meta_cookies.new_fbp(clock.to_epoch_ms(now), deps.new_fbp_payload())
            cookies.append(meta_cookies.set_cookie(meta_cookies.FBP_COOKIE, fbp, cookie_domain))
        request = ClickRequest(
            query=http.query_pairs(event),
            cookies=jar,
            headers={key.lower(): value for key, value in (event.get("headers") or {}).items()},
            source_ip=http.source_ip(event),
        )
        captured = build_click_item(
            request,
            route=route,
            bot=bot,
            token=token,
            now=now,
            fbp=fbp,
            ip_hash_secret=_ip_hash_key(deps),
            trusted_proxy_hops=deps.settings.trusted_proxy_hops,
            ttl_margin_days=deps.settings.click_ttl_margin_days,
            host=site.host if site is not None else None,
        )
        if captured.fbc_built and captured.fbc:
            cookies.append(meta_cookies.set_cookie(meta_cookies.FBC_COOKIE, captured.fbc, cookie_domain))
        try:
            # Counted by the click stream (ClicksStored, per batch): no metrics line per stored click.
            deps.clicks.add(captured.item)
        except Exception:
            # The visitor still reaches the bot (as an organic lead): losing one attribution beats
            # losing the sale. The error is logged, counted and alarmed on (ClicksNotStoredAlarm).
            log.exception("click not stored for link %s", slug)
            count("ClicksNotStored")

    links = bridge.telegram_links(bot.username, token)
    if route.pixel is None:
        return http.redirect_response(links.web, cookies=cookies)
    nonce = pages.new_nonce()
    page = bridge.render(
        bot_username=bot.username,
        token=token,
        meta_pixel_id=route.pixel.meta_pixel_id,
        in_app=visitor.in_app is not None,
        accept_language=accept_language,
        nonce=nonce,
    )
    csp = {"content-security-policy": bridge.content_security_policy(nonce)}
    return http.gzipped(http.html_response(200, page, csp, cookies), event)
