"""DestinationsFunction's logic: one sale event in, one request to each of its tenant's destinations.

Per message: parse it; read the tenant's enabled destinations that take its kind (pattern 4); load
the payment, payer, lead and click once (``funil.conversions.sources.SourceLoader``, as the Meta
sender does); then, for each destination, build its body (``funil.destinations.payloads``), claim
``DESTOUT#<destination>#<event id>`` (``funil.conversions.storage`` with :data:`DESTINATION_RECORDS`:
the same scheme as Meta's records), send, and record the outcome. Failure classes (``funil.adapters.outgoing``):

- transient (timeout, network, 408/425/429, 5xx, TikTok's rate limit): recorded ``retrying``; the
  message goes back to the queue with backoff (:class:`RetryLater`); destinations that already took
  the event hold a ``sent`` record and are not sent again;
- permanent (401/403 ``auth_rejected``, other 4xx, an event that cannot be built): recorded ``dead``,
  and a copy of the message is dead-lettered naming the destination; automatic retries never
  resend a ``dead`` record, a replay (``python -m funil.destinations.replay``) does.

Collaborators come in as arguments (:class:`DestinationDeps`); nothing here knows about Lambda.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from funil import clock, keys
from funil.adapters.outgoing import Delivery, Failure
from funil.alerts.incidents import NO_ALERTS, AlertSink
from funil.conversions.builder import Sources
from funil.conversions.sources import SourceLoader
from funil.conversions.storage import ClaimOutcome, EventRecords, EventStatus
from funil.destinations import payloads
from funil.destinations.models import DestinationKind
from funil.messages import AlertKind, ConversionMessage
from funil.observability import anomaly, count
from funil.ports import BatchReads

log = logging.getLogger(__name__)

DESTINATION_ATTRIBUTE = "destination_id"  # on a dead-lettered copy, and on its replay
DESTINATIONS_DLQ = "destinations"  # the dead-letter incident's subject (funil.alerts.checks knows the queue)


class RetryLater(Exception):
    """A destination failed transiently: the message goes back to the queue."""


@dataclass(frozen=True, slots=True)
class DestinationSettings:
    public_base_url: str  # the bridge page's origin (TikTok's page.url)
    lease_seconds: int = 90
    backoff_base_seconds: int = 30
    backoff_max_seconds: int = 900


@dataclass
class DestinationDeps:
    items: BatchReads
    tenant_destinations: Callable[[str], list[dict[str, Any]]]  # pattern 4: a tenant's destination items
    records: EventRecords
    secret: Callable[[Mapping[str, Any]], str]  # destination item → its secret (funil.encryption), cached
    deliver: Callable[[Mapping[str, Any], str, str, Mapping[str, Any]], Delivery]  # (item, secret, event id, body)
    dead_letter: Callable[[str, Mapping[str, str]], object]  # (body, attributes)
    delay_retry: Callable[[str, int], None]  # (receipt handle, seconds)
    now: Callable[[], datetime]
    new_claim_id: Callable[[], str]
    settings: DestinationSettings
    alerts: AlertSink = NO_ALERTS  # a tenant's events waiting in the dead-letter queue (docs/alerts.md)


@dataclass(frozen=True, slots=True)
class Incoming:
    message_id: str
    body: str
    receipt_handle: str = ""
    receive_count: int = 1
    destination_id: str | None = None  # a replay of one destination's dead-lettered event


def takes(destination: Mapping[str, Any], message: ConversionMessage) -> bool:
    return (
        destination.get("type") == "destination"
        and destination.get("tenant_id") == message.tenant_id
        and destination.get("enabled", True) is True
        and message.kind.value in (destination.get("events") or [])
    )


class DestinationSender:
    def __init__(self, deps: DestinationDeps) -> None:
        self.deps = deps
        self.loader = SourceLoader(deps.items)

    def handle(self, incoming: Incoming) -> str:
        """The message's outcome; raises :class:`RetryLater` when a destination is to be retried."""
        try:
            message = ConversionMessage.model_validate_json(incoming.body)
        except ValidationError as error:
            self._dead_letter(incoming, None, None, "unparseable", f"{error.error_count()} error(s)")
            return "dead_lettered"
        destinations = [item for item in self.deps.tenant_destinations(message.tenant_id) if takes(item, message)]
        if incoming.destination_id is not None:
            destinations = [item for item in destinations if item.get("destination_id") == incoming.destination_id]
        if not destinations:
            return "no_destination"
        now = self.deps.now()
        sources = self.loader.load([message], now)[0]
        outcomes = [self._one(incoming, message, sources, item) for item in destinations]
        if "retry" in outcomes:
            self._delay(incoming)
            raise RetryLater(f"{outcomes.count('retry')} destination(s) to retry for {message.event_id}")
        return ",".join(sorted(set(outcomes)))

    def _one(
        self, incoming: Incoming, message: ConversionMessage, sources: Sources, destination: Mapping[str, Any]
    ) -> str:
        destination_id = str(destination["destination_id"])
        kind = DestinationKind(str(destination["kind"]))
        now = self.deps.now()
        built = payloads.build(
            kind, message, sources, destination.get("config") or {}, now=now, origin=self.deps.settings.public_base_url
        )
        claim_id = self.deps.new_claim_id()
        try:
            claim = self.deps.records.claim(
                message,
                claim_id=claim_id,
                now=now,
                lease_seconds=self.deps.settings.lease_seconds,
                event_time=built.event_time,
                channel=destination_id,
                reclaim_dead=incoming.destination_id is not None,
            )
        except Exception:
            log.exception("claim failed for %s to %s; retried", message.event_id, destination_id)
            return "retry"
        if claim.outcome is ClaimOutcome.DUPLICATE:
            return "duplicate"
        if claim.outcome is ClaimOutcome.BUSY:
            return "retry"

        def finish(status: EventStatus, fields: Mapping[str, Any]) -> None:
            base = {"destination_kind": kind.value, "summary": built.summary, "event_time": built.event_time}
            try:
                kept = self.deps.records.finish(
                    message, claim_id=claim_id, status=status, now=self.deps.now(), fields={**base, **fields},
                    channel=destination_id,
                )  # fmt: skip
            except Exception:
                log.exception("outcome %s of %s to %s not recorded", status, message.event_id, destination_id)
                return
            if not kept:
                log.warning("lease of %s to %s was taken over", message.event_id, destination_id)

        if built.status is not payloads.BodyStatus.READY or built.body is None:
            status = {
                payloads.BodyStatus.SKIPPED: EventStatus.SKIPPED,
                payloads.BodyStatus.EXPIRED: EventStatus.EXPIRED,
            }.get(built.status, EventStatus.INVALID)
            if status is EventStatus.INVALID:  # the copy first: a record is final only once its copy is kept
                self._dead_letter(incoming, message, destination, str(built.reason), str(built.reason))
            finish(status, {"reason": built.reason})
            return "dead_lettered" if status is EventStatus.INVALID else status.value
        try:
            secret = self.deps.secret(destination)
        except Exception:
            log.exception("cannot decrypt the secret of destination %s; retried", destination_id)
            finish(EventStatus.RETRYING, {"reason": "secret_not_decrypted"})
            return "retry"
        delivery = self.deps.deliver(destination, secret, message.event_id, built.body)
        fields = {
            "http_status": delivery.http_status,
            "reference": delivery.reference,
            "error_message": delivery.detail,
            "reason": delivery.reason,
        }
        if delivery.ok:
            finish(EventStatus.SENT, {**fields, "sent_at": clock.iso(self.deps.now())})
            count("DestinationEventsSent", destination=kind.value)
            return "sent"
        if delivery.failure is Failure.TRANSIENT:
            finish(EventStatus.RETRYING, fields)
            count("DestinationEventsFailed", destination=kind.value, failure="retry")
            return "retry"
        # The copy first: when the dead-letter queue cannot take it, the message is retried whole and
        # this destination, still leased, is tried again once the lease runs out.
        # The destination's own words stay on the record (the tenant's trace): a receiver may echo
        # the buyer's data back, which neither a log line nor the queue's attributes may carry.
        answered = f"HTTP {delivery.http_status}" if delivery.http_status is not None else "no answer"
        self._dead_letter(incoming, message, destination, str(delivery.reason), f"{delivery.reason} ({answered})")
        finish(EventStatus.DEAD, fields)
        return "dead_lettered"

    def _delay(self, incoming: Incoming) -> None:
        settings = self.deps.settings
        exponent = max(0, incoming.receive_count - 1)
        delay = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2**exponent)
        if incoming.receipt_handle:
            try:
                self.deps.delay_retry(incoming.receipt_handle, delay)
            except Exception:
                log.warning("visibility backoff not set for %s", incoming.message_id)

    def _dead_letter(
        self,
        incoming: Incoming,
        message: ConversionMessage | None,
        destination: Mapping[str, Any] | None,
        reason: str,
        detail: str,
    ) -> None:
        attributes = {"reason": reason[:256], "detail": detail[:1000], "dead_lettered_at": clock.iso(self.deps.now())}
        if message is not None:
            attributes.update({"kind": message.kind.value, "event_id": message.event_id})
        if destination is not None:
            attributes[DESTINATION_ATTRIBUTE] = str(destination["destination_id"])
            attributes["destination_kind"] = str(destination["kind"])
        # Raises when the dead-letter queue cannot be reached: the message is then retried whole.
        self.deps.dead_letter(incoming.body, attributes)
        count("DestinationEventsFailed", failure="dead")
        anomaly(
            "destination_dead_letter",
            "destination event dead-lettered",
            reason=reason,
            detail=detail[:300],
            event_id=message.event_id if message else None,
            destination_id=attributes.get(DESTINATION_ATTRIBUTE),
            tenant_id=message.tenant_id if message else None,
        )
        if message is not None and destination is not None:
            detail = (
                f"{destination['kind']} {destination['destination_id']}: {reason}; "
                "sale events are waiting in the dead-letter queue for a replay"
            )
            self.deps.alerts.open(message.tenant_id, AlertKind.DEAD_LETTERS, DESTINATIONS_DLQ, detail)


def destination_items(items: Any, tenant_id: str) -> list[dict[str, Any]]:
    """A tenant's destinations (pattern 4 on gsi1; a handful per tenant)."""
    index = keys.tenant_destination_index(tenant_id)
    return list(
        items.query(
            "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
            {":pk": index["gsi1pk"], ":prefix": index["gsi1sk"]},
            index="gsi1",
        )
    )
