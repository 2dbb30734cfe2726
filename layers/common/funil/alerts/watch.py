"""The Conversions API error rate per pixel, in fixed 15-minute windows (docs/alerts.md).

Each Graph request's outcome adds its events to the pixel's window item (pattern 53,
``WATCH#capi#<pixel>#<window start>``: ``sent`` and ``failed`` counters, one atomic ADD). A window
with at least ``min_failures`` failed events that are at least ``min_rate`` of its events opens the
pixel's ``capi_errors`` incident. The periodic check resolves it once the last two windows, together,
have sent something and are under the threshold.

A failed event is one whose request did not land (transient or permanent); an event retried three
times counts three times, as three requests failed. Recording never raises: the sender goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from funil import keys
from funil.alerts.incidents import AlertSink
from funil.clock import Clock, iso, to_epoch_s, utc_now
from funil.event_kinds import AlertKind
from funil.ports import Items

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
MIN_FAILURES = 5
MIN_RATE = 0.20
WINDOW_KEPT = timedelta(days=2)  # TTL: only the last two windows are ever read


def window_start(moment: datetime) -> datetime:
    seconds = int(WINDOW.total_seconds())
    return datetime.fromtimestamp(to_epoch_s(moment) // seconds * seconds, tz=UTC)


def over_threshold(sent: int, failed: int, min_failures: int = MIN_FAILURES, min_rate: float = MIN_RATE) -> bool:
    total = sent + failed
    return failed >= min_failures and total > 0 and failed / total >= min_rate


@dataclass
class CapiErrorWatch:
    items: Items
    alerts: AlertSink
    now: Clock = utc_now
    min_failures: int = MIN_FAILURES
    min_rate: float = MIN_RATE

    def record(self, tenant_id: str, pixel_id: str, *, sent: int, failed: int) -> None:
        """Add one request's events to the pixel's current window; open the incident over the threshold."""
        if sent + failed == 0:
            return
        try:
            start = window_start(self.now())
            counts = self.items.update(
                *keys.capi_window(tenant_id, pixel_id, iso(start)),
                "ADD sent :sent, failed :failed SET tenant_id = :tenant, #type = :type, pixel_id = :pixel,"
                " expires_at = :expires",
                {
                    ":sent": sent,
                    ":failed": failed,
                    ":tenant": tenant_id,
                    ":type": "capi_window",
                    ":pixel": pixel_id,
                    ":expires": to_epoch_s(start + WINDOW_KEPT),
                },
                names={"#type": "type"},
                return_values="ALL_NEW",
            )
        except Exception:
            log.exception("Conversions API outcome not counted", extra={"pixel_id": pixel_id})
            return
        window_sent, window_failed = int(counts.get("sent") or 0), int(counts.get("failed") or 0)
        if failed and over_threshold(window_sent, window_failed, self.min_failures, self.min_rate):
            detail = f"{window_failed} of {window_sent + window_failed} events failed since {iso(start)}"
            self.alerts.open(tenant_id, AlertKind.CAPI_ERRORS, pixel_id, detail)

    def recovered(self, tenant_id: str, pixel_id: str) -> bool:
        """The last two windows together sent something and are under the threshold."""
        current = window_start(self.now())
        sent = failed = 0
        for start in (current - WINDOW, current):
            item = self.items.get(*keys.capi_window(tenant_id, pixel_id, iso(start))) or {}
            sent += int(item.get("sent") or 0)
            failed += int(item.get("failed") or 0)
        return sent > 0 and not over_threshold(sent, failed, self.min_failures, self.min_rate)
