"""The bridge page in a real browser (docs/architecture.md §2.2).

Headless Chromium (Debian's package) opens ``GET /go/demo`` on the local stack. Meta's Pixel script
and Telegram are stubs (see conftest.py); everything else is the product, in-process on moto: the
redirect (it stores the click and sets Meta's first-party cookies before it answers), the click-stream
consumer (ClickStreamFunction: the server PageView from the stored click, through the table's
stream, emulated by local/streams.py) and the page's inline script under its CSP nonce.

Chromium keeps the redirect's ``Secure`` cookies although the stack is plain ``http://127.0.0.1``:
127.0.0.1 is a potentially trustworthy origin, so the browser's cookies are checked as a visitor's
browser over HTTPS would keep them, besides the ``Set-Cookie`` headers the server sent.
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.e2e.conftest import (
    CHROMIUM,
    NO_CHROMIUM,
    PIXEL_URL,
    click_item,
    demo_bot_id,
    demo_bot_usernames,
    drain_click_stream,
    get_json,
    queue_counts,
    seed_data,
    stored_click,
)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
INSTAGRAM_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Instagram 325.0.0.23.88 (iPhone14,5; iOS 17_5; pt_BR; pt; scale=3.00; 1170x2532; 589548127)"
)
FACEBOOK_CRAWLER = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"

TOKEN = r"[A-Za-z0-9_-]{22}"
BOT = r"[A-Za-z0-9_]{5,32}"
WEB_LINK = re.compile(rf"https://t\.me/(?P<bot>{BOT})\?start=(?P<token>{TOKEN})")
APP_LINK = re.compile(rf"tg://resolve\?domain=(?P<bot>{BOT})&start=(?P<token>{TOKEN})")
FBCLID = "IwAR2xY_z-0123456789abcdefGHIJ"
MAX_PAGE_BYTES = 6 * 1024
MINTED_FBP = re.compile(r"fb\.1\.(?P<ms>\d{13})\.(?P<payload>\d{1,10})")
COOKIE_MAX_AGE_SECONDS = 90 * 24 * 3600
# Meta's first-party cookies as the redirect sets them: 90 days, the whole host, and no Domain
# attribute (host-only: the host that served the bridge page, whose Pixel reads them).
META_COOKIE_ATTRIBUTES = {f"max-age={COOKIE_MAX_AGE_SECONDS}", "path=/", "samesite=lax", "secure"}


class _Page(HTMLParser):
    """The bridge page's elements and attributes, as a browser's parser sees them (JS off)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], tuple[str, ...]]] = []  # (tag, attrs, ancestors)
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}, tuple(self._open)))
        if tag not in {"meta", "link", "br", "img", "input"}:
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def find(self, tag: str, **attrs: str) -> list[tuple[dict[str, str], tuple[str, ...]]]:
        return [
            (found, ancestors)
            for name, found, ancestors in self.elements
            if name == tag and all(found.get(key.replace("_", "-")) == value for key, value in attrs.items())
        ]


@pytest.fixture(scope="module", autouse=True)
def _conversions_stay_on_the_queue(stack: Any) -> None:
    """These tests check that a click's server PageView reaches Meta without the conversions queue, so
    nothing may take a message off it: the stack's queue consumers (capi_sender) are stopped for this
    module; they have their own tests.
    """
    stack.poller.stop()


def _meta_pixel_id(stack: Any) -> str:
    return str(seed_data(stack)["meta_pixel_id"])


def _expected_pixel_calls(stack: Any, token: str) -> list[list[Any]]:
    return [["init", _meta_pixel_id(stack)], ["track", "PageView", {}, {"eventID": f"pv_{token}"}]]


# Chromium lets a page open an external app without a user gesture only now and then, browser-wide
# (ExternalProtocolHandler); one headless browser serves every test here, so a later tg:// visit may
# log this. Real visitors have their own browser and the visible button is the gesture fallback.
_APP_LINK_THROTTLED = re.compile(r"^Not allowed to launch 'tg://resolve\?[^']*' because a user gesture is required\.$")


def _assert_clean_console(visit: Any) -> None:
    """Our inline script ran under its nonce: no CSP violation, no error of any kind."""
    assert visit.csp_violations == []
    assert visit.page_errors == []
    assert [text for text in visit.console_errors() if not _APP_LINK_THROTTLED.match(text)] == []


def _page_views_for(stack: Any, token: str) -> list[dict[str, Any]]:
    """The server PageViews of click ``token`` the fake Graph API received (after ``drain_click_stream``).

    ClickStreamFunction builds each from the stored click (its fbp, fbc, IP and User-Agent) and sends
    it straight to Meta; nothing goes through the conversions queue when Meta takes it.
    """
    received = get_json(stack, f"/_local/capi?token={token}")
    page_views = [event for event in received if event["event_name"] == "PageView"]
    for event in page_views:
        assert event["event_id"] == f"pv_{token}", event
        assert event["user_data"]["fbp"] == stored_click(stack, token)["fbp"], event
    return page_views


def _cookies_set(visit: Any) -> dict[str, str]:
    """The cookies the page's answer set (its Set-Cookie headers), by name; each as Meta's first-party cookie."""
    found: dict[str, str] = {}
    for header in visit.answer.set_cookies:
        pair, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = pair.partition("=")
        assert {attribute.lower() for attribute in attributes} == META_COOKIE_ATTRIBUTES, header
        found[name] = value
    return found


def _assert_first_party(cookie: dict[str, Any], set_at: float) -> None:
    """The browser kept a cookie of the redirect's as set: host-only on the stack's host, 90 days."""
    assert cookie["domain"] == "127.0.0.1", cookie  # host-only (a Domain attribute would show ".127…")
    assert cookie["path"] == "/", cookie
    assert cookie["secure"] is True and cookie["sameSite"] == "Lax" and cookie["httpOnly"] is False, cookie
    assert abs(cookie["expires"] - (set_at + COOKIE_MAX_AGE_SECONDS)) < 600, cookie


def _is_app_link(request: Any) -> bool:
    return str(request.url).startswith("tg:")


def _is_web_link(request: Any) -> bool:
    return str(request.url).startswith("https://t.me/")


def _normalised(html: str, *, token: str, bot: str) -> str:
    nonce = re.search(r"'nonce-([^']+)'|nonce=\"([^\"]+)\"", html)
    assert nonce is not None
    value = nonce.group(1) or nonce.group(2)
    return html.replace(token, "<TOKEN>").replace(value, "<NONCE>").replace(bot, "<BOT>")


def test_desktop_click_stores_the_click_sets_fbc_fires_pixel_and_opens_t_me(stack: Any, bridge: Any) -> None:
    fbp = "fb.1.1732200000000.1234567890"
    visit = bridge(DESKTOP_CHROME, cookies={"_fbp": fbp})
    drain_click_stream(stack)  # earlier clicks' PageViews are sent by now
    before = queue_counts(stack)

    opened_at = time.time()
    document = visit.open("/go/demo?" + urlencode({"fbclid": FBCLID, "utm_source": "facebook"}))
    assert document.status == 200
    opened = visit.wait_for_telegram()

    link = WEB_LINK.fullmatch(opened)
    assert link, opened
    bot, token = link["bot"], link["token"]
    assert bot in demo_bot_usernames(stack)
    assert visit.fbq_calls == _expected_pixel_calls(stack, token)

    click = stored_click(stack, token)
    assert click["bot_id"] == demo_bot_id(stack, bot)
    assert click["link_slug"] == "demo"
    assert click["fbp"] == fbp
    assert click["click_ids"] == {"fbclid": FBCLID}
    assert click["fbc"] == f"fb.1.{click['clicked_at_ms']}.{FBCLID}"
    assert click["utm"] == {"utm_source": "facebook"}
    assert click["visitor"]["device"] == "desktop"
    assert "in_app" not in click["visitor"]

    # The visitor's _fbp is kept, not set again; the _fbc built from this click's fbclid is set, and
    # the browser keeps it: the Pixel reads the very fbp and fbc the click holds.
    assert _cookies_set(visit) == {"_fbc": click["fbc"]}
    cookies = visit.cookies()
    assert cookies["_fbp"]["value"] == fbp
    assert cookies["_fbc"]["value"] == click["fbc"]
    _assert_first_party(cookies["_fbc"], opened_at)
    assert visit.pixel_cookies == [{"_fbp": fbp, "_fbc": click["fbc"]}]

    drain_click_stream(stack)
    assert [event["event_id"] for event in _page_views_for(stack, token)] == [f"pv_{token}"]
    assert queue_counts(stack)["visible"] == before["visible"]  # sent, not queued
    _assert_clean_console(visit)


def test_first_visit_gets_fbp_from_the_redirect_and_the_pixel_keeps_it(stack: Any, bridge: Any) -> None:
    # Had the Pixel found no _fbp, it would have set this one.
    pixel_fbp = "fb.1.1732200000123.987654321"
    visit = bridge(DESKTOP_CHROME, pixel_sets_fbp=pixel_fbp)

    opened_at = time.time()
    visit.open("/go/demo?utm_source=facebook")
    token = WEB_LINK.fullmatch(visit.wait_for_telegram())["token"]  # type: ignore[index]

    assert "cookie" not in visit.document.request.all_headers()  # a first visit: no cookie of ours yet
    click = stored_click(stack, token)
    fbp = click["fbp"]
    minted = MINTED_FBP.fullmatch(fbp)
    assert minted, fbp
    assert int(minted["ms"]) == click["clicked_at_ms"]
    assert "fbc" not in click  # no fbclid, no _fbc cookie

    # The redirect sets _fbp only (no fbclid: no _fbc); the browser keeps it, and the Pixel reads it
    # and keeps it rather than minting its own: the click holds the fbp the browser's events carry.
    assert _cookies_set(visit) == {"_fbp": fbp}
    cookies = visit.cookies()
    assert set(cookies) == {"_fbp"}
    assert cookies["_fbp"]["value"] == fbp
    _assert_first_party(cookies["_fbp"], opened_at)
    assert visit.pixel_cookies == [{"_fbp": fbp, "_fbc": None}]

    # One server PageView, of this click: the sender takes its fbp (this one) from the stored click.
    drain_click_stream(stack)
    assert [event["event_id"] for event in _page_views_for(stack, token)] == [f"pv_{token}"]
    assert stored_click(stack, token)["fbp"] == cookies["_fbp"]["value"]


def test_instagram_in_app_browser_opens_the_telegram_app_link(stack: Any, bridge: Any) -> None:
    visit = bridge(INSTAGRAM_IPHONE)

    # The script opens the app link itself (Chromium aborts the unknown scheme; the page stays).
    with visit.expect_request(_is_app_link):
        visit.open("/go/demo?" + urlencode({"fbclid": FBCLID, "utm_source": "ig"}))
    button = visit.page.locator("#funil-go")
    href = button.get_attribute("href")
    link = APP_LINK.fullmatch(href or "")
    assert link, href
    bot, token = link["bot"], link["token"]
    assert bot in demo_bot_usernames(stack)
    assert button.is_visible()

    assert visit.app_link_attempts() == [href]
    assert visit.fbq_calls == _expected_pixel_calls(stack, token)
    click = click_item(stack, token)
    assert click is not None, f"no click {token}"
    assert click["bot_id"] == demo_bot_id(stack, bot)
    assert click["visitor"]["in_app"] == "instagram"
    assert not [request.url for request in visit.requests if request.url.startswith("https://t.me/")]
    _assert_clean_console(visit)


XSS_UTM = {
    "utm_source": "facebook",
    "utm_campaign": "</script><script>window.__pwned=1</script>",
    "utm_content": '"><img src=x onerror=window.__pwned=2>',
    "utm_term": "javascript:window.__pwned=3",
    "utm_medium": "'-(window.__pwned=6)-'<svg/onload=window.__pwned=4>",
    "utm_id": "\u2028</noscript><script>window.__pwned=5</script>",
}


def test_script_like_utm_values_never_execute_and_are_stored_as_data(stack: Any, bridge: Any) -> None:
    visit = bridge(DESKTOP_CHROME, block_telegram=True)

    with visit.expect_request(_is_web_link) as attempt:  # the script ran to its end
        visit.open("/go/demo?" + urlencode({"fbclid": FBCLID, **XSS_UTM}))
    token = WEB_LINK.fullmatch(attempt.value.url)["token"]  # type: ignore[index]

    assert visit.page.evaluate("typeof window.__pwned") == "undefined"
    assert visit.pwned == []  # the init script's setter trap saw no write, in any document
    assert visit.page.locator("img, svg, iframe, object, embed").count() == 0
    scripts = visit.page.eval_on_selector_all("script", "all => all.map(s => [s.type, s.src])")
    assert sorted(scripts) == [["", ""], ["", PIXEL_URL], ["application/json", ""]]
    assert "__pwned" not in visit.html  # nothing from the query string is reflected
    same_origin_paths = {urlsplit(r.url).path for r in visit.requests if r.url.startswith(visit.base_url)}
    assert same_origin_paths == {"/go/demo"}  # no <img src=x> fetched
    _assert_clean_console(visit)
    assert visit.fbq_calls == _expected_pixel_calls(stack, token)

    click = stored_click(stack, token)
    assert click["utm"] == {name: value.strip() for name, value in XSS_UTM.items()}


def test_without_javascript_the_button_and_a_noscript_refresh_lead_to_t_me(stack: Any, bridge: Any) -> None:
    visit = bridge(DESKTOP_CHROME, java_script=False, block_telegram=True)
    drain_click_stream(stack)  # earlier clicks' PageViews are sent by now
    before = queue_counts(stack)

    # The refresh really fires: the browser asks for exactly the button's t.me address.
    with visit.expect_request(_is_web_link):
        visit.open("/go/demo?" + urlencode({"utm_source": "facebook"}))
    opened = visit.web_link_attempts()
    button = visit.page.locator("#funil-go")
    assert button.is_visible()
    href = button.get_attribute("href") or ""
    link = WEB_LINK.fullmatch(href)
    assert link, href
    assert link["bot"] in demo_bot_usernames(stack)
    assert opened == [href]

    refreshes = _Page(visit.html).find("meta", http_equiv="refresh")
    assert len(refreshes) == 1
    attrs, ancestors = refreshes[0]
    assert ancestors[-1] == "noscript"
    assert attrs["content"] == f"0;url={href}"

    assert visit.fbq_calls == []
    assert not [r.url for r in visit.requests if r.url.startswith("https://connect.facebook.net/")]
    token = link["token"]
    click = click_item(stack, token)
    assert click is not None, "the click is stored by the redirect, with or without JavaScript"
    assert visit.cookies()["_fbp"]["value"] == click["fbp"]  # cookies need no script either

    # Its server PageView comes all the same, from the stored click.
    drain_click_stream(stack)
    assert [event["event_id"] for event in _page_views_for(stack, token)] == [f"pv_{token}"]
    assert queue_counts(stack)["visible"] == before["visible"]  # sent, not queued


@pytest.mark.parametrize(("user_agent", "app_link"), [(DESKTOP_CHROME, False), (INSTAGRAM_IPHONE, True)])
def test_page_is_small_and_loads_nothing_but_the_pixel(
    stack: Any, bridge: Any, user_agent: str, app_link: bool
) -> None:
    visit = bridge(user_agent)

    if app_link:
        with visit.expect_request(_is_app_link) as attempt:
            document = visit.open("/go/demo?" + urlencode({"fbclid": FBCLID, "utm_source": "facebook"}))
        opened = attempt.value.url
        link = APP_LINK.fullmatch(opened)
    else:
        document = visit.open("/go/demo?" + urlencode({"fbclid": FBCLID, "utm_source": "facebook"}))
        opened = visit.wait_for_telegram()
        link = WEB_LINK.fullmatch(opened)
    assert link, opened

    assert len(visit.html.encode()) <= MAX_PAGE_BYTES, len(visit.html.encode())
    headers = document.headers
    assert headers["content-encoding"] == "gzip" and len(visit.body) < len(visit.html.encode())  # Chromium sent gzip
    assert "no-store" in headers["cache-control"]
    assert headers["content-type"].startswith("text/html")
    nonce = re.search(r"script-src 'nonce-([A-Za-z0-9_\-+/=]+)'", headers["content-security-policy"])
    assert nonce is not None
    parsed = _Page(visit.html)
    scripts = parsed.find("script")
    assert [attrs for attrs, _ in scripts if "nonce" in attrs] == [{"nonce": nonce[1]}]
    assert all(attrs.get("type") == "application/json" for attrs, _ in scripts if "nonce" not in attrs)
    assert not parsed.find("link") and not parsed.find("img") and not parsed.find("iframe")

    outside = [r.url for r in visit.requests if not r.url.startswith(visit.base_url + "/")]
    assert outside == [PIXEL_URL, opened]
    inside = [(r.method, urlsplit(r.url).path) for r in visit.requests if r.url.startswith(visit.base_url + "/")]
    assert inside == [("GET", "/go/demo")]  # the page sends nothing to us
    _assert_clean_console(visit)


def test_crawler_gets_the_same_page_but_no_click_is_stored(stack: Any, bridge: Any) -> None:
    human = bridge(DESKTOP_CHROME)
    human.open("/go/demo?" + urlencode({"fbclid": FBCLID}))
    human_link = WEB_LINK.fullmatch(human.wait_for_telegram())
    assert human_link
    assert click_item(stack, human_link["token"]) is not None
    drain_click_stream(stack)  # the human's PageView is sent by now: nothing below is of it
    before = queue_counts(stack)

    crawler = bridge(FACEBOOK_CRAWLER)
    document = crawler.open("/go/demo?" + urlencode({"fbclid": FBCLID}))
    assert document.status == 200
    assert crawler.answer.set_cookies == []  # nothing of a crawler's is stored for a Pixel to match
    crawler_link = WEB_LINK.fullmatch(crawler.wait_for_telegram())
    assert crawler_link
    token = crawler_link["token"]

    assert _normalised(crawler.html, token=token, bot=crawler_link["bot"]) == _normalised(
        human.html, token=human_link["token"], bot=human_link["bot"]
    )
    button = _Page(crawler.html).find("a", id="funil-go")
    assert [attrs["href"] for attrs, _ in button] == [crawler.page.url]
    assert crawler.fbq_calls == _expected_pixel_calls(stack, token)

    assert crawler.cookies() == {}
    assert click_item(stack, token) is None
    drain_click_stream(stack)
    assert _page_views_for(stack, token) == []
    assert queue_counts(stack)["visible"] == before["visible"]


@pytest.mark.parametrize("pixel", ["blocked", "hanging"])
def test_without_meta_script_the_server_page_view_still_comes_and_telegram_opens(
    stack: Any, bridge: Any, pixel: str
) -> None:
    """An ad blocker refuses connect.facebook.net, or the network never delivers it: the server
    PageView still comes from the stored click (the table's stream), with the visitor's fbp, and the
    visitor still reaches the bot (at most ~1.5 s later).
    """
    fbp = "fb.1.1732200000000.55555"
    visit = bridge(DESKTOP_CHROME, cookies={"_fbp": fbp}, pixel=pixel)

    visit.open("/go/demo?" + urlencode({"fbclid": FBCLID}))
    link = WEB_LINK.fullmatch(visit.wait_for_telegram())
    assert link
    token = link["token"]

    assert visit.fbq_calls == [] and visit.pixel_cookies == []
    assert [request.url for request in visit.requests if "facebook" in request.url] == [PIXEL_URL]
    assert stored_click(stack, token)["fbp"] == fbp

    drain_click_stream(stack)
    assert [event["event_id"] for event in _page_views_for(stack, token)] == [f"pv_{token}"]
