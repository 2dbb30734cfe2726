"""What an offer delivers, the delivery queue's message, and the delivery record's states."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from funil.delivery.status import DeliveryStatus as DeliveryStatus  # noqa: PLC0414 - re-exported: its importers predate the split

MAX_CONTENT_CHARS = 2500  # with the header and links (url ≤ 512) the message stays under 4096


class DeliveryKind(StrEnum):
    MESSAGE = "message"  # the offer's content and/or link, in the message
    INVITE_LINK = "invite_link"  # a new invite link per buyer, member_limit 1
    JOIN_REQUEST = "join_request"  # a new join-request link per buyer, approved only for the buyer


class DeliverySpec(BaseModel):
    """An offer's ``delivery`` (per-bot configuration)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: DeliveryKind = DeliveryKind.MESSAGE
    text: str | None = Field(default=None, min_length=1, max_length=MAX_CONTENT_CHARS)
    url: str | None = Field(default=None, pattern=r"^https://\S+$", max_length=512)
    # The private channel/group (the bot is an admin allowed to invite). Telegram's ids have at most
    # 52 significant bits; unbounded, a huge number would not even fit a table number (38 digits).
    chat_id: int | None = Field(default=None, gt=-(2**52), lt=2**52)
    button_text: str = Field(default="Acessar", min_length=1, max_length=40)
    link_expire_hours: int | None = Field(default=None, ge=1, le=24 * 30)

    @model_validator(mode="after")
    def _complete(self) -> DeliverySpec:
        if self.kind is DeliveryKind.MESSAGE and not (self.text or self.url):
            raise ValueError("a message delivery needs text or url")
        if self.kind is not DeliveryKind.MESSAGE and self.chat_id is None:
            raise ValueError(f"a {self.kind} delivery needs the chat_id of the private channel/group")
        return self


class DeliveryJob(BaseModel):
    """A delivery queue message: which payment to deliver. Everything else is read from the table."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    payment_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    tenant_id: str | None = None


FINAL_STATUSES = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.UNREACHABLE, DeliveryStatus.UNDELIVERABLE})

Outcome = Literal[
    "delivered", "duplicate", "unreachable", "retry", "skipped", "undeliverable", "revoked", "already_used"
]
