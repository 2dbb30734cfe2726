"""The periodic resolution of incidents whose cause may be gone, run from BotHealthFunction's schedule
after the bots (docs/alerts.md). Each kind's open incidents come from pattern 54; each check is
guarded on its own, so one that fails leaves the others to run.

- ``gateway_failing`` / ``gateway_failover``: the gateway is probed with its cheapest authenticated
  read (``check_credentials``); only an answer that parses as the gateway's own resolves — a 503, a
  timeout, a 4xx or a body that is not the gateway's API are all "still failing". A gateway removed
  or disabled resolves its incidents (routing no longer tries it).
- ``capi_token_invalid``: the pixel's delivery records (pattern 23) show an event sent since the
  incident opened.
- ``capi_errors``: the pixel's last two windows sent something and are under the threshold.
- ``dead_letters``: the queue the incident names is empty.
- ``bot_token_refused`` / ``bot_webhook_failing``: judged by the health check itself; here only a
  bot removed or disabled (which the check skips) resolves its incidents. A pixel removed or
  disabled resolves its Conversions API incidents.
- ``voided_attempt_paid`` is never resolved here: a person checks the double payment and resolves it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from funil import keys
from funil.alerts.incidents import Incidents
from funil.alerts.watch import CapiErrorWatch
from funil.event_kinds import AlertKind
from funil.payments.ports import Deps as PaymentDeps
from funil.ports import Items

log = logging.getLogger(__name__)


@dataclass
class AlertChecks:
    """Args:
    incidents: the incident items.
    items: the application table (gateways, delivery records).
    gateways: the payments core, whose adapters probe a gateway (``gateway_answers``).
    error_watch: the Conversions API error-rate windows.
    queue_depth: a dead-letter incident's subject → the messages waiting there (None: unknown queue).
    """

    incidents: Incidents
    items: Items
    gateways: PaymentDeps
    error_watch: CapiErrorWatch
    queue_depth: Callable[[str], int | None]

    def run(self) -> dict[str, int]:
        """Resolve what has recovered; the count resolved per kind."""
        resolved: dict[str, int] = {}
        checks: dict[AlertKind, Callable[[dict[str, Any]], str | None]] = {
            AlertKind.BOT_TOKEN_REFUSED: self._bot,
            AlertKind.BOT_WEBHOOK_FAILING: self._bot,
            AlertKind.GATEWAY_FAILING: self._gateway,
            AlertKind.GATEWAY_FAILOVER: self._gateway,
            AlertKind.CAPI_TOKEN_INVALID: self._capi_token,
            AlertKind.CAPI_ERRORS: self._capi_errors,
            AlertKind.DEAD_LETTERS: self._dead_letters,
        }
        for kind, recovered in checks.items():
            try:
                for item in list(self.incidents.open_of_kind(kind)):
                    why = recovered(item)
                    if why and self.incidents.resolve(str(item["tenant_id"]), kind, str(item["subject"]), why):
                        resolved[kind.value] = resolved.get(kind.value, 0) + 1
            except Exception:
                log.exception("incident check failed", extra={"kind": kind.value})
        if resolved:
            log.info("incidents resolved by the periodic checks", extra={"resolved": resolved})
        return resolved

    def _gateway(self, incident: dict[str, Any]) -> str | None:
        gateway = self._in_use(keys.gateway(str(incident["subject"])), incident)
        if gateway is None:
            return "the gateway was removed or disabled"
        return "the gateway answers again" if gateway_answers(self.gateways.adapter, gateway) else None

    def _bot(self, incident: dict[str, Any]) -> str | None:
        """The health check judges the bots it checks; this only closes what it will never check again."""
        return None if self._in_use(keys.bot(str(incident["subject"])), incident) else "the bot was removed or disabled"

    def _in_use(self, key: tuple[str, str], incident: dict[str, Any]) -> dict[str, Any] | None:
        """The incident's subject, if it still exists, is the incident's tenant's and is enabled."""
        item = self.items.get(*key)
        if item is None or item.get("tenant_id") != incident["tenant_id"] or not item.get("enabled", True):
            return None
        return item

    def _capi_token(self, incident: dict[str, Any]) -> str | None:
        if self._in_use(keys.pixel(str(incident["subject"])), incident) is None:
            return "the pixel was removed or disabled"
        index = keys.conversion_status_index(str(incident["subject"]), "sent")
        sent_since = self.items.query(
            "gsi1pk = :pk AND gsi1sk > :since",
            {":pk": index["gsi1pk"], ":since": str(incident["opened_at"])},
            index="gsi1",
            limit=1,
        )
        return "Meta accepts the pixel's events again" if next(iter(sent_since), None) else None

    def _capi_errors(self, incident: dict[str, Any]) -> str | None:
        if self._in_use(keys.pixel(str(incident["subject"])), incident) is None:
            return "the pixel was removed or disabled"
        recovered = self.error_watch.recovered(str(incident["tenant_id"]), str(incident["subject"]))
        return "the pixel's events are sent again" if recovered else None

    def _dead_letters(self, incident: dict[str, Any]) -> str | None:
        return "the dead-letter queue is empty" if self.queue_depth(str(incident["subject"])) == 0 else None


def gateway_answers(adapter_of: Callable[[dict[str, Any]], Any], gateway: Mapping[str, Any]) -> bool:
    """The gateway's credentials check passed: it answered, as itself, with our credentials accepted.
    Anything raised (a 5xx or 429 is a transient ``GatewayError``, a timeout too) is no recovery."""
    try:
        adapter_of(dict(gateway)).check_credentials()
    except Exception as error:
        log.info("gateway probe failed", extra={"gateway_id": gateway.get("gateway_id"), "error": type(error).__name__})
        return False
    return True
