"""The counters in the table (pattern 24): one cube per stream batch, tenant and day, read back summed.

A batch's cube for a tenant's day is one item, ``COUNT#<tenant>#<day>`` / ``CHUNK#<id>``, where
``<id>`` is the stream eventID of a record of the batch that counted for that tenant and day (the
first one, in the order the consumer counts them: a deterministic choice for any set of records).
Writing it is an overwrite, so a batch that comes again (a retry, the same records again) writes the
same items with the same content: counted once. A batch's chunks are written all or none (one
transaction when there are several), so an attempt that failed leaves nothing behind for a later,
split attempt (``BisectBatchOnFunctionError``) to count again. Nothing is read before it is written
and nothing is incremented.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from funil import keys
from funil.adapters.dynamo import Write
from funil.analytics.cube import Cube, UnreadableCube
from funil.clock import iso
from funil.ports import Items

log = logging.getLogger(__name__)
CHUNK_TYPE = "count_chunk"


def chunk_item(tenant_id: str, day: str, chunk_id: str, cube: Cube, *, first_record_at: datetime) -> dict[str, Any]:
    pk, sk = keys.count_chunk(tenant_id, day, chunk_id)
    return {
        "pk": pk,
        "sk": sk,
        "type": CHUNK_TYPE,
        "tenant_id": tenant_id,
        "day": day,
        "first_record_at": iso(first_record_at),
        "cube": cube.encode(),
    }


class CounterTable(Items, Protocol):
    """The table as the counters write it: items, and transactions for a batch's several chunks."""

    def transact_write(self, writes: Sequence[Write]) -> None: ...


# DynamoDB's transaction limits: 100 items and 4 MB in all (a chunk is at most ~350 KB, Tally's cap).
TRANSACTION_ITEMS = 100
TRANSACTION_BYTES = 4_000_000


def write_chunks(items: CounterTable, chunks: Sequence[Mapping[str, Any]]) -> None:
    """One batch's chunks, all or none: one put when there is one, else one transaction (more only
    past DynamoDB's limits, which a batch of 1,000 records across 100 tenant-days would take)."""
    if len(chunks) == 1:
        items.put(chunks[0])
        return
    group: list[Write] = []
    size = 0
    for chunk in chunks:
        chunk_size = len(chunk["cube"]) + 200
        if group and (len(group) == TRANSACTION_ITEMS or size + chunk_size > TRANSACTION_BYTES):
            items.transact_write(group)
            group, size = [], 0
        group.append(Write(item=chunk))
        size += chunk_size
    if group:
        items.transact_write(group)


class TooMuchToRead(ValueError):
    """A day holds more chunks than the reader may read for one answer."""


def _blob(value: Any) -> bytes:
    return bytes(getattr(value, "value", value))  # boto3 reads binary attributes as Binary


def read_day(items: Items, tenant_id: str, day: str, *, max_chunks: int) -> Cube:
    """Every counter of a tenant's day, summed. A chunk that cannot be read is logged and left out;
    more than ``max_chunks`` chunks raise TooMuchToRead (every read is bounded)."""
    pk, prefix = keys.counts(tenant_id, day)
    cube = Cube()
    query = items.query("pk = :pk AND begins_with(sk, :prefix)", {":pk": pk, ":prefix": prefix})
    for read, item in enumerate(query, start=1):
        if read > max_chunks:
            raise TooMuchToRead(f"{day} has more than {max_chunks} counter chunks")
        try:
            cube.merge(Cube.decode(_blob(item.get("cube", b""))))
        except (UnreadableCube, TypeError) as error:
            log.error("unreadable counters chunk %s %s: %s", item.get("pk"), item.get("sk"), error)
    return cube
