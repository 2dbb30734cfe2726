"""DestinationsFunction through its real handler (SQS events, moto, the four fakes over httpx):
one request per event per destination, each once, every failure class, tenant isolation, replay."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from funil.destinations.replay import replay
from funil.messages import EventKind

from local import aws
from tests.integration import test_hostile_input as hostile
from tests.integration.destinations_world import (
    GA4_ID,
    TIKTOK_PIXEL,
    TIKTOK_TOKEN,
    WEBHOOK_URL,
    World,
    build_world,
    destination_item,
    sale_payment,
)
from tests.integration.test_hostile_input import Records
from tests.unit.conversions.factories import NOW, PAYMENT, message

logs = hostile.logs  # the fixture: every log record of the test, checked with Records.check
ALL_ONCE = {"utmify": 1, "tiktok": 1, "ga4": 1, "webhook": 1}


@pytest.fixture
def world(aws_env: aws.Resources, table: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://funil.example.com")
    return build_world(aws_env, table)


def test_a_purchase_reaches_each_destination_once_and_is_recorded(world: World) -> None:
    assert world.send([message(EventKind.PURCHASE)]) == []
    assert world.counts() == ALL_ONCE
    assert world.utmify.orders()[0]["status"] == "paid"
    assert world.utmify.orders()[0]["orderId"] == PAYMENT
    assert [event["event"] for event in world.tiktok.events()] == ["CompletePayment"]
    assert world.tiktok.events()[0]["event_id"] == f"purchase_{PAYMENT}"
    assert world.tiktok.received[0].body["event_source_id"] == TIKTOK_PIXEL
    assert world.tiktok.received[0].headers["access-token"] == TIKTOK_TOKEN
    assert [event["name"] for event in world.ga4.events()] == ["purchase"]
    assert world.ga4.received[0].query["measurement_id"] == GA4_ID
    assert world.webhook.received[0].body["type"] == "sale.paid"
    assert world.webhook.received[0].headers["funil-event-id"] == f"purchase_{PAYMENT}"
    for destination_id in ("dst_utmify", "dst_tiktok", "dst_ga4", "dst_webhook"):
        record = world.record(destination_id, f"purchase_{PAYMENT}")
        assert record["status"] == "sent" and record["attempts"] == 1 and record["type"] == "destination_delivery"
        assert record["destination_id"] == destination_id and record["tenant_id"] == "t_demo"
        assert "Joao" not in str(record) and "joao" not in str(record)  # no personal data on the record


def test_checkout_and_refund_map_to_each_destinations_own_event(world: World) -> None:
    world.table.put(sale_payment(status="refunded", refunded_at="2026-11-22T17:50:00.000Z"))
    assert world.send([message(EventKind.INITIATE_CHECKOUT), message(EventKind.REFUND)]) == []
    assert [order["status"] for order in world.utmify.orders()] == ["refunded"]
    assert world.record("dst_utmify", f"ic_{PAYMENT}")["reason"] == "superseded: the order is already refunded"
    assert [event["event"] for event in world.tiktok.events()] == ["InitiateCheckout"]  # no refund event at TikTok
    assert world.record("dst_tiktok", f"refund_{PAYMENT}")["status"] == "skipped"
    assert [event["name"] for event in world.ga4.events()] == ["begin_checkout", "refund"]
    assert [body["type"] for body in world.webhook.bodies()] == ["checkout.created", "sale.refunded"]


def test_a_repeated_message_sends_once(world: World) -> None:
    purchase = message(EventKind.PURCHASE)
    assert world.send([purchase, purchase]) == []  # twice in one batch
    assert world.send([purchase], start=5) == []  # and again later (SQS delivers at least once)
    assert world.counts() == ALL_ONCE
    assert world.webhook.duplicates == 0
    assert world.record("dst_utmify", f"purchase_{PAYMENT}")["attempts"] == 1


def test_a_transient_failure_is_retried_then_sent_exactly_once(world: World) -> None:
    world.utmify.fail_transiently(times=1, status=503)
    world.tiktok.fail_transiently(times=1, status=200)  # TikTok's rate limit: HTTP 200, code 40100
    purchase = message(EventKind.PURCHASE)
    assert world.send([purchase]) == ["00000000-0000-4000-8000-000000000000"]
    assert world.record("dst_utmify", f"purchase_{PAYMENT}")["status"] == "retrying"
    assert world.record("dst_tiktok", f"purchase_{PAYMENT}")["reason"] == "tiktok_40100"
    assert world.delays == [("AQEB-receipt-0", 30)]
    assert world.counts() == {"utmify": 0, "tiktok": 0, "ga4": 1, "webhook": 1}
    assert world.send([purchase], receive_count=2) == []
    assert world.counts() == ALL_ONCE
    record = world.record("dst_utmify", f"purchase_{PAYMENT}")
    assert record["status"] == "sent" and record["attempts"] == 2
    assert world.record("dst_ga4", f"purchase_{PAYMENT}")["attempts"] == 1  # not sent again


def test_a_timeout_is_transient(world: World) -> None:
    import httpx

    def timing_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    world.module.SENDER.deps.deliver.__self__._client = httpx.Client(transport=httpx.MockTransport(timing_out))
    assert world.send([message(EventKind.PURCHASE)]) != []
    assert world.record("dst_webhook", f"purchase_{PAYMENT}")["reason"] == "network_error"
    assert world.dead_letters() == []


def test_a_permanent_failure_is_recorded_dead_lettered_and_not_retried(world: World) -> None:
    world.table.put(
        destination_item(world.resources, "dst_tiktok", "tiktok", {"pixel_code": TIKTOK_PIXEL}, "revoked-token-000")
    )
    purchase = message(EventKind.PURCHASE)
    assert world.send([purchase]) == []  # nothing to retry: the others took it
    record = world.record("dst_tiktok", f"purchase_{PAYMENT}")
    assert record["status"] == "dead" and record["reason"] == "auth_rejected" and record["http_status"] == 200
    assert "revoked-token" not in str(record)
    [dead] = world.dead_letters()
    assert dead["destination_id"] == "dst_tiktok" and dead["reason"] == "auth_rejected"
    assert dead["event_id"] == f"purchase_{PAYMENT}" and dead["body"]["event_id"] == f"purchase_{PAYMENT}"
    rejected_before = len(world.tiktok.rejected)
    assert world.send([purchase], start=3) == []  # SQS delivers it again: the dead record stays dead
    assert len(world.tiktok.rejected) == rejected_before
    assert world.counts() == {"utmify": 1, "tiktok": 0, "ga4": 1, "webhook": 1}


def test_a_webhook_refused_with_4xx_is_permanent(world: World) -> None:
    world.table.put(
        destination_item(
            world.resources, "dst_webhook", "webhook", {"url": WEBHOOK_URL}, "a-wrong-secret-0123456789abcdef0123"
        )
    )
    assert world.send([message(EventKind.PURCHASE)]) == []
    record = world.record("dst_webhook", f"purchase_{PAYMENT}")
    assert record["status"] == "dead" and record["reason"] == "rejected" and record["http_status"] == 400


def test_a_webhook_host_that_resolves_to_a_private_address_is_never_called(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public name pointed at the metadata address (or any private one) is refused before connecting."""
    real = socket.getaddrinfo
    webhook_host = urlsplit(WEBHOOK_URL).hostname

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == webhook_host:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert world.send([message(EventKind.PURCHASE)]) == []
    record = world.record("dst_webhook", f"purchase_{PAYMENT}")
    assert record["status"] == "dead" and record["reason"] == "address_not_public"
    assert world.webhook.received == []
    assert world.counts() == {**ALL_ONCE, "webhook": 0}


def test_a_refusal_echoing_the_buyer_stays_on_the_record_not_in_logs_or_the_queue(
    world: World, logs: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Receivers often echo what they refuse: the buyer's data must reach no log line and no attribute."""

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, text=f"invalid customer: {json.loads(request.content)['data']['customer']}")

    monkeypatch.setattr(world.webhook, "handle", refuse)
    assert world.send([message(EventKind.PURCHASE)]) == []
    record = world.record("dst_webhook", f"purchase_{PAYMENT}")
    assert record["status"] == "dead" and record["reason"] == "rejected" and "Joao" in record["error_message"]
    [dead] = world.dead_letters()
    assert dead["detail"] == "rejected (HTTP 422)" and "Joao" not in str(dead["detail"])
    logs.check(secrets=("Joao", "joao", "JOÃO"))


def test_replay_resends_a_fixed_destination_only(world: World) -> None:
    world.table.put(
        destination_item(world.resources, "dst_tiktok", "tiktok", {"pixel_code": TIKTOK_PIXEL}, "revoked-token-000")
    )
    purchase = message(EventKind.PURCHASE)
    assert world.send([purchase]) == []
    world.table.put(
        destination_item(world.resources, "dst_tiktok", "tiktok", {"pixel_code": TIKTOK_PIXEL}, TIKTOK_TOKEN)
    )
    sqs = boto3.client("sqs", region_name=aws.REGION)
    queues = world.resources.queues
    report = replay(sqs, queues["DestinationsDeadLetterQueue"], queues["DestinationsQueue"], lambda: NOW)
    assert report.replayed == [f"purchase_{PAYMENT}"]
    received = sqs.receive_message(
        QueueUrl=queues["DestinationsQueue"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    [replayed] = [item for item in received if item["MessageAttributes"].get("destination_id")]
    event = {
        "Records": [
            {
                "messageId": replayed["MessageId"],
                "receiptHandle": replayed["ReceiptHandle"],
                "body": replayed["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {
                    name: {"stringValue": value["StringValue"], "dataType": "String"}
                    for name, value in replayed["MessageAttributes"].items()
                },
                "eventSource": "aws:sqs",
            }
        ]
    }
    assert world.deliver(event) == []
    assert world.counts() == ALL_ONCE  # TikTok now, the others not again
    record = world.record("dst_tiktok", f"purchase_{PAYMENT}")
    assert record["status"] == "sent" and record["attempts"] == 2


def test_each_tenant_reaches_only_its_own_destinations(world: World) -> None:
    other = "t_other"
    world.table.put(
        destination_item(
            world.resources, "dst_other_hook", "webhook", {"url": "https://hooks.example.com/other"},
            "whsec-other-tenant-secret-0123456789abcdef", tenant_id=other,
        )
    )  # fmt: skip
    world.table.put(sale_payment(payment_id="1" * 32, tenant_id=other))
    theirs = message(EventKind.PURCHASE, payment_id="1" * 32).model_copy(update={"tenant_id": other})
    assert world.send([theirs]) == []
    # t_other's webhook is signed with t_other's secret: the t_demo receiver refuses it, so it is dead.
    assert world.record("dst_other_hook", f"purchase_{'1' * 32}")["status"] == "dead"
    assert world.counts() == {"utmify": 0, "tiktok": 0, "ga4": 0, "webhook": 0}
    ours_of_theirs = message(EventKind.PURCHASE, payment_id="1" * 32)  # t_demo naming t_other's payment
    assert world.send([ours_of_theirs], start=1) == []
    assert world.counts() == {"utmify": 0, "tiktok": 0, "ga4": 0, "webhook": 0}
    assert world.record("dst_utmify", f"purchase_{'1' * 32}")["reason"] == "payment_not_found"


def test_a_disabled_destination_or_event_is_not_sent(world: World) -> None:
    world.table.put(
        destination_item(world.resources, "dst_ga4", "ga4", {"measurement_id": GA4_ID}, "x" * 12, enabled=False)
    )
    world.table.put(
        destination_item(world.resources, "dst_utmify", "utmify", {}, "y" * 12, events=["InitiateCheckout"])
    )
    assert world.send([message(EventKind.PURCHASE)]) == []
    assert world.counts() == {"utmify": 0, "tiktok": 1, "ga4": 0, "webhook": 1}


def test_an_unparseable_message_is_dead_lettered_not_retried(world: World) -> None:
    event = {"Records": [{"messageId": "m-1", "receiptHandle": "r-1", "body": "{not json", "attributes": {},
                          "messageAttributes": {}, "eventSource": "aws:sqs"}]}  # fmt: skip
    assert world.deliver(event) == []
    [dead] = world.dead_letters()
    assert dead["reason"] == "unparseable" and dead["body"] == "{not json"


def test_the_sample_event_is_a_batch_the_function_takes(world: World) -> None:
    """events/sqs_destinations.json (also for `sam local invoke -e`): a Purchase to every destination."""
    from tests.conftest import load_event

    assert world.deliver(load_event("sqs_destinations.json")) == []
    assert world.counts() == ALL_ONCE


def test_a_message_without_the_time_to_finish_it_is_left_for_the_next_invocation(world: World) -> None:
    from local.handlers import LambdaContext
    from local.template import load
    from tests.unit.conversions.factories import sqs_records

    class AlmostOut(LambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return 10_000

    function = load().functions["DestinationsFunction"]
    result = world.module.lambda_handler(sqs_records([message(EventKind.PURCHASE)]), AlmostOut(function, "late"))
    assert [failure["itemIdentifier"] for failure in result["batchItemFailures"]] == [
        "00000000-0000-4000-8000-000000000000"
    ]
    assert world.counts() == {"utmify": 0, "tiktok": 0, "ga4": 0, "webhook": 0}
    assert world.send([message(EventKind.PURCHASE)]) == []  # the next invocation sends it
    assert world.counts() == ALL_ONCE


def test_a_dead_letter_queue_outage_leaves_the_message_to_retry_not_lost(world: World) -> None:
    world.table.put(
        destination_item(world.resources, "dst_tiktok", "tiktok", {"pixel_code": TIKTOK_PIXEL}, "revoked-token-000")
    )
    deps = world.module.SENDER.deps
    working = deps.dead_letter

    def unreachable(body: str, attributes: Any) -> None:
        raise ConnectionError("SQS unreachable")

    deps.dead_letter = unreachable
    purchase = message(EventKind.PURCHASE)
    assert world.send([purchase]) == ["00000000-0000-4000-8000-000000000000"]
    assert world.record("dst_tiktok", f"purchase_{PAYMENT}")["status"] == "in_progress"  # leased, not final
    deps.dead_letter = working
    world.clock.advance(seconds=91)  # the lease runs out
    assert world.send([purchase], receive_count=2) == []
    assert world.record("dst_tiktok", f"purchase_{PAYMENT}")["status"] == "dead"
    assert [dead["destination_id"] for dead in world.dead_letters()] == ["dst_tiktok"]
    assert world.counts() == {"utmify": 1, "tiktok": 0, "ga4": 1, "webhook": 1}


def test_the_sale_trace_shows_each_destinations_outcome(world: World) -> None:
    from funil.analytics.trace import sale_trace

    world.table.put(
        destination_item(world.resources, "dst_tiktok", "tiktok", {"pixel_code": TIKTOK_PIXEL}, "revoked-token-000")
    )
    assert world.send([message(EventKind.PURCHASE)]) == []
    trace = sale_trace(world.table, "t_demo", payment_id=PAYMENT, now=NOW)
    shown = {
        event.detail["destination_id"]: (event.detail["status"], event.detail.get("as"))
        for event in trace.events
        if "destination_id" in event.detail
    }
    assert shown == {
        "dst_utmify": ("sent", "paid"),
        "dst_tiktok": ("dead", "CompletePayment"),
        "dst_ga4": ("sent", "purchase"),
        "dst_webhook": ("sent", "sale.paid"),
    }
    assert "Joao" not in trace.model_dump_json() and "joao" not in trace.model_dump_json()
