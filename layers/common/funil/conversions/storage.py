"""Conversion delivery records: the claim that makes each (pixel, event id) go out once, and its outcome.

``CAPI#<pixel>#<event id>`` / ``CAPI`` (docs/data-model.md patterns 22, 23); the destinations beyond
Meta keep the same records under their own keys (:data:`DESTINATION_RECORDS`: ``DESTOUT#<destination>#
<event id>``, pattern 49), one scheme parameterised by its :class:`RecordScheme`. A sender claims the
event with one conditional write that leases it for ``lease_seconds``; a crash between the claim and
the send leaves a lease that simply runs out, so the next delivery of the message sends it (nothing
is locked forever). ``sent`` and ``expired`` are final: a claim on them is a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from funil import clock, keys
from funil.adapters.dynamo import Table, is_conditional_failure
from funil.messages import ConversionMessage

RECORD_RETENTION = timedelta(days=90)  # TTL only tidies; the dashboard shows 90 days


class EventStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    SENT = "sent"
    RETRYING = "retrying"  # a transient failure: the message is back on the queue
    DEAD = "dead"  # a permanent failure: dead-lettered with the reason, replayable
    EXPIRED = "expired"  # older than 7 days: never sent
    SKIPPED = "skipped"  # no pixel, pixel disabled, event switched off
    INVALID = "invalid"  # cannot be built from what is stored: dead-lettered


FINAL = frozenset({EventStatus.SENT, EventStatus.EXPIRED})


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"
    DUPLICATE = "duplicate"  # already sent (or expired): acknowledge
    BUSY = "busy"  # another sender holds a live lease: retry later


@dataclass(frozen=True, slots=True)
class EventClaim:
    outcome: ClaimOutcome
    record: Mapping[str, Any]

    @property
    def attempts(self) -> int:
        return int(self.record.get("attempts") or 0)

    @property
    def event_time(self) -> int | None:
        value = self.record.get("event_time")
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class RecordScheme:
    """Where a kind of delivery record lives: its key and status index per channel (a pixel, a
    destination) and event id, its ``type``, and the attribute that names the channel."""

    record_type: str
    channel_attribute: str
    key: Callable[[str | None, str], tuple[str, str]]
    status_index: Callable[[str | None, str], dict[str, str]]


CAPI_RECORDS = RecordScheme("capi_delivery", "pixel_id", keys.conversion_record, keys.conversion_status_index)
DESTINATION_RECORDS = RecordScheme(
    "destination_delivery", "destination_id", keys.destination_record, keys.destination_status_index
)


class EventRecords:
    """Claims and outcomes of one scheme's records. ``channel`` is the pixel (Meta's: the message's
    ``pixel_id`` when not given) or the destination the event goes to."""

    def __init__(self, table: Table, scheme: RecordScheme = CAPI_RECORDS) -> None:
        self.table = table
        self.scheme = scheme

    def _channel(self, message: ConversionMessage, channel: str | None) -> str | None:
        return channel if channel is not None else message.pixel_id

    def claim(
        self,
        message: ConversionMessage,
        *,
        claim_id: str,
        now: datetime,
        lease_seconds: int,
        event_time: int | None,
        channel: str | None = None,
        reclaim_dead: bool = True,
    ) -> EventClaim:
        """Lease the event for this sender; records ``event_time`` on the first claim only.
        ``reclaim_dead`` False: a ``dead``/``invalid`` record is final too (only a replay resends it)."""
        now_iso, now_s = clock.iso(now), clock.to_epoch_s(now)
        channel = self._channel(message, channel)
        sets = [
            "#type = :type", "tenant_id = :tenant", "event_id = :event_id", "kind = :kind",
            "#status = :in_progress", "claim_id = :claim_id", "claim_expires_at = :lease",
            "attempts = if_not_exists(attempts, :zero) + :one", "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)", "gsi1pk = :gsi1pk", "gsi1sk = :now",
            "expires_at = :ttl",
        ]  # fmt: skip
        values: dict[str, Any] = {
            ":type": self.scheme.record_type,
            ":tenant": message.tenant_id,
            ":event_id": message.event_id,
            ":kind": message.kind.value,
            ":in_progress": EventStatus.IN_PROGRESS.value,
            ":claim_id": claim_id,
            ":lease": now_s + lease_seconds,
            ":zero": 0,
            ":one": 1,
            ":now": now_iso,
            ":now_s": now_s,
            ":gsi1pk": self.scheme.status_index(channel, EventStatus.IN_PROGRESS)["gsi1pk"],
            ":ttl": clock.to_epoch_s(now + RECORD_RETENTION),
        }
        if channel:
            sets.append("#channel = :channel")
            values[":channel"] = channel
        if event_time is not None:
            sets.append("event_time = if_not_exists(event_time, :event_time)")
            values[":event_time"] = event_time
        final = FINAL if reclaim_dead else FINAL | {EventStatus.DEAD, EventStatus.INVALID}
        for status in final:
            values[f":final_{status.value}"] = status.value
        condition = (
            "attribute_not_exists(pk) OR ("
            + " AND ".join(f"#status <> :final_{status.value}" for status in sorted(final))
            + " AND (#status <> :in_progress OR claim_expires_at < :now_s))"
        )
        key = self.scheme.key(channel, message.event_id)
        names = {"#type": "type", "#status": "status"}
        if channel:
            names["#channel"] = self.scheme.channel_attribute
        try:
            record = self.table.update(
                *key,
                "SET " + ", ".join(sets),
                values,
                condition=condition,
                names=names,
                return_values="ALL_NEW",
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            current = self.table.get(*key, consistent=True) or {}
            done = current.get("status") in final
            return EventClaim(ClaimOutcome.DUPLICATE if done else ClaimOutcome.BUSY, current)
        return EventClaim(ClaimOutcome.CLAIMED, record)

    def finish(
        self,
        message: ConversionMessage,
        *,
        claim_id: str,
        status: EventStatus,
        now: datetime,
        fields: Mapping[str, Any],
        channel: str | None = None,
    ) -> bool:
        """Record the outcome of our claim (and release the lease). False when the lease was lost."""
        now_iso = clock.iso(now)
        channel = self._channel(message, channel)
        values: dict[str, Any] = {":status": status.value, ":now": now_iso, ":claim_id": claim_id}
        values[":gsi1pk"] = self.scheme.status_index(channel, status)["gsi1pk"]
        sets = ["#status = :status", "updated_at = :now", "gsi1pk = :gsi1pk", "gsi1sk = :now"]
        removes = ["claim_expires_at", "claim_id"]
        names = {"#status": "status"}
        for index, (name, value) in enumerate(fields.items()):
            placeholder = f"#f{index}"
            names[placeholder] = name
            if value is None:
                removes.append(placeholder)
            else:
                sets.append(f"{placeholder} = :f{index}")
                values[f":f{index}"] = value
        try:
            self.table.update(
                *self.scheme.key(channel, message.event_id),
                "SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
                values,
                condition="claim_id = :claim_id",
                names=names,
            )
        except Exception as error:
            if is_conditional_failure(error):
                return False
            raise
        return True

    def get(self, channel: str | None, event_id: str) -> dict[str, Any] | None:
        return self.table.get(*self.scheme.key(channel, event_id), consistent=True)

    def by_status(self, channel: str, status: EventStatus) -> list[dict[str, Any]]:
        return list(
            self.table.query(
                "gsi1pk = :pk",
                {":pk": self.scheme.status_index(channel, status)["gsi1pk"]},
                index="gsi1",
                forward=False,
            )
        )
