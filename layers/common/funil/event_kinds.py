"""The Meta events Funil sends, their event ids' prefixes, and the kinds of operational alert,
without the messages' models.

Apart from ``funil.messages`` so that what only names an event (the delivery page's browser
Purchase) does not import pydantic (bench/README.md: cold imports).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EVENT_ID_PREFIX", "AlertKind", "EventKind"]


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


class AlertKind(StrEnum):
    """What an operational alert is about (funil.alerts opens and resolves them)."""

    BOT_TOKEN_REFUSED = "bot_token_refused"  # noqa: S105 (a kind of alert, not a secret)
    BOT_WEBHOOK_FAILING = "bot_webhook_failing"
    GATEWAY_FAILING = "gateway_failing"
    GATEWAY_FAILOVER = "gateway_failover"
    CAPI_ERRORS = "capi_errors"
    CAPI_TOKEN_INVALID = "capi_token_invalid"  # noqa: S105
    DEAD_LETTERS = "dead_letters"
    VOIDED_ATTEMPT_PAID = "voided_attempt_paid"
