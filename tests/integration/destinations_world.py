"""A tenant with the four destinations, its sale's items in moto, and the four fakes behind httpx's
MockTransport, for the destinations' tests (DestinationsFunction's real handler)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
from funil import keys
from funil.adapters.kms import Kms
from funil.destinations.models import DestinationKind
from funil.destinations.outbound import BaseUrls, Outbound
from funil.messages import ConversionMessage
from funil.operator import destinations as operator_destinations

from local import aws
from local.fakes.ga4 import FakeGa4
from local.fakes.recording import RecordingFake
from local.fakes.tiktok import FakeTikTok
from local.fakes.utmify import FakeUtmify
from local.fakes.webhook_receiver import FakeWebhookReceiver
from local.handlers import LambdaContext, load_handler
from local.template import load
from tests.unit.conversions.factories import (
    NOW,
    TENANT,
    MutableClock,
    attribution,
    lead_item,
    payer_item,
    payment_item,
    sqs_records,
    stored_click_item,
    tenant_item,
)

LOGICAL_ID = "DestinationsFunction"
UTMIFY_TOKEN = "utmify-credential-KVRxalfMiBfm8Rm1nP5Y"
TIKTOK_TOKEN = "tiktok-access-token-0123456789abcdef"
TIKTOK_PIXEL = "CABC123DEF456GHI"
GA4_ID = "G-DEMO12345"
GA4_SECRET = "ga4-api-secret-XyZ123"
WEBHOOK_SECRET = "whsec-0123456789abcdefghijklmnopqrstuvwxyz"
WEBHOOK_URL = "https://hooks.example.com/funil"
UTM = {"utm_source": "FB", "utm_medium": "CONJUNTO_5|636393136432792", "utm_campaign": "CAMPANHA_5|761832537749495",
       "utm_content": "ANUNCIO_5|525916699209785", "utm_term": "Instagram_Stories"}  # fmt: skip
CLICK_IDS = {"fbclid": "IwZXh0bgNhZW0BMABhZGlk", "ttclid": "E.C.P.tt-click-123", "gclid": "Cj0KCQgclid-456"}
DESTINATIONS = {
    "dst_utmify": ("utmify", {"platform": "Funil", "test": False}, UTMIFY_TOKEN),
    "dst_tiktok": ("tiktok", {"pixel_code": TIKTOK_PIXEL}, TIKTOK_TOKEN),
    "dst_ga4": ("ga4", {"measurement_id": GA4_ID}, GA4_SECRET),
    "dst_webhook": ("webhook", {"url": WEBHOOK_URL}, WEBHOOK_SECRET),
}
HOSTS = {"api.utmify.com.br": "utmify", "business-api.tiktok.com": "tiktok", "www.google-analytics.com": "ga4",
         "hooks.example.com": "webhook"}  # fmt: skip


def destination_item(
    resources: aws.Resources, destination_id: str, kind: str, config: Mapping[str, Any], secret: str, **extra: Any
) -> dict[str, Any]:
    """A destination as the operator's API stores it (its secret encrypted under its item's context)."""
    tenant_id = extra.pop("tenant_id", TENANT)
    item = operator_destinations.destination_item(
        Kms(),
        resources.keys["SecretsKey"],
        tenant_id=tenant_id,
        destination_id=destination_id,
        kind=DestinationKind(kind),
        config=config,
        secret=secret,
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    return {**item, **extra}


@dataclass
class World:
    resources: aws.Resources
    table: Any
    clock: MutableClock
    module: Any
    fakes: dict[str, RecordingFake]
    delays: list[tuple[str, int]] = field(default_factory=list)

    @property
    def utmify(self) -> FakeUtmify:
        return self.fakes["utmify"]  # type: ignore[return-value]

    @property
    def tiktok(self) -> FakeTikTok:
        return self.fakes["tiktok"]  # type: ignore[return-value]

    @property
    def ga4(self) -> FakeGa4:
        return self.fakes["ga4"]  # type: ignore[return-value]

    @property
    def webhook(self) -> FakeWebhookReceiver:
        return self.fakes["webhook"]  # type: ignore[return-value]

    def send(self, messages: list[ConversionMessage], start: int = 0, receive_count: int = 1) -> list[str]:
        """Deliver a batch through the real handler; the ids of the messages to retry."""
        return self.deliver(sqs_records(messages, start, receive_count))

    def deliver(self, event: dict[str, Any]) -> list[str]:
        function = load().functions[LOGICAL_ID]
        result = self.module.lambda_handler(event, LambdaContext(function, "test"))
        return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]

    def record(self, destination_id: str, event_id: str) -> dict[str, Any]:
        found = self.table.get(*keys.destination_record(destination_id, event_id), consistent=True)
        assert found is not None, (destination_id, event_id)
        return dict(found)

    def counts(self) -> dict[str, int]:
        return {name: len(fake.received) for name, fake in self.fakes.items()}

    def dead_letters(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=aws.REGION)
        answer = sqs.receive_message(
            QueueUrl=self.resources.queues["DestinationsDeadLetterQueue"],
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        )
        return [
            {"body": _json_or_text(item["Body"]), **{k: v["StringValue"] for k, v in item["MessageAttributes"].items()}}
            for item in answer.get("Messages", [])
        ]


def _json_or_text(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body


def sale_payment(**overrides: Any) -> dict[str, Any]:
    return payment_item(attribution={**attribution(), "utm": UTM, "click_ids": CLICK_IDS}, **overrides)


def build_world(resources: aws.Resources, table: Any) -> World:
    for destination_id, (kind, config, secret) in DESTINATIONS.items():
        table.put(destination_item(resources, destination_id, kind, config, secret))
    for item in (stored_click_item(), lead_item(), sale_payment(), payer_item(), tenant_item()):
        table.put(item)
    the_clock = MutableClock(NOW)
    fakes: dict[str, RecordingFake] = {
        "utmify": FakeUtmify({UTMIFY_TOKEN}),
        "tiktok": FakeTikTok({TIKTOK_TOKEN}, {TIKTOK_PIXEL}),
        "ga4": FakeGa4({GA4_ID: GA4_SECRET}, now=the_clock.timestamp),
        "webhook": FakeWebhookReceiver(WEBHOOK_SECRET, now=the_clock.timestamp),
    }

    def route(request: httpx.Request) -> httpx.Response:
        return fakes[HOSTS[request.url.host]].handle(request)

    load_handler(load().functions[LOGICAL_ID], fresh=True)
    module = sys.modules[f"funil_fn_{LOGICAL_ID}"]
    world = World(resources, table, the_clock, module, fakes)
    deps = module.SENDER.deps
    client = httpx.Client(transport=httpx.MockTransport(route))
    deps.deliver = Outbound(lambda: client, BaseUrls(), the_clock).deliver
    deps.now = the_clock
    deps.delay_retry = lambda handle, seconds: world.delays.append((handle, seconds))
    return world
