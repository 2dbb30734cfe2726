"""Messages between functions, as they travel on SQS.

The conversions queue carries one message per Meta event to send. A message names the event
(kind + stable id) and refers to the records it is built from; the sender loads them, so a message
never carries personal data and a replay always uses what is stored. Consumers are idempotent on
``event_id`` (docs/architecture.md §3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from funil.event_kinds import EVENT_ID_PREFIX as EVENT_ID_PREFIX  # noqa: PLC0414 - re-exported: its importers predate the split
from funil.event_kinds import AlertKind as AlertKind  # noqa: PLC0414 - re-exported: its importers predate the split
from funil.event_kinds import EventKind as EventKind  # noqa: PLC0414 - re-exported: its importers predate the split


class ConversionRefs(BaseModel):
    """What the event is built from. Which refs are required depends on the kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    click_token: str | None = None
    bot_id: str | None = None
    telegram_user_id: int | None = None
    payment_id: str | None = None
    refund_step: int | None = Field(default=None, ge=1, le=1000)  # a Refund after the first (0-based step)


_REQUIRED_REFS: dict[EventKind, tuple[str, ...]] = {
    EventKind.PAGE_VIEW: ("click_token",),
    EventKind.LEAD: ("bot_id", "telegram_user_id"),
    EventKind.INITIATE_CHECKOUT: ("payment_id",),
    EventKind.PURCHASE: ("payment_id",),
    EventKind.REFUND: ("payment_id",),
}


class ConversionMessage(BaseModel):
    """One conversion event to report to the tenant's pixel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    kind: EventKind
    event_id: str = Field(min_length=4, max_length=128, pattern=r"^[a-z]+_[A-Za-z0-9_-]+$")
    tenant_id: str = Field(min_length=1, max_length=64)
    pixel_id: str | None = None
    occurred_at: AwareDatetime  # the event's time for Meta (click time, paid time…), UTC
    refs: ConversionRefs

    @model_validator(mode="after")
    def _consistent(self) -> ConversionMessage:
        if not self.event_id.startswith(EVENT_ID_PREFIX[self.kind]):
            raise ValueError(f"event_id of a {self.kind} starts with {EVENT_ID_PREFIX[self.kind]!r}")
        missing = [name for name in _REQUIRED_REFS[self.kind] if getattr(self.refs, name) is None]
        if missing:
            raise ValueError(f"a {self.kind} message needs refs {missing}")
        return self

    @property
    def deduplication_key(self) -> str:
        """What the sender claims once: the same event to the same pixel is sent once."""
        return f"{self.pixel_id or '-'}#{self.event_id}"


def page_view(token: str, tenant_id: str, pixel_id: str | None, clicked_at: datetime) -> ConversionMessage:
    return ConversionMessage(
        kind=EventKind.PAGE_VIEW,
        event_id=f"pv_{token}",
        tenant_id=tenant_id,
        pixel_id=pixel_id,
        occurred_at=clicked_at,
        refs=ConversionRefs(click_token=token),
    )


class AlertNotice(BaseModel):
    """One change of an incident's state, for the tenant's admin chats (the notifications queue).

    An incident opens once and resolves once, so the chats hear of it twice at most; the consumer
    claims ``notice_id`` so a repeated message is sent once. Never personal data or secrets: the
    subject is an id of ours (a bot, a gateway, a pixel, a queue)."""

    # Validators built on first use, not with every importer of the conversion messages: few send alerts.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    version: Literal[1] = 1
    type: Literal["alert"] = "alert"
    tenant_id: str = Field(min_length=1, max_length=64)
    incident_id: str = Field(min_length=1, max_length=200)  # stable for the incident's life
    kind: AlertKind
    state: Literal["open", "resolved"]
    subject: str = Field(min_length=1, max_length=200)
    detail: str = Field(default="", max_length=500)
    occurred_at: AwareDatetime

    @property
    def notice_id(self) -> str:
        return f"alert_{self.incident_id}_{self.state}"
