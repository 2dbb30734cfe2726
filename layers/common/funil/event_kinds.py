"""The Meta events Funil sends and their event ids' prefixes, without the messages' models.

Apart from ``funil.messages`` so that what only names an event (the delivery page's browser
Purchase) does not import pydantic (bench/README.md: cold imports).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EVENT_ID_PREFIX", "EventKind"]


class EventKind(StrEnum):
    PAGE_VIEW = "PageView"
    LEAD = "Lead"
    INITIATE_CHECKOUT = "InitiateCheckout"
    PURCHASE = "Purchase"
    REFUND = "Refund"


# event_id prefix per kind: the browser Pixel uses the same ids, so Meta deduplicates.
EVENT_ID_PREFIX = {
    EventKind.PAGE_VIEW: "pv_",
    EventKind.LEAD: "lead_",
    EventKind.INITIATE_CHECKOUT: "ic_",
    EventKind.PURCHASE: "purchase_",
    EventKind.REFUND: "refund_",
}
