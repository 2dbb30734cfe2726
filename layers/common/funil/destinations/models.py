"""What a destination is: its kind, the events it takes, and how it is stored (docs/data-model.md 48)."""

from __future__ import annotations

from enum import StrEnum

from funil.event_kinds import EventKind


class DestinationKind(StrEnum):
    UTMIFY = "utmify"
    TIKTOK = "tiktok"
    GA4 = "ga4"
    WEBHOOK = "webhook"


# The events a destination can take: the copies the destinations queue carries.
SALE_EVENTS = (EventKind.INITIATE_CHECKOUT, EventKind.PURCHASE, EventKind.REFUND)
