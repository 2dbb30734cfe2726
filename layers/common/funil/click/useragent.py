"""Who is visiting: a person (and on what) or an automated fetcher.

Bots, crawlers and link-preview fetchers are detected with crawlerdetect's maintained pattern list
plus the preview fetchers ad traffic meets most. The list is compiled with RE2: crawlerdetect's own
matcher (one case-insensitive Python regex of ~1,460 alternatives) costs 2-4 ms per new
User-Agent, over the redirect's whole CPU budget; RE2 matches the same list in ~0.1 ms.
In-app browsers of Instagram, Facebook and TikTok are people. The device/OS/browser parse is a
small table of our own: ua-parser's full regex set costs ~0.3 s of cold import, more than the
redirect's whole budget (docs/architecture.md §8), and reports need only the coarse fields below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2
from crawlerdetect.providers.crawlers import data as CRAWLER_PATTERNS
from crawlerdetect.providers.exclusions import data as EXCLUSION_PATTERNS

MAX_UA_LENGTH = 512

# Fetchers crawlerdetect may miss or that we must never count, whatever its list says.
_EXTRA_BOTS = re.compile(
    r"facebookexternalhit|facebookcatalog|meta-externalagent|meta-externalfetcher|TelegramBot|"
    r"WhatsApp/|Slackbot|Discordbot|Twitterbot|LinkedInBot|SkypeUriPreview|Pinterestbot|redditbot|"
    r"Applebot|Bytespider|HeadlessChrome|Lighthouse|PhantomJS|python-requests|python-httpx|curl/|Wget/",
    re.IGNORECASE,
)

# In-app browsers, most specific first: (name, pattern).
_IN_APP: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("instagram", re.compile(r"Instagram")),
    ("messenger", re.compile(r"FBAN/Messenger|FB_IAB/Orca|MessengerForiOS|MessengerLite")),
    ("facebook", re.compile(r"FBAN/|FBAV/|FB_IAB|FBIOS|FB4A")),
    ("tiktok", re.compile(r"musical_ly|BytedanceWebview|TikTok|trill_", re.IGNORECASE)),
    ("threads", re.compile(r"Barcelona")),
    ("kwai", re.compile(r"Kwai", re.IGNORECASE)),
    ("snapchat", re.compile(r"Snapchat")),
    ("line", re.compile(r"\bLine/")),
    ("telegram", re.compile(r"Telegram-Android|TelegramWebview", re.IGNORECASE)),
)
_OS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ios", re.compile(r"iPhone|iPad|iPod|CPU OS|FBSN/iOS")),
    ("android", re.compile(r"Android")),
    ("windows", re.compile(r"Windows NT|Windows Phone")),
    ("macos", re.compile(r"Macintosh|Mac OS X")),
    ("chromeos", re.compile(r"CrOS")),
    ("linux", re.compile(r"Linux")),
)
_BROWSER: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("samsung", re.compile(r"SamsungBrowser")),
    ("edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("opera", re.compile(r"OPR/|Opera")),
    ("firefox", re.compile(r"Firefox/|FxiOS/")),
    ("chrome", re.compile(r"Chrome/|CriOS/")),
    ("safari", re.compile(r"Safari/|AppleWebKit")),
)
# Android tablets leave "Mobile" out of the UA; phones and in-app browsers keep it.
_TABLET = re.compile(r"iPad|Tablet|^(?!.*Mobile)(?!.*FBAN|.*Instagram).*Android")
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Android|FBAN|Instagram")


def _compile_re2(patterns: list[str]) -> Any:
    options = re2.Options()
    options.case_sensitive = False
    return re2.compile("(?:" + "|".join(patterns) + ")", options)


# RE2 has no lookaround: the list's few lookahead patterns (e.g. "Yandex(?!Search)") stay in re.
_crawlers = _compile_re2([pattern for pattern in CRAWLER_PATTERNS if "(?" not in pattern])
_crawlers_lookaround = re.compile("|".join(p for p in CRAWLER_PATTERNS if "(?" in p) or "(?!)", re.IGNORECASE)
_exclusions = _compile_re2(list(EXCLUSION_PATTERNS))


def is_crawler(user_agent: str) -> bool:
    """crawlerdetect's verdict: drop the harmless browser tokens it lists, then look for a bot's."""
    agent = _exclusions.sub("", user_agent).strip()
    return bool(agent) and bool(_crawlers.search(agent) or _crawlers_lookaround.search(agent))


@dataclass(frozen=True, slots=True)
class Visitor:
    is_bot: bool
    device: str  # mobile | tablet | desktop | bot
    os: str | None
    browser: str | None
    in_app: str | None  # instagram, facebook, tiktok… or None for a standalone browser

    def as_item(self) -> dict[str, str]:
        fields = {"device": self.device, "os": self.os, "browser": self.browser, "in_app": self.in_app}
        return {key: value for key, value in fields.items() if value}


def _first(table: tuple[tuple[str, re.Pattern[str]], ...], ua: str) -> str | None:
    return next((name for name, pattern in table if pattern.search(ua)), None)


@lru_cache(maxsize=4096)
def classify(user_agent: str | None) -> Visitor:
    """Classify a User-Agent. An empty one is automated: every real browser sends one."""
    ua = (user_agent or "")[:MAX_UA_LENGTH]
    if not ua.strip() or _EXTRA_BOTS.search(ua) or is_crawler(ua):
        return Visitor(is_bot=True, device="bot", os=None, browser=None, in_app=None)
    in_app = _first(_IN_APP, ua)
    device = "tablet" if _TABLET.search(ua) else "mobile" if _MOBILE.search(ua) else "desktop"
    browser = "webview" if in_app else _first(_BROWSER, ua)
    return Visitor(is_bot=False, device=device, os=_first(_OS, ua), browser=browser, in_app=in_app)
