"""Conversion delivery records: the claim that makes each (pixel, event id) go out once, and its outcome.

``CAPI#<pixel>#<event id>`` / ``CAPI`` (docs/data-model.md patterns 22, 23). A sender claims the
event with one conditional write that leases it for ``lease_seconds``; a crash between the claim and
the send leaves a lease that simply runs out, so the next delivery of the message sends it (nothing
is locked forever). ``sent`` and ``expired`` are final: a claim on them is a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping
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


class EventRecords:
    def __init__(self, table: Table) -> None:
        self.table = table

    def claim(
        self,
        message: ConversionMessage,
        *,
        claim_id: str,
        now: datetime,
        lease_seconds: int,
        event_time: int | None,
    ) -> EventClaim:
        """Lease the event for this sender; records ``event_time`` on the first claim only."""
        now_iso, now_s = clock.iso(now), clock.to_epoch_s(now)
        sets = [
            "#type = :type", "tenant_id = :tenant", "event_id = :event_id", "kind = :kind",
            "#status = :in_progress", "claim_id = :claim_id", "claim_expires_at = :lease",
            "attempts = if_not_exists(attempts, :zero) + :one", "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)", "gsi1pk = :gsi1pk", "gsi1sk = :now",
            "expires_at = :ttl",
        ]  # fmt: skip
        values: dict[str, Any] = {
            ":type": "capi_delivery",
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
            ":gsi1pk": keys.conversion_status_index(message.pixel_id, EventStatus.IN_PROGRESS)["gsi1pk"],
            ":ttl": clock.to_epoch_s(now + RECORD_RETENTION),
            ":sent": EventStatus.SENT.value,
            ":expired": EventStatus.EXPIRED.value,
        }
        if message.pixel_id:
            sets.append("pixel_id = :pixel")
            values[":pixel"] = message.pixel_id
        if event_time is not None:
            sets.append("event_time = if_not_exists(event_time, :event_time)")
            values[":event_time"] = event_time
        condition = (
            "attribute_not_exists(pk) OR (#status <> :sent AND #status <> :expired"
            " AND (#status <> :in_progress OR claim_expires_at < :now_s))"
        )
        key = keys.conversion_record(message.pixel_id, message.event_id)
        try:
            record = self.table.update(
                *key,
                "SET " + ", ".join(sets),
                values,
                condition=condition,
                names={"#type": "type", "#status": "status"},
                return_values="ALL_NEW",
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            current = self.table.get(*key, consistent=True) or {}
            final = current.get("status") in FINAL
            return EventClaim(ClaimOutcome.DUPLICATE if final else ClaimOutcome.BUSY, current)
        return EventClaim(ClaimOutcome.CLAIMED, record)

    def finish(
        self,
        message: ConversionMessage,
        *,
        claim_id: str,
        status: EventStatus,
        now: datetime,
        fields: Mapping[str, Any],
    ) -> bool:
        """Record the outcome of our claim (and release the lease). False when the lease was lost."""
        now_iso = clock.iso(now)
        values: dict[str, Any] = {":status": status.value, ":now": now_iso, ":claim_id": claim_id}
        values[":gsi1pk"] = keys.conversion_status_index(message.pixel_id, status)["gsi1pk"]
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
                *keys.conversion_record(message.pixel_id, message.event_id),
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

    def get(self, pixel_id: str | None, event_id: str) -> dict[str, Any] | None:
        return self.table.get(*keys.conversion_record(pixel_id, event_id), consistent=True)

    def by_status(self, pixel_id: str, status: EventStatus) -> list[dict[str, Any]]:
        return list(
            self.table.query(
                "gsi1pk = :pk",
                {":pk": keys.conversion_status_index(pixel_id, status)["gsi1pk"]},
                index="gsi1",
                forward=False,
            )
        )
