"""An offer as stored, validated on write (docs/data-model.md pattern 6): seed and the operator API.

An offer is ``BOT#<bot>`` / ``OFFER#<offer>``: title, description, price in cents (BRL), an optional
Telegram Stars price (digital goods must be purchasable with Stars), and what it delivers
(``funil.delivery.models.DeliverySpec``). Offer ids are ≤ 40 characters so every callback_data
(``b:<offer>``, ``s:<offer>``) stays within Telegram's 64 bytes. The webhook reads offers through
``funil.bot.views`` (no pydantic on its path).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from funil import keys
from funil.delivery.models import DeliverySpec
from funil.ids import OFFER_ID

MAX_STARS = 100_000


class Offer(BaseModel):
    """One offer of a bot, as stored (validated on write: seed, admin)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    bot_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    offer_id: str = Field(pattern=OFFER_ID)
    title: str = Field(min_length=1, max_length=32)  # an invoice title is ≤ 32 characters
    description: str = Field(default="", max_length=255)  # an invoice description is ≤ 255
    price_cents: int = Field(gt=0, le=100_000_000)
    currency: str = "BRL"
    stars_price: int | None = Field(default=None, ge=1, le=MAX_STARS)
    delivery: DeliverySpec | None = None
    enabled: bool = True
    position: int = Field(default=0, ge=0, le=1000)
    # After "buy", also offer Telegram's share-my-phone button (never required; a skip button beside it).
    ask_phone: bool = False
    # Shown in the bot's menu; an unlisted offer is sold only as another's upsell, downsell or bump.
    listed: bool = True
    # Access to the delivery's chat ends this many days after payment (None: for good); reminders with a
    # renewal button go out the given days before the end (funil.access).
    access_days: int | None = Field(default=None, ge=1, le=3650)
    renewal_reminder_days: list[int] = Field(default_factory=lambda: [3, 1], max_length=5)
    # After a purchase, offer this next (upsell); when a lead declines or lets a charge expire, this
    # cheaper one (downsell); at checkout, this add-on in the same charge (order bump). Offers of the bot.
    upsell_offer_id: str | None = Field(default=None, pattern=OFFER_ID)
    downsell_offer_id: str | None = Field(default=None, pattern=OFFER_ID)
    bump_offer_id: str | None = Field(default=None, pattern=OFFER_ID)
    # Unpaid PIX follow-ups (funil.bot.follow_ups): minutes before the charge expires, and after it did.
    pix_reminder_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    pix_follow_up_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _access_needs_a_chat(self) -> Offer:
        if self.access_days is not None and (self.delivery is None or self.delivery.chat_id is None):
            raise ValueError(
                "access_days needs an invite_link or join_request delivery (a chat to remove the buyer from)"
            )
        return self

    def to_item(self) -> dict[str, Any]:
        pk, sk = keys.offer(self.bot_id, self.offer_id)
        return {
            "pk": pk,
            "sk": sk,
            "type": "offer",
            **keys.tenant_offer_index(self.tenant_id, self.bot_id, self.offer_id),
            **self.model_dump(mode="json", exclude_none=True),
        }
