"""What a run of a broadcast reads: its states, its counts, and which leads its segment takes.

Apart from the operator's models (``funil.broadcasts.models``, pydantic) so the sender imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CANCELLED", "COUNTS", "DONE", "SCHEDULED", "SENDING", "matches"]

SCHEDULED, SENDING, DONE, CANCELLED = "scheduled", "sending", "done", "cancelled"
# matched = sent + failed + blocked + skipped + unknown once done. blocked: the user blocked the bot
# (known before, or a 403 now); skipped: opted out (/parar); unknown: claimed by a run that died
# before recording the send (never sent again: at most once per person).
COUNTS = ("matched", "sent", "failed", "blocked", "skipped", "unknown")


def matches(segment: Mapping[str, Any], lead: Mapping[str, Any]) -> bool:
    """Whether a lead item is in the segment (opt-out and reachability are judged by the sender)."""
    kind = segment.get("kind")
    bought = set(lead.get("bought_offer_ids") or ())
    if kind == "all":
        return True
    if kind == "never_bought":
        return not bought
    if kind == "bought_offer":
        return segment.get("offer_id") in bought
    if kind == "access_expired":
        expired = set(lead.get("access_expired_offer_ids") or ())
        wanted = segment.get("offer_id")
        return wanted in expired if wanted else bool(expired)
    if kind == "first_touch_campaign":
        wanted = str(segment.get("campaign") or "").strip().casefold()
        touch = lead.get("first_touch") or {}
        utm, ad = touch.get("utm") or {}, touch.get("ad") or {}
        seen = (utm.get("utm_campaign"), ad.get("campaign_id"), ad.get("campaign_name"), ad.get("campaign"))
        return bool(wanted) and any(isinstance(v, str | int) and str(v).strip().casefold() == wanted for v in seen)
    return False
