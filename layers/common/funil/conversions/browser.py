"""What the delivery page needs to fire the browser Purchase that Meta deduplicates against ours.

The browser Pixel and capi_sender send the same ``event_id`` (``purchase_<payment>``) and event
name, so Meta counts the sale once; value and currency come from the same function as the server
event's, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from funil.conversions.builder import commerce_data
from funil.event_kinds import EVENT_ID_PREFIX, EventKind


def purchase_event_id(payment_id: str) -> str:
    return f"{EVENT_ID_PREFIX[EventKind.PURCHASE]}{payment_id}"


@dataclass(frozen=True, slots=True)
class BrowserPurchase:
    event_id: str
    value: float
    currency: str
    custom_data: dict[str, Any]

    def fbq_args(self) -> tuple[str, str, dict[str, Any], dict[str, str]]:
        """Arguments of ``fbq('track', 'Purchase', custom_data, {eventID})``."""
        return ("track", "Purchase", self.custom_data, {"eventID": self.event_id})


def browser_purchase(payment: Mapping[str, Any]) -> BrowserPurchase | None:
    """The browser Purchase of a paid payment; None when it has no fiat value to report."""
    payment_id = payment.get("payment_id")
    data = commerce_data(payment, EventKind.PURCHASE)
    if not payment_id or data is None:
        return None
    browser_data: dict[str, Any] = {
        key: data[key] for key in ("value", "currency", "content_ids", "content_type") if key in data
    }
    return BrowserPurchase(purchase_event_id(str(payment_id)), data["value"], data["currency"], browser_data)
