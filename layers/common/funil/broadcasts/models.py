"""A broadcast as the operator asks for it, and which leads its segment takes.

The message is Telegram HTML (``parse_mode=HTML``), checked here as Telegram parses it (its tags,
balanced, its four named entities), so a broadcast Telegram would refuse for every recipient is a
422 at creation instead. Its length is counted as Telegram counts it: after the tags and entities
(≤ 4096 characters; ≤ 1024 as a photo's caption).
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from html.parser import HTMLParser
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from funil.ids import ENTITY_ID, OFFER_ID

__all__ = [
    "MAX_BUTTONS",
    "BroadcastCreate",
    "Segment",
    "html_problem",
    "visible_length",
]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 6
MAX_AHEAD_DAYS = 60


SegmentKind = Literal["all", "never_bought", "bought_offer", "access_expired", "first_touch_campaign"]

# core.telegram.org/bots/api#html-style
HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji", "code",
     "pre", "blockquote"}
)  # fmt: skip
HTML_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.problem: str | None = None
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self.problem = self.problem or f"Telegram does not support the tag <{tag}>"
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problem = self.problem or f"Telegram does not support the tag <{tag}/>"

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problem = self.problem or f"</{tag}> closes no open tag"
        else:
            self.open.pop()

    def handle_entityref(self, name: str) -> None:
        if name not in HTML_ENTITIES:
            self.problem = self.problem or f"&{name}; is not one of &lt; &gt; &amp; &quot;"

    def unknown_decl(self, data: str) -> None:
        self.problem = self.problem or "declarations are not Telegram HTML"

    def handle_comment(self, data: str) -> None:
        self.problem = self.problem or "comments are not Telegram HTML"

    def handle_pi(self, data: str) -> None:
        self.problem = self.problem or "processing instructions are not Telegram HTML"


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse ``text`` as HTML (None: it parses)."""
    if re.search(r"<(?![A-Za-z/])", text):
        return "a '<' that opens no tag: write &lt;"
    if re.search(r"&(?!(#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);)", text):
        return "a '&' that starts no entity: write &amp;"
    parser = _Tags()
    parser.feed(text)
    parser.close()
    if parser.problem:
        return parser.problem
    if parser.open:
        return f"<{parser.open[-1]}> is never closed"
    if parser.rawdata:  # an unfinished tag at the end ("<b")
        return "the text ends inside a tag"
    return None


def visible_length(text: str) -> int:
    """Telegram's length of an HTML text: after the tags and entities."""
    return len(html.unescape(re.sub(r"<[^>]+>", "", text)))


class Segment(BaseModel):
    """Which of the bot's leads receive it (opted-out leads never do; blocked ones are counted)."""

    model_config = ConfigDict(extra="forbid")

    kind: SegmentKind = Field(
        description="all | never_bought | bought_offer (offer_id) | access_expired (offer_id: that offer's; "
        "none: any) | first_touch_campaign (campaign: the first touch's utm_campaign, ad campaign id or name)"
    )
    offer_id: str | None = Field(default=None, pattern=OFFER_ID)
    campaign: str | None = Field(default=None, min_length=1, max_length=256)

    @model_validator(mode="after")
    def _parameters(self) -> Segment:
        if self.kind == "bought_offer" and self.offer_id is None:
            raise ValueError("bought_offer needs offer_id")
        if self.kind == "first_touch_campaign" and self.campaign is None:
            raise ValueError("first_touch_campaign needs campaign")
        if self.offer_id is not None and self.kind not in ("bought_offer", "access_expired"):
            raise ValueError(f"{self.kind} takes no offer_id")
        if self.campaign is not None and self.kind != "first_touch_campaign":
            raise ValueError(f"{self.kind} takes no campaign")
        return self

    def stored(self) -> dict[str, str]:
        return self.model_dump(exclude_none=True)


class BroadcastCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_id: str = Field(pattern=ENTITY_ID, description="The bot that sends it, to its own leads")
    photo_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https://[^\s/]+\S*$", description="An https image: sent as a photo"
    )
    text: str = Field(
        min_length=1,
        max_length=4 * MAX_TEXT,
        description="Telegram HTML; ≤ 4096 characters as Telegram counts them (≤ 1024 with photo_url)",
    )
    offer_ids: list[str] = Field(
        default=[], max_length=MAX_BUTTONS, description="Buttons that start a PIX checkout of these bot's offers (≤ 6)"
    )
    segment: Segment
    send_at: AwareDatetime | None = Field(default=None, description="When to start (ISO 8601 with offset); default now")

    @field_validator("offer_ids")
    @classmethod
    def _offer_ids(cls, value: list[str]) -> list[str]:
        for offer_id in value:
            if not re.fullmatch(OFFER_ID, offer_id):
                raise ValueError(f"{offer_id[:40]!r} is not an offer id")
        if len(set(value)) != len(value):
            raise ValueError("each offer once")
        return value

    @field_validator("text")
    @classmethod
    def _html(cls, value: str, info: ValidationInfo) -> str:
        problem = html_problem(value)
        if problem:
            raise ValueError(f"not Telegram HTML: {problem}")
        if visible_length(value) > MAX_TEXT:
            raise ValueError(f"longer than Telegram's {MAX_TEXT} characters")
        if info.data.get("photo_url") is not None and visible_length(value) > MAX_CAPTION:
            raise ValueError(f"with photo_url the text is a caption: ≤ {MAX_CAPTION} characters")
        return value


def due(send_at: datetime | None, now: datetime) -> datetime:
    return now if send_at is None or send_at < now else send_at
