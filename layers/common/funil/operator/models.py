"""Configuration entities as stored in the application table (pydantic v2).

These validate what is written (seed, admin). Hot paths read the same items into lean views
(``funil.click.links``). ``to_item`` gives the DynamoDB item with its keys (docs/data-model.md).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from funil import keys
from funil.click.links import BOT_USERNAME_RE, DEFAULT_ATTRIBUTION_WINDOW_DAYS, META_PIXEL_ID_RE, SLUG_RE
from funil.ids import ENTITY_ID as ENTITY_ID  # noqa: PLC0414 - re-exported: its importers predate the move


class Entity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=ENTITY_ID)

    def _item(self, key: tuple[str, str], kind: str, entity_id: str) -> dict[str, Any]:
        pk, sk = key
        return {
            "pk": pk,
            "sk": sk,
            "type": kind,
            **keys.tenant_index(self.tenant_id, kind.upper(), entity_id),
            **self.model_dump(mode="json", exclude_none=True),
        }


class Tenant(Entity):
    name: str = Field(min_length=1, max_length=120)
    timezone: str = "America/Sao_Paulo"
    currency: str = "BRL"
    # ISO 3166-1 alpha-2, lowercase: the country Meta is told for the tenant's leads and buyers when
    # the payer gave none (funil.conversions.builder).
    country: str = Field(default="br", pattern=r"^[a-z]{2}$")

    enabled: bool = True

    def to_item(self) -> dict[str, Any]:
        # gsi2 lists every tenant for the deployment's operator.
        item = self._item(keys.tenant(self.tenant_id), "tenant", self.tenant_id)
        return {**item, **keys.every_tenant_index(self.tenant_id)}


class BotHealth(BaseModel):
    status: Literal["healthy", "unhealthy", "token_invalid"] = "healthy"
    reason: str | None = None
    checked_at: str | None = None


class Bot(Entity):
    bot_id: str = Field(pattern=ENTITY_ID)
    username: str = Field(pattern=BOT_USERNAME_RE.pattern)
    telegram_id: int | None = None  # getMe's id: one Telegram bot is one item (Telegram keeps one webhook per bot)
    enabled: bool = True
    health: BotHealth = Field(default_factory=BotHealth)
    token_ciphertext: str | None = None  # KMS-encrypted bot token (base64), decrypted only in memory
    webhook_secret_ciphertext: str | None = None
    # The bot's own configuration (funil.bot): the pixel of its organic leads, pt-BR defaults when unset.
    pixel_id: str | None = Field(default=None, pattern=ENTITY_ID)
    welcome_text: str | None = Field(default=None, min_length=1, max_length=1000)
    support_text: str | None = Field(default=None, min_length=1, max_length=1000)
    pix_expires_minutes: int = Field(default=60, ge=5, le=24 * 60)

    def to_item(self) -> dict[str, Any]:
        # gsi2 lists every bot for the scheduled health check (docs/data-model.md pattern 26).
        return {**self._item(keys.bot(self.bot_id), "bot", self.bot_id), **keys.every_bot_index(self.bot_id)}


class PixelEvents(BaseModel):
    """Which events are reported to this pixel."""

    PageView: bool = True
    Lead: bool = True
    InitiateCheckout: bool = True
    Purchase: bool = True


class Pixel(Entity):
    pixel_id: str = Field(pattern=ENTITY_ID)
    meta_pixel_id: str = Field(pattern=META_PIXEL_ID_RE.pattern)
    enabled: bool = True
    events: PixelEvents = Field(default_factory=PixelEvents)
    action_source: Literal["website", "chat"] = "website"
    access_token_ciphertext: str | None = None  # KMS-encrypted Conversions API token
    test_event_code: str | None = None

    def to_item(self) -> dict[str, Any]:
        return self._item(keys.pixel(self.pixel_id), "pixel", self.pixel_id)


class LinkBot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_id: str = Field(pattern=ENTITY_ID)
    weight: int = Field(default=1, ge=0, le=1000)


class Link(Entity):
    slug: str = Field(pattern=SLUG_RE.pattern)
    enabled: bool = True
    bots: list[LinkBot] = Field(min_length=1, max_length=50)
    pixel_id: str | None = Field(default=None, pattern=ENTITY_ID)
    attribution_window_days: int = Field(default=DEFAULT_ATTRIBUTION_WINDOW_DAYS, ge=1, le=28)

    def to_item(self) -> dict[str, Any]:
        return self._item(keys.link(self.slug), "link", self.slug)
