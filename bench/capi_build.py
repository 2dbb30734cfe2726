"""capi_sender budgets (docs/architecture.md §8): CPU per event built (≤ 0.3 ms) and Graph requests per pixel
per batch (1 per pixel per batch of ≤ 1000 events).

1. Builder: ``funil.conversions.builder.build_event`` on realistic PageView / Lead / Purchase sources
   (normalisation and SHA-256 of every key included), single-threaded, ``time.process_time``.
2. Sender: ``funil.conversions.sender.process_batch`` over batches of 100 and 1000 messages spread over
   1 and 3 pixels, with in-memory stand-ins for DynamoDB and the fake Graph API
   (local/fakes/meta_graph.py through httpx.MockTransport), counting Graph requests per pixel and
   the sender's own CPU per event (message parsing, building, claiming, grouping, JSON encoding).

Usage: python bench/capi_build.py [--events 20000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "common"), str(ROOT)]

import httpx  # noqa: E402
from funil.adapters.meta_graph import GraphClient  # noqa: E402
from funil.click.fields import click_item_from_fields  # noqa: E402
from funil.conversions.builder import BuildSettings, Sources, build_event  # noqa: E402
from funil.conversions.sender import SenderDeps, SenderSettings, SqsRecord, process_batch  # noqa: E402
from funil.conversions.storage import ClaimOutcome, EventClaim, EventStatus  # noqa: E402
from funil.messages import ConversionMessage, EventKind  # noqa: E402

from local.fakes.meta_graph import FakeMetaGraph  # noqa: E402
from tests.unit.conversions.factories import (  # noqa: E402
    ACCESS_TOKEN,
    BASE_URL,
    NOW,
    click_item,
    lead_item,
    message,
    payer_item,
    payment_item,
    pixel_item,
    tenant_item,
)


def bench_builder(count: int) -> dict[str, float]:
    settings = BuildSettings(BASE_URL)
    cases = {
        "PageView": (message(EventKind.PAGE_VIEW), Sources(pixel=pixel_item(), click=click_item())),
        "Lead": (message(EventKind.LEAD), Sources(pixel=pixel_item(), lead=lead_item())),
        "Purchase": (
            message(EventKind.PURCHASE),
            # The payer as the gateway reported it (e-mail, phone, name, address): every key hashed.
            Sources(
                pixel=pixel_item(), payment=payment_item(), lead=lead_item(), payer=payer_item(), tenant=tenant_item()
            ),
        ),
    }
    results = {}
    for name, (conversion, sources) in cases.items():
        for _ in range(200):  # warm
            build_event(conversion, sources, settings, NOW)
        started = time.process_time()
        for _ in range(count):
            build_event(conversion, sources, settings, NOW)
        results[name] = (time.process_time() - started) / count * 1000
    return results


class MemoryItems:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = {(item["pk"], item["sk"]): item for item in items}

    def batch_get(self, keys: Any) -> list[dict[str, Any]]:
        return [self.items[key] for key in keys if key in self.items]


class MemoryDeliveries:
    """The claim semantics of funil.conversions.storage, in memory (no I/O in the CPU figure)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def claim(self, message: ConversionMessage, *, claim_id: str, now: datetime, lease_seconds: int,
              event_time: int | None) -> EventClaim:  # fmt: skip
        key = message.deduplication_key
        record = self.records.setdefault(key, {"attempts": 0, "event_time": event_time})
        if record.get("status") == EventStatus.SENT:
            return EventClaim(ClaimOutcome.DUPLICATE, record)
        record.update(status=EventStatus.IN_PROGRESS, claim_id=claim_id, attempts=record["attempts"] + 1)
        return EventClaim(ClaimOutcome.CLAIMED, record)

    def finish(self, message: ConversionMessage, *, claim_id: str, status: EventStatus, now: datetime,
               fields: Any) -> bool:  # fmt: skip
        self.records[message.deduplication_key].update(status=status, **fields)
        return True


def bench_sender(batch: int, pixels: int) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    meta_ids = []
    for index in range(pixels):
        meta_id = f"12345678901234{index:02d}"
        meta_ids.append(meta_id)
        items.append(pixel_item(pk=f"PIXEL#px_{index}", pixel_id=f"px_{index}", meta_pixel_id=meta_id,
                                access_token_ciphertext="ciphertext"))  # fmt: skip
    records = []
    for number in range(batch):
        token = f"{number:022d}"
        items.append(click_item_from_fields(click_item(token=token)))  # stored compact, as the redirect writes it
        conversion = message(EventKind.PAGE_VIEW, click_token=token, pixel_id=f"px_{number % pixels}")
        records.append(SqsRecord(f"m{number}", conversion.model_dump_json(), f"h{number}"))
    fake = FakeMetaGraph(access_tokens={ACCESS_TOKEN}, now=NOW.timestamp)
    counter = iter(range(10**9))
    deps = SenderDeps(
        items=MemoryItems(items),
        deliveries=MemoryDeliveries(),  # type: ignore[arg-type]
        graph=GraphClient(client=httpx.Client(transport=httpx.MockTransport(fake.handle))),
        access_token=lambda _: ACCESS_TOKEN,
        dead_letter=lambda body, attributes: None,
        delay_retry=lambda handle, seconds: None,
        now=lambda: NOW,
        new_claim_id=lambda: f"c{next(counter)}",
        settings=SenderSettings(public_base_url=BASE_URL),
    )
    started = time.process_time()
    report = process_batch(records, deps)
    cpu = time.process_time() - started
    # The fake's validation and httpx run in the same process: measure and subtract them.
    fake_cpu_start = time.process_time()
    for meta_id in meta_ids:
        events = fake.events(meta_id)
        fake.serve("POST", f"/v26.0/{meta_id}/events", {"content-type": "application/json"},
                   json.dumps({"data": events, "access_token": ACCESS_TOKEN}).encode())  # fmt: skip
    fake_cpu = time.process_time() - fake_cpu_start
    assert not report.failures, report.outcomes
    assert set(report.outcomes.values()) == {"sent"}, report.outcomes  # every event built and sent
    return {
        "batch": batch,
        "pixels": pixels,
        "graph_requests_per_pixel": {meta: fake.request_count(meta) - 1 for meta in meta_ids},
        "events_received": len(fake.events()) // 2,
        "sender_cpu_ms_per_event_incl_fake": round(cpu / batch * 1000, 4),
        "sender_cpu_ms_per_event": round(max(cpu - fake_cpu, 0) / batch * 1000, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    builder = bench_builder(args.events)
    senders = [bench_sender(batch, pixels) for batch, pixels in ((100, 1), (1000, 1), (1000, 3))]
    if args.json:
        print(json.dumps({"builder_cpu_ms_per_event": builder, "sender": senders}, indent=2))
        return
    print(f"builder CPU per event built ({args.events} each, budget 0.3 ms):")
    for name, value in builder.items():
        print(f"  {name:<9} {value:.4f} ms")
    print("sender batches (in-memory DynamoDB, fake Graph API):")
    for row in senders:
        print(
            f"  batch {row['batch']:>4} over {row['pixels']} pixel(s): Graph requests per pixel "
            f"{sorted(set(row['graph_requests_per_pixel'].values()))}, events received {row['events_received']}, "
            f"sender CPU {row['sender_cpu_ms_per_event']:.4f} ms/event "
            f"({row['sender_cpu_ms_per_event_incl_fake']:.4f} incl. the fake's validation)"
        )


if __name__ == "__main__":
    main()
