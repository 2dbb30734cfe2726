"""Traffic quality: is a stored click a person's? Judged after the fact, never on the click path.

Pure functions, no I/O. The analytics consumer (``funil.analytics.stream``) gives each click of a
batch its fields (``funil.click.fields.click_fields``), what the IP database knows of its network
(``funil.adapters.ipdb``) and how many clicks of the tenant its /24 (/48) made in the batch. A
verdict only decides how the click is counted (``suspect_clicks``, the ``quality`` dimension): every
visitor was served the same bridge page and the same Telegram link (no cloaking).

The signals, in the order they are reported (each justified in docs/traffic-quality.md):

- ``no_user_agent``: every browser sends one;
- ``headless``: an automated browser that says so (HeadlessChrome, PhantomJS, Electron…);
- ``crawler``: crawlerdetect's list and the preview fetchers (``funil.click.useragent``), as of the
  layer that judges, which may be newer than the one that stored the click;
- ``no_accept_language``: every browser and in-app browser sends one, HTTP libraries do not;
- ``datacenter_asn``: the network is a cloud's, a hosting provider's, or Meta's/TikTok's own;
- ``burst_same_net``: ``BURST_SAME_NET`` or more clicks of one tenant from one /24 (/48) in one batch;
- ``impossible_start`` (:func:`assess_start`): a ``/start`` sooner after its click than a person can
  get from the ad through the bridge page into Telegram and tap Start.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from funil.click import useragent

__all__ = [
    "BURST_SAME_NET",
    "MIN_HUMAN_START_SECONDS",
    "REASONS",
    "Verdict",
    "assess_click",
    "assess_start",
]

REASONS = (
    "no_user_agent",
    "headless",
    "crawler",
    "no_accept_language",
    "datacenter_asn",
    "burst_same_net",
    "impossible_start",
)
# A 30-second batch of a busy tenant holds a few hundred clicks from all over Brazil's carriers;
# ten from one /24 (one /48) is a script or a click farm, not a crowd behind carrier-grade NAT.
BURST_SAME_NET = 10
# The fastest person: the bridge page opens Telegram ~0.3 s after the Pixel loads, the app switch
# and the chat take ~0.5 s, the tap on Start ~0.3 s more: ~1.5-2 s. Telegram dates the message to
# the second (truncated), so a measured gap can be up to 1 s short: below 1 s no person did it.
MIN_HUMAN_START_SECONDS = 1.0

# Automated browsers that name themselves: HeadlessChrome is what headless Chromium (Puppeteer's,
# Playwright's) sends unless its script sets another User-Agent.
_HEADLESS = re.compile(
    r"HeadlessChrome|PhantomJS|SlimerJS|Electron/|Puppeteer|Playwright|Nightmare|jsdom|Zombie\.js|\bSplash\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a click (or a start) is suspect, and why.

    Attributes:
        suspect: any reason was found.
        reasons: the signals found, from ``REASONS``, in its order.
    """

    suspect: bool
    reasons: tuple[str, ...] = ()

    @classmethod
    def of(cls, reasons: Iterable[str]) -> Verdict:
        found = set(reasons)
        ordered = tuple(reason for reason in REASONS if reason in found)
        return cls(suspect=bool(ordered), reasons=ordered)

    @property
    def quality(self) -> str:
        """The ``quality`` dimension's value."""
        return "suspect" if self.suspect else "clean"

    def plus(self, reasons: Iterable[str]) -> Verdict:
        """This verdict with more reasons (a click's, then its start's)."""
        return Verdict.of((*self.reasons, *reasons))

    def as_item(self) -> dict[str, Any]:
        """As stored (the click's ``q``, a trace's ``quality``)."""
        return {"suspect": self.suspect, "reasons": list(self.reasons)}


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _user_agent_reason(user_agent: str) -> str | None:
    if not user_agent:
        return "no_user_agent"
    if _HEADLESS.search(user_agent[: useragent.MAX_UA_LENGTH]):
        return "headless"
    if useragent.classify(user_agent).is_bot:
        return "crawler"
    return None


def assess_click(
    click: Mapping[str, Any],
    network: Any,
    *,
    same_net_clicks: int,
    burst: int = BURST_SAME_NET,
) -> Verdict:
    """A stored click's verdict.

    Args:
        click: the click under ``click_fields``' names (``user_agent``, ``accept_language``…).
        network: the IP database's ``NetworkInfo`` for its address, or None (unknown: no signal).
        same_net_clicks: clicks of the tenant from its /24 (/48) in the batch, this one included.
        burst: how many of those make a burst.
    """
    reasons: list[str] = []
    ua_reason = _user_agent_reason(_text(click.get("user_agent")))
    if ua_reason:
        reasons.append(ua_reason)
    if not _text(click.get("accept_language")):
        reasons.append("no_accept_language")
    if getattr(network, "datacenter", False) is True:
        reasons.append("datacenter_asn")
    if isinstance(same_net_clicks, int) and same_net_clicks >= burst:
        reasons.append("burst_same_net")
    return Verdict.of(reasons)


def assess_start(seconds_from_click: float) -> tuple[str, ...]:
    """``("impossible_start",)`` when a ``/start`` came sooner after its click than a person can; else ``()``.

    ``seconds_from_click``: the start's time (Telegram's message date) minus the click's. Negative
    counts too (a start before its click: a token that was not opened from our page). An unknown
    gap (NaN, infinite) is no signal.
    """
    if isinstance(seconds_from_click, bool) or not isinstance(seconds_from_click, int | float):
        return ()
    if not math.isfinite(seconds_from_click) or seconds_from_click >= MIN_HUMAN_START_SECONDS:
        return ()
    return ("impossible_start",)
