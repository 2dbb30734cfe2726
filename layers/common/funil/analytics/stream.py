"""The table's stream → the funnel's counters (docs/analytics.md): clicks, leads, checkouts, sales, refunds.

One batch of stream records becomes, per tenant and Brasília day, one cube of counters written as
one item (``funil.analytics.storage``): never an increment, so a batch that comes again is counted
once. Facts come from each record's own images (``funil.analytics.facts``); clicks are judged here
(``funil.analytics.quality``) because a burst from one network is only seen across the batch, and
the suspect ones get their verdict written onto the click (``q``), for the sale debugger.

The event source mapping passes only what counts (its FilterCriteria: clicks, leads inserted;
payments inserted or modified) and treats any error as the whole batch's: a partial answer would
move the checkpoint into the middle of a chunk.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from funil import keys
from funil.adapters.dynamo import deserialize
from funil.analytics.cube import Cube
from funil.analytics.dimensions import DIMENSIONS, attributed
from funil.analytics.facts import Fact, NetworkOf, business_day, lead_facts, payment_facts
from funil.analytics.storage import CounterTable, chunk_item, write_chunks
from funil.click.fields import click_fields
from funil.observability import anomaly, count
from funil.ports import Items

log = logging.getLogger(__name__)

SUSPECT, CLEAN = "suspect", "clean"
# The items counted, by their sort keys (the event source mapping's FilterCriteria passes only these).
CLICK, LEAD, PAYMENT = keys.click("")[1], keys.lead("", "")[1], keys.payment("")[1]


# (click fields, what the IP database knows of its network, clicks from its /24 in the batch) → verdict
AssessClick = Callable[..., Any]


@dataclass
class AnalyticsStreamDeps:
    items: CounterTable
    network_of: Callable[[str | None], Any]  # funil.adapters.ipdb lookup: NetworkInfo | None
    assess_click: AssessClick  # funil.analytics.quality.assess_click


@dataclass
class Record:
    """A stream record as the counters read it."""

    event_id: str
    name: str  # INSERT | MODIFY | REMOVE
    at: datetime
    new: dict[str, Any]
    old: dict[str, Any] | None

    @classmethod
    def from_event(cls, raw: Mapping[str, Any]) -> Record:
        stream = raw.get("dynamodb") or {}
        seconds = stream.get("ApproximateCreationDateTime")
        at = datetime.fromtimestamp(float(seconds), UTC) if seconds is not None else datetime.now(UTC)
        return cls(
            event_id=str(raw["eventID"]),
            name=str(raw.get("eventName")),
            at=at,
            new=deserialize(_binary_safe(stream.get("NewImage") or {})),
            old=deserialize(_binary_safe(stream["OldImage"])) if "OldImage" in stream else None,
        )


def _binary_safe(image: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda's JSON event carries binary attributes as base64: bytes again, as boto3 reads them."""
    shaped: dict[str, Any] = {}
    for name, value in image.items():
        if isinstance(value, Mapping) and "B" in value and isinstance(value["B"], str):
            shaped[name] = {"B": base64.b64decode(value["B"])}
        else:
            shaped[name] = value
    return shaped


# Distinct values a chunk keeps per dimension; later ones count as OTHER. Real batches stay far
# below it; it bounds a chunk built from hostile clicks (random 100-character UTMs in every field)
# to ~350 KB, under DynamoDB's 400 KB item limit.
MAX_VALUES_PER_DIMENSION = 100
OTHER = "(other)"


@dataclass
class _Chunk:
    first: Record
    cube: Cube = field(default_factory=Cube)
    seen: list[set[str]] = field(default_factory=lambda: [set() for _ in DIMENSIONS])

    def add(self, fact: Fact) -> None:
        key = []
        for value, seen in zip(fact.key, self.seen, strict=True):
            kept = OTHER if value not in seen and len(seen) >= MAX_VALUES_PER_DIMENSION else value
            seen.add(kept)
            key.append(kept)
        self.cube.add(tuple(key), fact.metrics)
        for latency, seconds in fact.latency:
            self.cube.observe(latency, seconds)


class Tally:
    """The batch's chunks, one per (tenant, day), each named by the first record that counted in it."""

    def __init__(self) -> None:
        self.chunks: dict[tuple[str, str], _Chunk] = {}

    def add(self, record: Record, facts: Iterable[Fact]) -> None:
        for fact in facts:
            chunk = self.chunks.get((fact.tenant_id, fact.day))
            if chunk is None:
                chunk = self.chunks[(fact.tenant_id, fact.day)] = _Chunk(record)
            chunk.add(fact)

    def items(self) -> list[dict[str, Any]]:
        return [
            chunk_item(tenant_id, day, chunk.first.event_id, chunk.cube, first_record_at=chunk.first.at)
            for (tenant_id, day), chunk in self.chunks.items()
        ]


def _network_fields(info: Any) -> Mapping[str, Any] | None:
    if info is None:
        return None
    return {"country": getattr(info, "country", None), "region": getattr(info, "region", None)}


def count_batch(raw_records: Iterable[Mapping[str, Any]], deps: AnalyticsStreamDeps) -> Tally:
    records = [Record.from_event(raw) for raw in raw_records]
    networks: dict[str | None, Any] = {}

    def network(ip: str | None) -> Any:
        if ip not in networks:
            networks[ip] = deps.network_of(ip) if ip else None
        return networks[ip]

    def network_of(ip: str | None) -> Mapping[str, Any] | None:
        return _network_fields(network(ip))

    tally = Tally()
    clicks: list[tuple[Record, dict[str, Any]]] = []
    for record in records:
        sk = record.new.get("sk")
        if sk == CLICK and record.name == "INSERT":
            clicks.append((record, click_fields(record.new, visitor=True)))
        elif sk == LEAD and record.name == "INSERT":
            tally.add(record, lead_facts(record.new, network_of))
        elif sk == PAYMENT and record.name in ("INSERT", "MODIFY"):
            tally.add(record, payment_facts(record.old if record.name == "MODIFY" else None, record.new, network_of))
    suspects = _count_clicks(clicks, tally, deps, network, network_of)
    items = tally.items()
    if items:
        write_chunks(deps.items, items)
    for token, verdict in suspects:
        _keep_verdict(deps.items, token, verdict)
    count("StreamRecordsCounted", len(records))
    count("CounterChunksWritten", len(items))
    if suspects:
        count("SuspectClicks", len(suspects))
    return tally


def _count_clicks(
    clicks: list[tuple[Record, dict[str, Any]]],
    tally: Tally,
    deps: AnalyticsStreamDeps,
    network: Callable[[str | None], Any],
    network_of: NetworkOf,
) -> list[tuple[str, Any]]:
    same_net: dict[tuple[str, str], int] = {}
    for _, click in clicks:
        net = (str(click.get("tenant_id")), str(click.get("ip_anon") or ""))
        same_net[net] = same_net.get(net, 0) + 1
    suspects: list[tuple[str, Any]] = []
    for record, click in clicks:
        tenant_id, token, ms = click.get("tenant_id"), click.get("token"), click.get("clicked_at_ms")
        if not (isinstance(tenant_id, str) and tenant_id and isinstance(token, str) and isinstance(ms, int)):
            anomaly("click_uncountable", "a stored click without tenant, token or time", event_id=record.event_id)
            continue
        ip = click.get("ip") if isinstance(click.get("ip"), str) else None
        verdict = deps.assess_click(
            click, network(ip), same_net_clicks=same_net[(tenant_id, str(click.get("ip_anon") or ""))]
        )
        quality = SUSPECT if verdict.suspect else CLEAN
        key = attributed(click, bot_id=click.get("bot_id"), network=network_of(ip), quality=quality)
        metrics = {"clicks": 1, "suspect_clicks": 1} if verdict.suspect else {"clicks": 1}
        day = business_day(datetime.fromtimestamp(ms / 1000, UTC))
        tally.add(record, [Fact(tenant_id, day, key, metrics)])
        if verdict.suspect:
            suspects.append((token, verdict))
    return suspects


def _keep_verdict(items: Items, token: str, verdict: Any) -> None:
    """A suspect click's verdict on the click itself (the sale debugger shows it). Only if the click is
    still there; a write that fails is logged, never retried: the counters are what must not be lost."""
    pk, sk = keys.click(token)
    try:
        items.update(
            pk,
            sk,
            "SET q = :verdict",
            {":verdict": {"suspect": True, "reasons": list(verdict.reasons)}},
            condition="attribute_exists(pk)",
        )
    except Exception as error:  # best effort by design (see the docstring)
        log.warning("a suspect click's verdict was not kept: %s", type(error).__name__)
