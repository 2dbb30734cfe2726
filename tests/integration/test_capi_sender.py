"""capi_sender with moto and the fake Graph API: once per (pixel, event), every failure class."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import boto3
import httpx
import pytest
from funil import clock
from funil.adapters.meta_graph import GraphClient
from funil.conversions.hashing import sha256_hex
from funil.messages import ConversionMessage, EventKind

from local import aws
from local.fakes.meta_graph import FakeMetaGraph, Fault
from local.handlers import LambdaContext, load_handler
from local.template import load
from tests.conftest import queue_messages
from tests.unit.conversions.factories import (
    ACCESS_TOKEN,
    BOT,
    META_PIXEL,
    NOW,
    PAYMENT,
    PIXEL,
    TOKEN,
    MutableClock,
    lead_item,
    message,
    payer_item,
    payment_item,
    pixel_item,
    sqs_records,
    stored_click_item,
    tenant_item,
)

LOGICAL_ID = "CapiSenderFunction"


@dataclass
class Capi:
    resources: aws.Resources
    table: Any
    fake: FakeMetaGraph
    clock: MutableClock
    module: Any
    delays: list[tuple[str, int]] = field(default_factory=list)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        function = load().functions[LOGICAL_ID]
        result: dict[str, Any] = self.module.lambda_handler(event, LambdaContext(function, "test"))
        return result

    def send(self, messages: list[ConversionMessage], start: int = 0, receive_count: int = 1) -> list[str]:
        """Deliver a batch; the ids of the messages to retry."""
        result = self.invoke(sqs_records(messages, start, receive_count))
        return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]

    def record(self, event_id: str, pixel: str | None = PIXEL) -> dict[str, Any]:
        found = self.table.get(f"CAPI#{pixel or '-'}#{event_id}", "CAPI", consistent=True)
        assert found is not None, event_id
        return dict(found)

    def dead_letters(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=aws.REGION)
        answer = sqs.receive_message(
            QueueUrl=self.resources.queues["ConversionsDeadLetterQueue"],
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        )
        return [
            {"body": json.loads(item["Body"]), **{k: v["StringValue"] for k, v in item["MessageAttributes"].items()}}
            for item in answer.get("Messages", [])
        ]


def _encrypt_token(resources: aws.Resources, pixel_id: str = PIXEL) -> str:
    """The access token encrypted for the pixel item's ``access_token_ciphertext``, as the admin stores it."""
    from funil import encryption, keys
    from funil.adapters.kms import Kms

    key_id, field = resources.keys["SecretsKey"], encryption.PIXEL_ACCESS_TOKEN
    return encryption.encrypt_field(Kms(), key_id, keys.pixel(pixel_id), field, ACCESS_TOKEN)


@pytest.fixture
def capi(aws_env: aws.Resources, table: Any, monkeypatch: pytest.MonkeyPatch) -> Capi:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://funil.example.com")
    table.put(pixel_item(access_token_ciphertext=_encrypt_token(aws_env)))
    table.put(stored_click_item())
    table.put(lead_item())
    table.put(payment_item())
    table.put(payer_item())  # who paid, as the payments side stores it on confirmation
    table.put(tenant_item())
    the_clock = MutableClock(NOW)
    fake = FakeMetaGraph(access_tokens={ACCESS_TOKEN}, now=the_clock.timestamp)
    load_handler(load().functions[LOGICAL_ID], fresh=True)
    module = sys.modules[f"funil_fn_{LOGICAL_ID}"]
    capi = Capi(aws_env, table, fake, the_clock, module)
    module.DEPS.graph = GraphClient(client=httpx.Client(transport=httpx.MockTransport(fake.handle)))
    module.DEPS.now = the_clock
    module.DEPS.delay_retry = lambda handle, seconds: capi.delays.append((handle, seconds))
    return capi


def purchase() -> ConversionMessage:
    return message(EventKind.PURCHASE)


def test_purchase_is_sent_once_with_its_keys_and_recorded(capi: Capi) -> None:
    assert capi.send([purchase()]) == []
    events = capi.fake.events(META_PIXEL)
    assert len(events) == 1
    sent = events[0]
    assert sent["event_name"] == "Purchase"
    assert sent["event_id"] == f"purchase_{PAYMENT}"
    assert sent["event_time"] == clock.to_epoch_s(clock.parse_iso(payment_item()["paid_at"]))
    assert {"em", "ph", "fn", "ln", "external_id", "fbc", "fbp", "client_ip_address", "client_user_agent"} <= set(
        sent["user_data"]
    )
    assert sent["event_source_url"] == "https://funil.example.com/go/demo"
    record = capi.record(f"purchase_{PAYMENT}")
    assert record["status"] == "sent"
    assert record["attempts"] == 1
    assert record["fbtrace_id"]
    assert record["match_quality"]["grade"] == "great"
    assert record["payload"]["event_id"] == f"purchase_{PAYMENT}"
    assert record["payload"]["user_data"]["client_ip_address"] == "[redacted]"
    assert record["gsi1pk"] == f"CAPISTATUS#{PIXEL}#sent"
    assert "claim_expires_at" not in record
    assert ACCESS_TOKEN not in json.dumps(record)


def test_test_event_code_is_passed(capi: Capi) -> None:
    capi.table.put(pixel_item(access_token_ciphertext=_encrypt_token(capi.resources), test_event_code="TEST123"))
    capi.send([purchase()])
    assert capi.fake.recorded[0].test_event_code == "TEST123"


def test_duplicates_in_one_batch_and_across_batches_are_sent_once(capi: Capi) -> None:
    assert capi.send([purchase(), purchase(), purchase()]) == []
    assert capi.send([purchase()], start=10) == []
    capi.clock.advance(hours=1)
    assert capi.send([purchase()], start=20) == []
    assert capi.fake.event_ids() == [f"purchase_{PAYMENT}"]
    assert capi.fake.request_count() == 1
    assert capi.record(f"purchase_{PAYMENT}")["attempts"] == 1


def test_page_view_lead_checkout_and_purchase_in_one_batch_are_one_request(capi: Capi) -> None:
    batch = [
        message(EventKind.PAGE_VIEW),
        message(EventKind.LEAD),
        message(EventKind.INITIATE_CHECKOUT),
        purchase(),
    ]
    assert capi.send(batch) == []
    assert capi.fake.request_count(META_PIXEL) == 1
    assert sorted(event["event_name"] for event in capi.fake.events()) == [
        "InitiateCheckout",
        "Lead",
        "PageView",
        "Purchase",
    ]


def test_crash_after_claim_is_sent_once_the_lease_runs_out(capi: Capi) -> None:
    def crash(*_: Any, **__: Any) -> Any:
        raise SystemExit("container killed between claim and send")

    real = capi.module.DEPS.graph
    capi.module.DEPS.graph = type("Crashing", (), {"send_events": staticmethod(crash)})()
    with pytest.raises(SystemExit):
        capi.send([purchase()])
    assert capi.record(f"purchase_{PAYMENT}")["status"] == "in_progress"
    capi.module.DEPS.graph = real
    capi.clock.advance(seconds=30)  # the lease (90 s) still runs: another delivery waits
    assert capi.send([purchase()], receive_count=2) == ["00000000-0000-4000-8000-000000000000"]
    assert capi.fake.events() == []
    capi.clock.advance(seconds=180)  # the queue's visibility timeout: the lease has run out
    assert capi.send([purchase()], receive_count=3) == []
    assert capi.fake.event_ids() == [f"purchase_{PAYMENT}"]
    record = capi.record(f"purchase_{PAYMENT}")
    assert (record["status"], record["attempts"]) == ("sent", 2)


TRANSIENT_FAULTS = [
    pytest.param(Fault(status=500, code=2, is_transient=True), id="http-500"),
    pytest.param(Fault(status=503, code=None, is_transient=False), id="http-503"),
    pytest.param(Fault(status=400, code=4, is_transient=False), id="throttle-4"),
    pytest.param(Fault(status=400, code=17, is_transient=False), id="throttle-17"),
    pytest.param(Fault(status=400, code=613, is_transient=False), id="throttle-613"),
    pytest.param(Fault(status=400, code=368, is_transient=False), id="throttle-368"),
    pytest.param(Fault(status=400, code=1, is_transient=False), id="unknown-1"),
    pytest.param(Fault(status=400, code=9999, is_transient=True), id="is_transient"),
    pytest.param(Fault(timeout=True), id="timeout"),
]


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS)
def test_transient_failures_are_retried_with_the_identical_event(capi: Capi, fault: Fault) -> None:
    capi.fake.fail(fault)
    assert capi.send([purchase()]) == ["00000000-0000-4000-8000-000000000000"]
    record = capi.record(f"purchase_{PAYMENT}")
    assert record["status"] == "retrying"
    assert record["gsi1pk"] == f"CAPISTATUS#{PIXEL}#retrying"
    assert capi.delays == [("AQEB-receipt-0", 30)]
    assert capi.dead_letters() == []
    first_time = record["event_time"]
    capi.clock.advance(seconds=30)
    assert capi.send([purchase()], receive_count=2) == []
    assert capi.delays == [("AQEB-receipt-0", 30)]
    sent = capi.fake.events()
    assert [event["event_id"] for event in sent] == [f"purchase_{PAYMENT}"]
    assert sent[0]["event_time"] == first_time
    assert capi.record(f"purchase_{PAYMENT}")["attempts"] == 2


def test_network_errors_are_retried_with_backoff(capi: Capi) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    capi.module.DEPS.graph = GraphClient(client=httpx.Client(transport=httpx.MockTransport(refuse)))
    assert capi.send([purchase()], receive_count=3) == ["00000000-0000-4000-8000-000000000000"]
    assert capi.delays == [("AQEB-receipt-0", 120)]
    assert capi.record(f"purchase_{PAYMENT}")["error_message"] == "network: ConnectError"


def test_events_received_short_is_not_success(capi: Capi) -> None:
    def short(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"events_received": 0, "messages": [], "fbtrace_id": "T1"})

    capi.module.DEPS.graph = GraphClient(client=httpx.Client(transport=httpx.MockTransport(short)))
    assert capi.send([purchase()]) == ["00000000-0000-4000-8000-000000000000"]
    record = capi.record(f"purchase_{PAYMENT}")
    assert record["status"] == "retrying"
    assert "events_received 0" in record["error_message"]


@pytest.mark.parametrize("code", [190, 102, 10, 200])
def test_token_and_permission_errors_are_dead_lettered_not_retried(capi: Capi, code: int, funil_log: list[Any]) -> None:
    capi.fake.fail_with_code(code)
    assert capi.send([purchase()]) == []
    record = capi.record(f"purchase_{PAYMENT}")
    assert (record["status"], record["reason"], record["error_code"]) == ("dead", f"meta_error_{code}", code)
    dead = capi.dead_letters()
    assert len(dead) == 1
    assert dead[0]["reason"] == f"meta_error_{code}"
    assert dead[0]["body"]["event_id"] == f"purchase_{PAYMENT}"
    lines = [json.loads(record.json) for record in funil_log]  # as CloudWatch gets them
    assert [line["event_id"] for line in lines if line.get("anomaly") == "capi_dead_letter"] == [f"purchase_{PAYMENT}"]
    assert ACCESS_TOKEN not in "".join(record.json for record in funil_log)
    assert capi.delays == []


def test_a_bad_event_does_not_sink_the_good_ones(capi: Capi) -> None:
    payments = [f"{index:032x}" for index in range(1, 9)]
    for payment_id in payments:
        capi.table.put(payment_item(payment_id))
    batch = [message(EventKind.PURCHASE, payment_id=payment_id) for payment_id in payments]
    bad = f"purchase_{payments[5]}"
    capi.fake.reject_event(bad)
    assert capi.send(batch) == []
    sent = capi.fake.event_ids()
    assert sorted(sent) == sorted(f"purchase_{payment_id}" for payment_id in payments if payment_id != payments[5])
    assert capi.record(bad)["status"] == "dead"
    assert capi.record(bad)["error_code"] == 100
    assert [item["body"]["event_id"] for item in capi.dead_letters()] == [bad]
    assert capi.fake.request_count() <= 1 + 2 * 3  # bisection: log2(8) levels


def test_no_pixel_and_switched_off_events_are_acknowledged_and_skipped(capi: Capi) -> None:
    no_pixel = message(EventKind.PAGE_VIEW, pixel_id=None)
    assert capi.send([no_pixel]) == []
    assert capi.record(f"pv_{TOKEN}", pixel=None)["status"] == "skipped"
    assert capi.record(f"pv_{TOKEN}", pixel=None)["reason"] == "no_pixel"
    capi.table.put(
        pixel_item(access_token_ciphertext=_encrypt_token(capi.resources), events={"Lead": False, "PageView": True})
    )
    assert capi.send([message(EventKind.LEAD)], start=1) == []
    assert capi.record(f"lead_{BOT}_777000111")["reason"] == "event_switched_off"
    assert capi.fake.request_count() == 0
    assert capi.dead_letters() == []


def test_stale_events_are_recorded_expired_and_never_sent(capi: Capi) -> None:
    capi.table.put(stored_click_item(clicked_at=NOW - timedelta(days=8)))
    assert capi.send([message(EventKind.PAGE_VIEW)]) == []
    assert capi.record(f"pv_{TOKEN}")["status"] == "expired"
    assert capi.fake.request_count() == 0
    assert capi.send([message(EventKind.PAGE_VIEW)], start=1) == []  # final: a duplicate now
    assert capi.record(f"pv_{TOKEN}")["attempts"] == 1


def test_unbuildable_and_unparseable_messages_are_dead_lettered(capi: Capi) -> None:
    missing = message(EventKind.PURCHASE, payment_id="f" * 32)
    event = sqs_records([missing])
    event["Records"].append({**event["Records"][0], "messageId": "poison", "body": '{"kind": "Purchase"}'})
    assert capi.invoke(event)["batchItemFailures"] == []
    reasons = sorted(item["reason"] for item in capi.dead_letters())
    assert reasons == ["payment_not_found", "unparseable"]
    assert capi.record(f"purchase_{'f' * 32}")["status"] == "invalid"


def test_pixel_without_token_is_dead_lettered(capi: Capi) -> None:
    capi.table.put(pixel_item())
    assert capi.send([purchase()]) == []
    assert capi.record(f"purchase_{PAYMENT}")["reason"] == "pixel_without_access_token"
    assert capi.fake.request_count() == 0


def test_a_token_moved_from_another_pixel_does_not_decrypt_and_nothing_is_sent(
    capi: Capi, funil_log: list[Any]
) -> None:
    # Another tenant's pixel token copied into this pixel's item: its encryption context names the
    # other pixel, so KMS refuses it here and the event waits (retried) for this pixel's own token.
    capi.table.put(pixel_item(access_token_ciphertext=_encrypt_token(capi.resources, pixel_id="px_other_tenant")))
    assert len(capi.send([purchase()])) == 1  # retried
    assert capi.fake.request_count() == 0
    record = capi.record(f"purchase_{PAYMENT}")
    assert record["status"] == "retrying" and record["error_message"] == "access token decryption failed"
    assert not any(ACCESS_TOKEN in line.json for line in funil_log)


def test_burst_of_1000_events_is_one_graph_request(capi: Capi) -> None:
    tokens = [f"{index:022d}" for index in range(1000)]
    client = boto3.client("dynamodb", region_name=aws.REGION)
    from funil.adapters.dynamo import serialize

    for start in range(0, len(tokens), 25):
        client.batch_write_item(
            RequestItems={
                capi.table.name: [
                    {"PutRequest": {"Item": serialize(stored_click_item(token=token))}}
                    for token in tokens[start : start + 25]
                ]
            }
        )
    batch = [message(EventKind.PAGE_VIEW, click_token=token) for token in tokens]
    assert capi.send(batch) == []
    assert capi.fake.request_count(META_PIXEL) == 1
    assert len(capi.fake.events(META_PIXEL)) == 1000


def test_requests_are_cut_at_the_per_request_limit(capi: Capi) -> None:
    from dataclasses import replace

    capi.module.DEPS.settings = replace(capi.module.DEPS.settings, max_events_per_request=3)
    tokens = [f"{index:022d}" for index in range(7)]
    for token in tokens:
        capi.table.put(stored_click_item(token=token))
    assert capi.send([message(EventKind.PAGE_VIEW, click_token=token) for token in tokens]) == []
    assert capi.fake.request_count(META_PIXEL) == 3
    assert len(capi.fake.events(META_PIXEL)) == 7


def test_through_the_real_queue(capi: Capi) -> None:
    """A real SQS round trip: receive from the conversions queue, invoke, dead-letter on 190."""
    sqs = boto3.client("sqs", region_name=aws.REGION)
    url = capi.resources.queues["ConversionsQueue"]
    sqs.send_message(QueueUrl=url, MessageBody=purchase().model_dump_json())
    received = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])
    from local.poller import sqs_event

    event = sqs_event(received["Messages"], capi.resources.queue_arns["ConversionsQueue"])
    capi.fake.fail_with_code(190)
    assert capi.invoke(event) == {"batchItemFailures": []}
    assert [item["reason"] for item in capi.dead_letters()] == ["meta_error_190"]
    assert queue_messages(capi.resources, "ConversionsQueue") == []  # still in flight, not re-sent


def test_sample_event_file(capi: Capi) -> None:
    """events/sqs_conversions.json (also for `sam local invoke -e`) is a batch the sender takes."""
    from tests.conftest import load_event

    assert capi.invoke(load_event("sqs_conversions.json")) == {"batchItemFailures": []}
    assert sorted(capi.fake.event_ids()) == [f"purchase_{PAYMENT}", f"pv_{TOKEN}"]


def test_unreadable_stored_data_fails_only_its_own_message(capi: Capi) -> None:
    capi.table.put(pixel_item(pk="PIXEL#px_broken", pixel_id="px_broken", events="not a mapping"))
    batch = [message(EventKind.PURCHASE, pixel_id="px_broken"), message(EventKind.PAGE_VIEW)]
    assert capi.send(batch) == []
    assert capi.fake.event_ids() == [f"pv_{TOKEN}"]
    assert [item["reason"] for item in capi.dead_letters()] == ["build_error"]


def test_sdk_agrees_on_the_purchase_keys(capi: Capi) -> None:
    from tests.unit.conversions.test_payer_keys import CONTACT_KEYS, sdk_payer_keys

    capi.send([purchase()])
    sent = capi.fake.events()[0]["user_data"]
    assert {key: [sent[key]] for key in CONTACT_KEYS} == sdk_payer_keys()  # the payer item, as the SDK hashes it
    assert capi.record(f"purchase_{PAYMENT}")["match_quality"]["score"] >= 8


class CountingLoader:
    """The sender's item loader, recording the keys of each batch read."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[list[tuple[str, str]]] = []

    def batch_get(self, wanted: Any) -> Any:
        self.calls.append(list(wanted))
        return self.inner.batch_get(wanted)


def test_the_payer_is_read_in_the_same_batch_read_as_its_payment(capi: Capi) -> None:
    loader = CountingLoader(capi.module.DEPS.items)
    capi.module.DEPS.items = loader
    other = "c" * 32
    capi.table.put(payment_item(other))
    capi.table.put(payer_item(other, email="outra@example.com"))
    capi.send([purchase(), message(EventKind.PURCHASE, payment_id=other)])
    first = loader.calls[0]
    for payment_id in (PAYMENT, other):
        assert (f"PAYMENT#{payment_id}", "PAYMENT") in first and (f"PAYMENT#{payment_id}", "PAYER") in first
    by_id = {event["event_id"]: event["user_data"] for event in capi.fake.events(META_PIXEL)}
    assert by_id[f"purchase_{other}"]["em"] == sha256_hex("outra@example.com")
    assert by_id[f"purchase_{PAYMENT}"]["em"] == sha256_hex("joao.silva@gmail.com")


@pytest.mark.parametrize(
    "payer",
    [
        payer_item(expires_at=clock.to_epoch_s(NOW) - 1),  # expired; DynamoDB has not deleted it yet
        payer_item(tenant_id="t_other"),
    ],
    ids=["expired", "other_tenant"],
)
def test_an_expired_or_foreign_payer_is_ignored(capi: Capi, payer: dict[str, Any]) -> None:
    capi.table.put(payer)
    assert capi.send([purchase()]) == []
    sent = capi.fake.events(META_PIXEL)[0]["user_data"]
    assert not {"em", "ph", "ct", "st", "zp"} & set(sent)
    assert sent["fn"] == sha256_hex("joão")  # the lead's Telegram name instead
    assert sent["country"] == sha256_hex("br")  # the tenant's
    assert capi.record(f"purchase_{PAYMENT}")["status"] == "sent"
