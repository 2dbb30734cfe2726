"""Routing's alerts (``funil.payments.routing``): a gateway that failed a charge opens an incident,
``gateway_failover`` when another gateway took the charge, ``gateway_failing`` when none did (the
buyer got no PIX); a gateway that creates a charge resolves its own incidents.

The resolving side reads before it writes: one eventually consistent Query of the tenant's gateway
incidents per charge (half a read unit), so a healthy checkout never pays for a failed conditional
write. An incident opened a moment before is missed by that read; the periodic probe
(``funil.alerts.checks``) resolves it. Nothing here raises into the checkout.
"""

from __future__ import annotations

import logging

from funil import keys
from funil.alerts.incidents import AlertSink
from funil.event_kinds import AlertKind
from funil.ports import Items

log = logging.getLogger(__name__)

GATEWAY_KINDS = (AlertKind.GATEWAY_FAILING, AlertKind.GATEWAY_FAILOVER)


def gateway_alerts(alerts: AlertSink, items: Items, tenant_id: str, failed: list[str], *, charged: str | None) -> None:
    for gateway_id in dict.fromkeys(failed):
        if charged is not None:
            detail = f"a charge failed at gateway {gateway_id}; gateway {charged} took it"
            alerts.open(tenant_id, AlertKind.GATEWAY_FAILOVER, gateway_id, detail)
        else:
            detail = f"a charge failed at gateway {gateway_id} and no other gateway took it: the buyer got no PIX"
            alerts.open(tenant_id, AlertKind.GATEWAY_FAILING, gateway_id, detail)
    if charged is not None:
        _resolve_charged(alerts, items, tenant_id, charged)


def _resolve_charged(alerts: AlertSink, items: Items, tenant_id: str, gateway_id: str) -> None:
    try:
        pk, prefix = keys.tenant_incidents(tenant_id, kinds_starting="gateway_")
        found = items.query("pk = :pk AND begins_with(sk, :sk)", {":pk": pk, ":sk": prefix})
        open_kinds = [
            AlertKind(item["kind"]) for item in found if item.get("subject") == gateway_id and item.get("gsi2pk")
        ]
    except Exception:
        log.exception("gateway incidents not read", extra={"gateway_id": gateway_id})
        return
    for kind in open_kinds:
        alerts.resolve(tenant_id, kind, gateway_id, f"gateway {gateway_id} created a charge")
