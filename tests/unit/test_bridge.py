import json
import re
from html.parser import HTMLParser

from funil import pages
from funil.click import bridge

TOKEN = "AbCdEfGhIjKlMnOpQrStUv"


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.data = {}
        self._current = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._current = dict(attrs).get("id")

    def handle_data(self, data):
        if self._current:
            self.data[self._current] = self.data.get(self._current, "") + data


def render(in_app=False, accept_language="pt-BR,pt;q=0.9", nonce="n0nce"):
    return bridge.render(
        bot_username="FunilDemoABot",
        token=TOKEN,
        meta_pixel_id="1234567890123456",
        in_app=in_app,
        accept_language=accept_language,
        nonce=nonce,
    )


def test_page_is_small_portuguese_and_self_contained():
    page = render()
    assert len(page.encode()) <= 6 * 1024
    parsed = Collector()
    parsed.feed(page)
    assert ("html", {"lang": "pt-BR"}) in parsed.tags
    assert "Abrir no Telegram" in page
    # No external resource in the markup: the Pixel script is loaded by the inline snippet only.
    for _tag, attrs in parsed.tags:
        assert "src" not in attrs
    config = json.loads(parsed.data["funil-cfg"])
    assert config["pixelScript"] == "https://connect.facebook.net/en_US/fbevents.js"
    assert config["eventId"] == f"pv_{TOKEN}"
    assert set(config) == {"token", "pixel", "eventId", "open", "pixelScript"}


def test_the_page_fires_the_pixel_page_view_and_sends_nothing_to_us():
    page = render()
    assert "fbq('init',c.pixel)" in page
    assert "fbq('track','PageView',{},{eventID:c.eventId})" in page
    assert "location.href=c.open" in page
    # Nothing is posted back: the redirect set the cookies the Pixel adopts, and the server PageView comes from
    # the stored click through the table's stream.
    for call in ("sendBeacon", "fetch(", "XMLHttpRequest", "document.cookie"):
        assert call not in page
    csp = bridge.content_security_policy("n")
    assert "'self'" not in csp
    assert "connect-src https://www.facebook.com https://connect.facebook.net;" in csp


def test_links_go_only_to_the_chosen_bot():
    web = render(in_app=False)
    app = render(in_app=True)
    assert f'href="https://t.me/FunilDemoABot?start={TOKEN}"' in web
    assert f'href="tg://resolve?domain=FunilDemoABot&amp;start={TOKEN}"' in app
    for page in (web, app):
        # the no-JS fallback always uses the universal t.me link
        assert f'url=https://t.me/FunilDemoABot?start={TOKEN}"' in page
        assert set(re.findall(r"https://t\.me/[^\"?]+", page)) == {"https://t.me/FunilDemoABot"}


def test_english_when_the_browser_prefers_it():
    page = render(accept_language="en-US,en;q=0.9")
    assert 'lang="en"' in page and "Open in Telegram" in page


def test_inline_code_carries_the_nonce_and_csp_allows_only_it():
    page = render(nonce="abc123")
    assert '<script nonce="abc123">' in page and '<style nonce="abc123">' in page
    csp = bridge.content_security_policy("abc123")
    assert "script-src 'nonce-abc123' https://connect.facebook.net" in csp
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp


def test_script_json_cannot_break_out_of_its_element():
    hostile = {"a": "</script><script>alert(1)</script>", "b": "<!--", "c": "\u2028\u2029", "d": "&amp;"}
    text = pages.script_json(hostile)
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == hostile


def test_telegram_links_quote_their_parts():
    links = bridge.telegram_links("Bot", "a&b=c")
    assert links.web == "https://t.me/Bot?start=a%26b%3Dc"
    assert links.app == "tg://resolve?domain=Bot&start=a%26b%3Dc"


def test_message_page_escapes_html():
    page, nonce = pages.message_page("<b>title</b>", "x\" onload='y'", "pt-BR")
    assert "<b>" not in page and "&lt;b&gt;" in page
    assert f'nonce="{nonce}"' in page
