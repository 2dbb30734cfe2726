"""The bridge page between the ad and Telegram (docs/architecture.md §2.2).

It fires the Meta Pixel PageView with eventID ``pv_<token>``, then opens the chosen bot. The Pixel
adopts the ``_fbp`` (and ``_fbc``) cookies the redirect set with this page, so the server PageView
(same event id, sent from the stored click through the table's stream) carries the browser's fbp
without the page sending anything to us. Every visitor gets the same page (no cloaking). Nothing
from the query string is reflected; what is (bot username, token, pixel id) is escaped for its
context anyway.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote

from funil import pages

PIXEL_SCRIPT_URL = "https://connect.facebook.net/en_US/fbevents.js"

# Loads the Pixel and fires its PageView, then opens Telegram once: 300 ms after the Pixel script
# loaded (its request goes out), at once when it is blocked, and after 1.5 s whatever happens. The
# button follows its own href.
_SCRIPT = (
    "(function(){var c=JSON.parse(document.getElementById('funil-cfg').textContent),gone=false;"
    "function go(){if(gone)return;gone=true;location.href=c.open}"
    "!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?"
    "n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;"
    "n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;t.src=v;"
    "t.onload=function(){setTimeout(go,300)};t.onerror=go;"
    "s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window,document,'script',c.pixelScript);"
    "fbq('init',c.pixel);fbq('track','PageView',{},{eventID:c.eventId});setTimeout(go,1500)})();"
)


@dataclass(frozen=True, slots=True)
class TelegramLinks:
    web: str  # https://t.me/<bot>?start=<token>: works everywhere, the no-JS fallback
    app: str  # tg://resolve?domain=<bot>&start=<token>: opens the app straight from in-app browsers


def telegram_links(bot_username: str, token: str) -> TelegramLinks:
    bot = quote(bot_username, safe="")
    start = quote(token, safe="")
    return TelegramLinks(web=f"https://t.me/{bot}?start={start}", app=f"tg://resolve?domain={bot}&start={start}")


def content_security_policy(nonce: str) -> str:
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}' https://connect.facebook.net; "
        f"style-src 'nonce-{nonce}'; img-src https://www.facebook.com; "
        "connect-src https://www.facebook.com https://connect.facebook.net; "
        "frame-src https://www.facebook.com; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def render(
    *,
    bot_username: str,
    token: str,
    meta_pixel_id: str,
    in_app: bool,
    accept_language: str | None,
    nonce: str,
) -> str:
    """The page's HTML. ``nonce`` must be fresh per response and match the CSP header."""
    links = telegram_links(bot_username, token)
    primary = links.app if in_app else links.web
    text = pages.texts(accept_language)
    config = {
        "token": token,
        "pixel": meta_pixel_id,
        "eventId": f"pv_{token}",
        "open": primary,
        "pixelScript": PIXEL_SCRIPT_URL,
    }
    lang = pages.language(accept_language)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
        '<meta name="referrer" content="strict-origin-when-cross-origin">'
        f"<title>{html.escape(text['open_title'])}</title>"
        f'<style nonce="{nonce}">{pages.STYLE}</style>'
        f'<noscript><meta http-equiv="refresh" content="0;url={html.escape(links.web, quote=True)}"></noscript>'
        f"</head><body><main><h1>{html.escape(text['open_title'])}</h1>"
        f'<a class="b" id="funil-go" href="{html.escape(primary, quote=True)}">{html.escape(text["open_button"])}</a>'
        f"<p>{html.escape(text['open_hint'])}</p></main>"
        f'<script type="application/json" id="funil-cfg">{pages.script_json(config)}</script>'
        f'<script nonce="{nonce}">{_SCRIPT}</script></body></html>'
    )
