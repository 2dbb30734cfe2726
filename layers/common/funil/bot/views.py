"""The bot and its offers as the webhook reads them: plain dataclasses, no pydantic on the hot path.

``BotView.from_items`` reads the items of ``BOT#<bot>`` (docs/data-model.md patterns 5, 6) as stored;
they were validated on write (``funil.bot.models.Offer``: seed, admin).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from funil import keys


@dataclass(frozen=True, slots=True)
class OfferView:
    """An offer as the webhook reads it (lean: no pydantic on the hot path)."""

    offer_id: str
    title: str
    description: str
    price_cents: int
    currency: str
    stars_price: int | None
    has_delivery: bool
    ask_phone: bool = False
    listed: bool = True
    access_days: int | None = None
    renewal_reminder_days: tuple[int, ...] = ()
    upsell_offer_id: str | None = None
    downsell_offer_id: str | None = None
    bump_offer_id: str | None = None
    pix_reminder_minutes: int | None = None
    pix_follow_up_minutes: int | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> OfferView:
        stars = item.get("stars_price")
        return cls(
            offer_id=str(item["offer_id"]),
            title=str(item.get("title") or item["offer_id"])[:32],
            description=str(item.get("description") or "")[:255],
            price_cents=int(item.get("price_cents") or 0),
            currency=str(item.get("currency") or "BRL"),
            stars_price=int(stars) if stars else None,
            has_delivery=bool(item.get("delivery")),
            ask_phone=item.get("ask_phone") is True,
            listed=item.get("listed", True) is not False,
            access_days=_positive(item.get("access_days")),
            renewal_reminder_days=tuple(
                day for day in map(_positive, item.get("renewal_reminder_days") or ()) if day is not None
            ),
            upsell_offer_id=_text(item.get("upsell_offer_id")),
            downsell_offer_id=_text(item.get("downsell_offer_id")),
            bump_offer_id=_text(item.get("bump_offer_id")),
            pix_reminder_minutes=_positive(item.get("pix_reminder_minutes")),
            pix_follow_up_minutes=_positive(item.get("pix_follow_up_minutes")),
        )


@dataclass(frozen=True, slots=True)
class BotView:
    """The bot item and its enabled offers (one Query: ``pk = BOT#<bot>``), cached per container."""

    bot_id: str
    tenant_id: str
    username: str
    enabled: bool
    health_status: str
    token_ciphertext: str | None
    webhook_secret_ciphertext: str | None
    pixel_id: str | None
    welcome_text: str | None
    support_text: str | None
    pix_expires_minutes: int
    offers: tuple[OfferView, ...] = field(default_factory=tuple)
    admin_telegram_ids: frozenset[int] = frozenset()  # whose /painel gets a dashboard link (funil.bot.admin)

    def offer(self, offer_id: str) -> OfferView | None:
        return next((offer for offer in self.offers if offer.offer_id == offer_id), None)

    @property
    def menu(self) -> tuple[OfferView, ...]:
        """The offers the bot's menu shows (unlisted ones are sold only after or beside another)."""
        return tuple(offer for offer in self.offers if offer.listed)

    @classmethod
    def from_items(cls, bot_id: str, items: list[dict[str, Any]]) -> BotView | None:
        _, bot_sk = keys.bot(bot_id)
        _, offer_prefix = keys.offers(bot_id)
        bot = next((item for item in items if item.get("sk") == bot_sk), None)
        if bot is None or str(bot.get("bot_id", bot_id)) != bot_id:
            return None
        tenant_id = str(bot.get("tenant_id") or "")
        offers = sorted(
            (
                item
                for item in items
                if str(item.get("sk", "")).startswith(offer_prefix)
                and item.get("enabled", True)
                and item.get("tenant_id") == tenant_id  # tenant isolation, even within the bot's partition
                and int(item.get("price_cents") or 0) > 0
            ),
            key=lambda item: (int(item.get("position") or 0), str(item.get("offer_id"))),
        )
        return cls(
            bot_id=bot_id,
            tenant_id=tenant_id,
            username=str(bot.get("username") or ""),
            enabled=bool(bot.get("enabled", True)),
            health_status=str((bot.get("health") or {}).get("status") or "healthy"),
            token_ciphertext=bot.get("token_ciphertext"),
            webhook_secret_ciphertext=bot.get("webhook_secret_ciphertext"),
            pixel_id=bot.get("pixel_id"),
            welcome_text=bot.get("welcome_text"),
            support_text=bot.get("support_text"),
            pix_expires_minutes=int(bot.get("pix_expires_minutes") or 60),
            offers=tuple(OfferView.from_item(item) for item in offers),
            admin_telegram_ids=_user_ids(bot.get("admin_telegram_ids")),
        )


def _positive(value: Any) -> int | None:
    """A stored whole number above zero (DynamoDB gives Decimals), else None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 and number == value else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _user_ids(value: Any) -> frozenset[int]:
    """The positive integers of a stored list (anything else in it is ignored: never an admin by accident)."""
    if not isinstance(value, list):
        return frozenset()
    return frozenset(item for item in value if isinstance(item, int) and not isinstance(item, bool) and item > 0)
