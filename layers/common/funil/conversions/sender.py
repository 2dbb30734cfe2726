"""capi_sender's logic: one SQS batch of conversion messages in, Meta requests out, outcomes recorded.

Per batch: parse, drop in-batch duplicates, load what the messages reference (batch reads), build
each event, claim it (funil.conversions.storage), group the ready ones by pixel (≤ 1000 per request),
send, and record every event's outcome. Failure classes (docs/conversions.md):

- transient (network error, timeout, 5xx, throttling codes, ``is_transient``, events_received
  short): the message goes back to the queue with backoff; the retry sends the identical event;
- permanent (invalid parameter on a single event, token, permission, unbuildable event): the message
  is dead-lettered with its reason and an alert is logged; replay once the cause is fixed;
- a request Meta rejects as a whole for an invalid parameter is split in halves and resent, so
  one bad event cannot sink the good ones.

Collaborators come in as arguments (:class:`SenderDeps`); nothing here knows about Lambda.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from funil import clock
from funil.adapters.meta_graph import GraphClient, GraphResult
from funil.alerts.incidents import NO_ALERTS, AlertSink
from funil.alerts.watch import CapiErrorWatch
from funil.conversions.builder import BuildSettings, BuildStatus, BuiltEvent, Sources, build_event
from funil.conversions.sources import SourceLoader
from funil.conversions.storage import ClaimOutcome, EventClaim, EventRecords, EventStatus
from funil.messages import AlertKind, ConversionMessage
from funil.observability import anomaly, count
from funil.ports import BatchReads

log = logging.getLogger(__name__)

MAX_EVENTS_PER_REQUEST = 1000  # Meta's limit per request
THROTTLING_CODES = frozenset({1, 2, 4, 17, 32, 341, 613, 368})
TOKEN_CODES = frozenset({190, 102})
PERMISSION_CODES = frozenset({10, 3, *range(200, 300)})
INVALID_PARAMETER = 100
CONVERSIONS_DLQ = "conversions"  # the dead-letter incident's subject (funil.alerts.checks knows the queue)


class Failure(StrEnum):
    TRANSIENT = "transient"
    SPLIT = "split"  # the request was rejected as a whole: find the bad event(s)
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class SqsRecord:
    message_id: str
    body: str
    receipt_handle: str = ""
    receive_count: int = 1

    @classmethod
    def from_event(cls, record: Mapping[str, Any]) -> SqsRecord:
        attributes = record.get("attributes") or {}
        count = str(attributes.get("ApproximateReceiveCount") or "1")
        return cls(
            message_id=str(record.get("messageId")),
            body=str(record.get("body") or ""),
            receipt_handle=str(record.get("receiptHandle") or ""),
            receive_count=int(count) if count.isascii() and count.isdigit() else 1,
        )


@dataclass(frozen=True, slots=True)
class SenderSettings:
    public_base_url: str
    lease_seconds: int = 90  # > the function's timeout, < the queue's visibility timeout
    max_events_per_request: int = MAX_EVENTS_PER_REQUEST
    backoff_base_seconds: int = 30
    backoff_max_seconds: int = 900


@dataclass
class SenderDeps:
    items: BatchReads
    deliveries: EventRecords
    graph: GraphClient
    access_token: Callable[[Mapping[str, Any]], str]  # pixel item → its token (funil.encryption), cached by the caller
    dead_letter: Callable[[str, Mapping[str, str]], object]  # (body, attributes)
    delay_retry: Callable[[str, int], None]  # (receipt handle, seconds): visibility backoff
    now: Callable[[], datetime]
    new_claim_id: Callable[[], str]
    settings: SenderSettings
    alerts: AlertSink = NO_ALERTS  # incidents: an invalid token, dead letters (docs/alerts.md)
    error_watch: CapiErrorWatch | None = None  # the per-pixel error rate


@dataclass
class BatchReport:
    failures: list[str] = field(default_factory=list)  # message ids to retry (batchItemFailures)
    outcomes: dict[str, str] = field(default_factory=dict)  # message id → outcome
    graph_requests: dict[str, int] = field(default_factory=dict)  # pixel → requests in this batch

    def response(self) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in self.failures]}


@dataclass
class _Pending:
    record: SqsRecord
    message: ConversionMessage
    built: BuiltEvent
    claim: EventClaim
    claim_id: str
    pixel: Mapping[str, Any]


def classify(result: GraphResult) -> Failure:
    """What to do with a request that did not fully succeed."""
    if result.network_error or result.status_code is None:
        return Failure.TRANSIENT
    error = result.error
    if error is None:  # 2xx but events_received short
        return Failure.TRANSIENT
    if error.is_transient or (error.code in THROTTLING_CODES) or result.status_code >= 500 or result.status_code == 429:
        return Failure.TRANSIENT
    if error.code in TOKEN_CODES or error.code in PERMISSION_CODES or result.status_code in (401, 403):
        return Failure.PERMANENT
    return Failure.SPLIT  # 100 invalid parameter and unknown 4xx: isolate the event(s) at fault


def _error_fields(result: GraphResult) -> dict[str, Any]:
    error = result.error
    message = result.network_error or (error.message if error else None)
    if error is None and not result.network_error:
        message = f"events_received {result.events_received} differs from events sent"
    return {
        "error_code": error.code if error else None,
        "error_subcode": error.subcode if error else None,
        "error_type": error.type if error else None,
        "error_message": message[:1000] if message else None,
        "error_user_message": error.user_message if error else None,
        "http_status": result.status_code,
        "fbtrace_id": result.fbtrace_id,
    }


class Sender:
    def __init__(self, deps: SenderDeps) -> None:
        self.deps = deps
        self.loader = SourceLoader(deps.items)

    # -- the batch ---------------------------------------------------------------------------------

    def process(self, records: Sequence[SqsRecord]) -> BatchReport:
        report = BatchReport()
        parsed: list[tuple[SqsRecord, ConversionMessage]] = []
        seen: set[str] = set()
        for record in records:
            try:
                message = ConversionMessage.model_validate_json(record.body)
            except ValidationError as error:
                reason = f"unparseable message: {error.error_count()} error(s)"
                self._dead_letter(report, record, None, "unparseable", reason)
                continue
            if message.deduplication_key in seen:
                report.outcomes[record.message_id] = "duplicate_in_batch"
                continue
            seen.add(message.deduplication_key)
            parsed.append((record, message))
        if not parsed:
            return report
        sources = self.loader.load([message for _, message in parsed], self.deps.now())
        settings = BuildSettings(self.deps.settings.public_base_url)
        ready: dict[str, list[_Pending]] = {}
        for (record, message), source in zip(parsed, sources, strict=True):
            pending = self._claim(report, record, message, source, settings)
            if pending is not None:
                ready.setdefault(str(message.pixel_id), []).append(pending)
        for pixel_id, group in ready.items():
            self._send_pixel(report, pixel_id, group)
        return report

    def _claim(
        self,
        report: BatchReport,
        record: SqsRecord,
        message: ConversionMessage,
        source: Sources,
        settings: BuildSettings,
    ) -> _Pending | None:
        now = self.deps.now()
        try:
            built = build_event(message, source, settings, now)
        except Exception:
            # Stored data the builder cannot read: this message only, never the batch.
            log.exception("cannot build %s", message.event_id)
            self._dead_letter(report, record, message, "build_error", "the stored items could not be read")
            return None
        claim_id = self.deps.new_claim_id()
        try:
            claim = self.deps.deliveries.claim(
                message,
                claim_id=claim_id,
                now=now,
                lease_seconds=self.deps.settings.lease_seconds,
                event_time=built.event_time,
            )
        except Exception:
            log.exception("claim failed for %s; retried", message.event_id)
            self._retry(report, record)
            return None
        if claim.outcome is ClaimOutcome.DUPLICATE:
            report.outcomes[record.message_id] = "duplicate"
            return None
        if claim.outcome is ClaimOutcome.BUSY:
            report.outcomes[record.message_id] = "busy"
            self._retry(report, record)
            return None
        if claim.event_time is not None and claim.event_time != built.event_time:
            built = build_event(message, source, settings, now, event_time=claim.event_time)
        pending = _Pending(record, message, built, claim, claim_id, source.pixel or {})
        if built.status is BuildStatus.READY:
            return pending
        status = {
            BuildStatus.SKIPPED: EventStatus.SKIPPED,
            BuildStatus.EXPIRED: EventStatus.EXPIRED,
            BuildStatus.INVALID: EventStatus.INVALID,
        }[built.status]
        fields = {"reason": built.reason, "event_time": built.event_time}
        self._finish(pending, status, fields)
        if status is EventStatus.INVALID:
            self._dead_letter(report, record, message, str(built.reason), str(built.reason))
        else:
            report.outcomes[record.message_id] = status.value
        return None

    # -- sending -----------------------------------------------------------------------------------

    def _send_pixel(self, report: BatchReport, pixel_id: str, group: list[_Pending]) -> None:
        source_pixel = group[0].pixel  # the same item for every event of the group
        ciphertext = source_pixel.get("access_token_ciphertext")
        if not ciphertext:
            for pending in group:
                self._permanent(report, pending, "pixel_without_access_token", {"error_message": "no access token"})
            return
        try:
            token = self.deps.access_token(source_pixel)
        except Exception:
            log.exception("cannot decrypt the access token of pixel %s; retried", pixel_id)
            for pending in group:
                self._transient(report, pending, {"error_message": "access token decryption failed"})
            return
        limit = self.deps.settings.max_events_per_request
        for start in range(0, len(group), limit):
            self._send_chunk(report, pixel_id, source_pixel, token, group[start : start + limit])

    def _send_chunk(
        self,
        report: BatchReport,
        pixel_id: str,
        pixel: Mapping[str, Any],
        token: str,
        chunk: list[_Pending],
    ) -> None:
        events = [pending.built.event for pending in chunk if pending.built.event is not None]
        report.graph_requests[pixel_id] = report.graph_requests.get(pixel_id, 0) + 1
        test_code = pixel.get("test_event_code")
        result = self.deps.graph.send_events(
            str(pixel["meta_pixel_id"]), token, events, str(test_code) if test_code else None
        )
        if result.ok and result.events_received == len(events):
            for pending in chunk:
                self._sent(report, pending, result)
            self._watch(chunk, sent=len(chunk), failed=0)
            return
        failure = classify(result)
        fields = _error_fields(result)
        if fields["error_code"] in TOKEN_CODES:
            count("CapiTokenInvalid")  # CapiTokenInvalidAlarm
            detail = f"Meta refused the pixel's access token (code {fields['error_code']})"
            self.deps.alerts.open(chunk[0].message.tenant_id, AlertKind.CAPI_TOKEN_INVALID, pixel_id, detail)
        if failure is Failure.SPLIT and len(chunk) > 1:
            middle = len(chunk) // 2
            log.warning(
                "Meta rejected %d events of pixel %s (code %s); splitting", len(chunk), pixel_id, fields["error_code"]
            )
            self._send_chunk(report, pixel_id, pixel, token, chunk[:middle])
            self._send_chunk(report, pixel_id, pixel, token, chunk[middle:])
            return
        self._watch(chunk, sent=0, failed=len(chunk))
        for pending in chunk:
            if failure is Failure.TRANSIENT:
                self._transient(report, pending, fields)
            else:
                reason = f"meta_error_{fields['error_code']}" if fields["error_code"] is not None else "meta_rejected"
                self._permanent(report, pending, reason, fields)

    def _watch(self, chunk: list[_Pending], *, sent: int, failed: int) -> None:
        if self.deps.error_watch is not None and chunk:
            message = chunk[0].message
            self.deps.error_watch.record(message.tenant_id, str(message.pixel_id), sent=sent, failed=failed)

    # -- outcomes ----------------------------------------------------------------------------------

    def _finish(self, pending: _Pending, status: EventStatus, fields: Mapping[str, Any]) -> None:
        try:
            kept = self.deps.deliveries.finish(
                pending.message, claim_id=pending.claim_id, status=status, now=self.deps.now(), fields=fields
            )
        except Exception:
            log.exception("outcome %s of %s not recorded", status, pending.message.event_id)
            return
        if not kept:
            log.warning(
                "lease of %s was taken over before its outcome %s was recorded", pending.message.event_id, status
            )

    def _event_fields(self, pending: _Pending) -> dict[str, Any]:
        built = pending.built
        return {
            "event_name": (built.event or {}).get("event_name"),
            "event_time": built.event_time,
            "payload": built.stored_payload(),
            "match_quality": built.match_quality.as_item() if built.match_quality else None,
            "notes": list(built.notes) or None,
        }

    def _sent(self, report: BatchReport, pending: _Pending, result: GraphResult) -> None:
        fields = {
            **self._event_fields(pending),
            "sent_at": clock.iso(self.deps.now()),
            "fbtrace_id": result.fbtrace_id,
            "meta_messages": list(result.messages) or None,
            "error_code": None,
            "error_subcode": None,
            "error_type": None,
            "error_message": None,
            "error_user_message": None,
            "http_status": result.status_code,
            "reason": None,
        }
        self._finish(pending, EventStatus.SENT, fields)
        report.outcomes[pending.record.message_id] = "sent"
        count("EventsSent")

    def _transient(self, report: BatchReport, pending: _Pending, fields: Mapping[str, Any]) -> None:
        self._finish(pending, EventStatus.RETRYING, {**self._event_fields(pending), **fields})
        self._retry(report, pending.record)

    def _permanent(self, report: BatchReport, pending: _Pending, reason: str, fields: Mapping[str, Any]) -> None:
        self._finish(pending, EventStatus.DEAD, {**self._event_fields(pending), **fields, "reason": reason})
        self._dead_letter(report, pending.record, pending.message, reason, str(fields.get("error_message") or reason))

    def _retry(self, report: BatchReport, record: SqsRecord) -> None:
        report.failures.append(record.message_id)
        report.outcomes[record.message_id] = "retry"
        count("EventsFailed", failure="retry")
        settings = self.deps.settings
        delay = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** max(0, record.receive_count - 1))
        if record.receipt_handle:
            try:
                self.deps.delay_retry(record.receipt_handle, delay)
            except Exception:
                log.warning("visibility backoff not set for %s", record.message_id)

    def _dead_letter(
        self, report: BatchReport, record: SqsRecord, message: ConversionMessage | None, reason: str, detail: str
    ) -> None:
        attributes = {"reason": reason[:256], "detail": detail[:1000], "dead_lettered_at": clock.iso(self.deps.now())}
        if message is not None:
            attributes.update({"kind": message.kind.value, "event_id": message.event_id})
        try:
            self.deps.dead_letter(record.body, attributes)
        except Exception:
            log.exception("dead-lettering %s failed; left on the queue", record.message_id)
            report.failures.append(record.message_id)
            report.outcomes[record.message_id] = "retry"
            return
        report.outcomes[record.message_id] = "dead_lettered"
        count("EventsFailed", failure="dead")
        anomaly(
            "capi_dead_letter",
            "conversion dead-lettered",
            reason=reason,
            detail=detail[:300],
            event_id=message.event_id if message else None,
            pixel_id=message.pixel_id if message else None,
            tenant_id=message.tenant_id if message else None,
        )
        if message is not None and reason.removeprefix("meta_error_") not in {str(code) for code in TOKEN_CODES}:
            # A refused token has its own incident; anything else waits in the queue for a replay.
            detail = f"{reason}: conversions are waiting in the dead-letter queue for a replay"
            self.deps.alerts.open(message.tenant_id, AlertKind.DEAD_LETTERS, CONVERSIONS_DLQ, detail)


def process_batch(records: Sequence[SqsRecord], deps: SenderDeps) -> BatchReport:
    return Sender(deps).process(records)
