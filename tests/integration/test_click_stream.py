"""ClickStreamFunction through the real handler: AppTable's stream (new clicks) → the server PageView.

Events have the shape Lambda gives a DynamoDB stream consumer (``events/dynamodb_stream_click_insert.json``,
whose source is named in tests/integration/test_local_streams.py); the clicks in them are made by the
real redirect where it matters. The PageViews go to the fake Graph API over HTTP (httpx's transport);
the ones Meta does not take go to the conversions queue, where the real sender takes them over.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from funil import clock
from funil.adapters.dynamo import deserialize, serialize
from funil.adapters.meta_graph import GraphClient
from funil.click.fields import click_item_from_fields
from funil.messages import ConversionMessage

from local import aws
from local.fakes.meta_graph import FakeMetaGraph, Fault
from local.handlers import LambdaContext, load_handler
from local.template import load
from tests.conftest import load_event, page_text, queue_messages
from tests.unit.conversions.factories import (
    ACCESS_TOKEN,
    BASE_URL,
    META_PIXEL,
    PIXEL,
    MutableClock,
    click_item,
    pixel_item,
)

RUN = "ClickStreamFunction"
EXAMPLE = load_event("dynamodb_stream_click_insert.json")
EXAMPLE_TOKEN = "AbCdEfGhIjKlMnOpQrStUv"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Instagram 325.0.4.32.96"
)


def stream_event(items: list[dict[str, Any]], first_sequence: int = 1100000000017454423009) -> dict[str, Any]:
    """Lambda's DynamoDB stream event inserting ``items`` (as stored), in the example record's shape."""
    template = EXAMPLE["Records"][0]
    records = []
    for offset, item in enumerate(items):
        record = copy.deepcopy(template)
        record["eventID"] = f"{offset:032x}"
        wire = serialize(item)
        record["dynamodb"]["Keys"] = {"pk": wire["pk"], "sk": wire["sk"]}
        record["dynamodb"]["NewImage"] = wire
        record["dynamodb"]["SequenceNumber"] = str(first_sequence + offset)
        records.append(record)
    return {"Records": records}


def sequence_numbers(event: dict[str, Any]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]


def page_views(resources: aws.Resources) -> list[ConversionMessage]:
    """Every message on the conversions queue (taken off it), parsed."""
    sqs = boto3.client("sqs", region_name=aws.REGION)
    url = resources.queues["ConversionsQueue"]
    found = []
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        messages = answer.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(ConversionMessage.model_validate_json(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def page_views_peek(resources: aws.Resources) -> list[ConversionMessage]:
    """The messages on the conversions queue now (left there), parsed."""
    return [ConversionMessage.model_validate(body) for body in queue_messages(resources, "ConversionsQueue")]


@pytest.fixture
def clicks(
    invoke: Callable[..., Any], event: Callable[[str], dict[str, Any]], seed: Any, table: Any
) -> Callable[..., Any]:
    """clicks(n, pixel=True) → n click items as the real redirect stored them (``/go/demo`` has the
    demo pixel; ``/go/direto``, a copy of it without one, answers a 302)."""
    link = table.get("LINK#demo", "LINK")
    table.put({**{k: v for k, v in link.items() if k != "pixel_id"}, "pk": "LINK#direto", "slug": "direto"})

    def make(n: int, pixel: bool = True) -> list[dict[str, Any]]:
        made = []
        for _ in range(n):
            request = event("redirect_get.json")
            request["pathParameters"] = {"slug": "demo" if pixel else "direto"}
            answer = invoke("RedirectFunction", request)
            token = re.search(r"start=([A-Za-z0-9_-]{22})", page_text(answer) or answer["headers"]["location"]).group(1)
            made.append(table.get(f"CLICK#{token}", "CLICK"))
        return made

    return make


CLICK_TIME = clock.parse_iso("2026-11-22T18:00:00Z")  # the example record's click (t)


@dataclass
class Stream:
    """The handler module as loaded, its Graph API a fake, its clock a few minutes after the clicks."""

    invoke: Callable[[dict[str, Any]], Any]
    graph: FakeMetaGraph
    resources: aws.Resources
    clock: MutableClock


@pytest.fixture
def stream(aws_env: aws.Resources, table: Any, seed: Any, monkeypatch: pytest.MonkeyPatch) -> Stream:
    from funil import encryption, keys
    from funil.adapters.kms import Kms

    monkeypatch.setenv("PUBLIC_BASE_URL", BASE_URL)
    key_id, field = aws_env.keys["SecretsKey"], encryption.PIXEL_ACCESS_TOKEN
    ciphertext = encryption.encrypt_field(Kms(), key_id, keys.pixel(PIXEL), field, ACCESS_TOKEN)
    table.put(pixel_item(access_token_ciphertext=ciphertext))
    function = load().functions[RUN]
    handler = load_handler(function, fresh=True)
    processor = sys.modules[f"funil_fn_{RUN}"].processor
    at = MutableClock(CLICK_TIME + timedelta(minutes=5))
    graph = FakeMetaGraph(access_tokens={ACCESS_TOKEN}, now=at.timestamp)
    # Looked up per request, so a test may swap the fake's answer (``graph.handle``).
    http = GraphClient(client=httpx.Client(transport=httpx.MockTransport(lambda request: graph.handle(request))))  # noqa: PLW0108
    processor.deps = replace(processor.deps, page_views=replace(processor.deps.page_views, graph=http, now=at))
    return Stream(lambda event: handler(event, LambdaContext(function, "test-request")), graph, aws_env, at)


def stored_clicks(table: Any, n: int, pixel: bool = True, at: datetime = CLICK_TIME) -> list[dict[str, Any]]:
    """n clicks as the redirect stores them (``click_item_from_fields``), at ``at``."""
    made = []
    for number in range(n):
        token = f"{number:04d}".ljust(22, "x")
        item = click_item_from_fields(click_item(token=token, clicked_at=at))
        if not pixel:
            item = {key: value for key, value in item.items() if key != "px"}
        table.put(item)
        made.append(item)
    return made


def tokens_of(items: list[dict[str, Any]]) -> list[str]:
    return [item["pk"].removeprefix("CLICK#") for item in items]


def capi_records(table: Any) -> list[dict[str, Any]]:
    """The conversions sender's records (``CAPI#…``): the stream writes none."""
    scan = boto3.client("dynamodb", region_name=aws.REGION).get_paginator("scan").paginate(TableName=table.name)
    return [deserialize(item) for page in scan for item in page["Items"] if item["pk"]["S"].startswith("CAPI#")]


def test_the_example_click_sends_its_one_page_view_straight_to_meta(stream, table, aws_calls) -> None:
    stored = deserialize(EXAMPLE["Records"][0]["dynamodb"]["NewImage"])
    aws_calls.clear()
    assert stream.invoke(load_event("dynamodb_stream_click_insert.json")) == {"batchItemFailures": []}
    # One batch read of the pixel, one decrypt of its token (cached per container), no queue, no write.
    assert aws_calls == [("dynamodb", "BatchGetItem"), ("kms", "Decrypt")]
    (sent,) = stream.graph.events(META_PIXEL)
    assert (sent["event_name"], sent["event_id"]) == ("PageView", f"pv_{EXAMPLE_TOKEN}")  # the Pixel's eventID
    assert sent["event_time"] == stored["t"] // 1000  # the click's time
    assert sent["user_data"]["fbp"] == stored["fbp"]  # the fbp the redirect stored (and set as _fbp)
    assert sent["user_data"]["fbc"] == f"fb.1.{stored['t']}.{stored['ci']['fbclid']}"
    assert sent["event_source_url"] == f"{BASE_URL}/go/demo"
    assert queue_messages(stream.resources, "ConversionsQueue") == []
    assert capi_records(table) == []


def test_one_graph_request_per_pixel_per_batch(stream, table, clicks, aws_calls) -> None:
    with_pixel = clicks(12)
    without_pixel = clicks(3, pixel=False)
    aws_calls.clear()
    assert stream.invoke(stream_event([*with_pixel[:5], *without_pixel, *with_pixel[5:]])) == {"batchItemFailures": []}
    assert [call for call in aws_calls if call[0] != "kms"] == [("dynamodb", "BatchGetItem")]
    assert stream.graph.request_count() == 1
    assert sorted(stream.graph.event_ids()) == sorted(f"pv_{token}" for token in tokens_of(with_pixel))
    assert queue_messages(stream.resources, "ConversionsQueue") == []


def test_a_batch_of_clicks_without_pixel_sends_nothing(stream, clicks, aws_calls) -> None:
    batch = clicks(2, pixel=False)
    aws_calls.clear()
    assert stream.invoke(stream_event(batch)) == {"batchItemFailures": []}
    assert aws_calls == []
    assert stream.graph.request_count() == 0
    assert queue_messages(stream.resources, "ConversionsQueue") == []


@pytest.mark.parametrize(
    ("switch", "value"), [("enabled", False), ("events", {"PageView": False, "Lead": True, "Purchase": True})]
)
def test_a_pixel_that_does_not_want_page_views_gets_none(stream, table, switch, value, aws_calls) -> None:
    table.put({**table.get(f"PIXEL#{PIXEL}", "PIXEL"), switch: value})
    batch = stored_clicks(table, 3)
    aws_calls.clear()
    assert stream.invoke(stream_event(batch)) == {"batchItemFailures": []}
    assert stream.graph.request_count() == 0
    assert ("sqs", "SendMessageBatch") not in aws_calls
    assert capi_records(table) == []


def _sender_takes_over(stream: Stream) -> list[str]:
    """The real capi_sender on what the stream queued (one SQS batch), on the same fake Graph API."""
    sender = load().functions["CapiSenderFunction"]
    load_handler(sender, fresh=True)
    module = sys.modules["funil_fn_CapiSenderFunction"]
    module.DEPS.graph = GraphClient(client=httpx.Client(transport=httpx.MockTransport(stream.graph.handle)))
    module.DEPS.now = stream.clock
    records = [
        {"messageId": f"m-{number}", "receiptHandle": "", "body": message.model_dump_json()}
        for number, message in enumerate(page_views(stream.resources))
    ]
    result = module.lambda_handler({"Records": records}, LambdaContext(sender, "test-sender"))
    assert result == {"batchItemFailures": []}
    return [record["messageId"] for record in records]


def _short_by_one(graph: FakeMetaGraph) -> Callable[[httpx.Request], httpx.Response]:
    """Meta's answer with ``events_received`` one short of the events sent."""
    original = graph.handle

    def short(request: httpx.Request) -> httpx.Response:
        body = json.loads(original(request).content)
        return httpx.Response(200, json={**body, "events_received": body["events_received"] - 1})

    return short


@pytest.mark.parametrize("fault", ["server_error", "timeout", "token_expired", "events_received_short"])
def test_what_meta_does_not_take_goes_to_the_sender(stream, table, fault) -> None:
    batch = stored_clicks(table, 3)
    with pytest.MonkeyPatch.context() as patch:
        if fault == "server_error":
            stream.graph.fail(Fault(status=500, code=2, is_transient=True))
        elif fault == "timeout":
            patch.setattr(stream.graph, "timeout_sleep_seconds", 0.0)
            stream.graph.time_out()
        elif fault == "token_expired":
            stream.graph.fail_with_code(190, status=400)
        else:
            patch.setattr(stream.graph, "handle", _short_by_one(stream.graph))
        assert stream.invoke(stream_event(batch)) == {"batchItemFailures": []}
    queued = sorted(message.event_id for message in page_views_peek(stream.resources))
    assert queued == sorted(f"pv_{token}" for token in tokens_of(batch))
    assert capi_records(table) == []  # nothing recorded by the stream itself
    stream.graph.clear()
    _sender_takes_over(stream)
    # The sender sends each once (claimed and recorded, as every queued event).
    assert sorted(stream.graph.event_ids()) == queued
    assert {record["status"] for record in capi_records(table)} == {"sent"}


def test_a_token_that_does_not_decrypt_queues_the_page_views(stream, table) -> None:
    table.put({**table.get(f"PIXEL#{PIXEL}", "PIXEL"), "access_token_ciphertext": "bm90IGEgY2lwaGVydGV4dA=="})
    batch = stored_clicks(table, 2)
    assert stream.invoke(stream_event(batch)) == {"batchItemFailures": []}
    assert stream.graph.request_count() == 0
    assert len(page_views_peek(stream.resources)) == 2


def test_pixels_that_cannot_be_read_queue_the_page_views(stream, table, monkeypatch) -> None:
    from botocore.client import BaseClient

    batch = stored_clicks(table, 2)
    original = BaseClient._make_api_call

    def call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "BatchGetItem":
            raise ConnectionError("DynamoDB unreachable")
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    assert stream.invoke(stream_event(batch)) == {"batchItemFailures": []}
    assert stream.graph.request_count() == 0
    assert len(page_views_peek(stream.resources)) == 2


def _refuse(monkeypatch: pytest.MonkeyPatch, ids: set[str] | None) -> None:
    """SendMessageBatch answers these entries as Failed (None: the whole call fails)."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation != "SendMessageBatch":
            return original(self, operation, params)
        if ids is None:
            raise ConnectionError("SQS unreachable")
        kept = [entry for entry in params["Entries"] if entry["Id"] not in ids]
        answer = original(self, operation, {**params, "Entries": kept}) if kept else {"Successful": []}
        refused = [entry for entry in params["Entries"] if entry["Id"] in ids]
        answer["Failed"] = [
            {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try again"}
            for entry in refused
        ]
        return answer

    monkeypatch.setattr(BaseClient, "_make_api_call", call)


def test_messages_sqs_refuses_are_reported_by_sequence_number(stream, table, monkeypatch) -> None:
    batch = [*stored_clicks(table, 2), *stored_clicks(table, 1, pixel=False), *stored_clicks(table, 2)]
    event = stream_event(batch)
    numbers = sequence_numbers(event)
    stream.graph.fail(Fault(status=503, code=2, is_transient=True))  # Meta down: all four to the queue
    _refuse(monkeypatch, {"1", "3"})  # the 2nd and 4th message: the records at positions 1 and 4
    result = stream.invoke(event)
    assert result == {"batchItemFailures": [{"itemIdentifier": numbers[1]}, {"itemIdentifier": numbers[4]}]}
    queued = {message.event_id for message in page_views(stream.resources)}
    assert queued == {f"pv_{tokens_of(batch)[0]}", f"pv_{tokens_of(batch)[3]}"}


def test_meta_and_sqs_down_fail_every_record_with_a_page_view_and_nothing_else(stream, table, monkeypatch) -> None:
    batch = [*stored_clicks(table, 1, pixel=False), *stored_clicks(table, 2)]
    event = stream_event(batch)
    numbers = sequence_numbers(event)
    stream.graph.fail(Fault(status=500, code=2, is_transient=True))
    _refuse(monkeypatch, None)
    result = stream.invoke(event)
    assert result == {"batchItemFailures": [{"itemIdentifier": numbers[1]}, {"itemIdentifier": numbers[2]}]}


def test_an_unreadable_click_is_skipped_as_an_anomaly_not_retried(stream, funil_log) -> None:
    item = deserialize(EXAMPLE["Records"][0]["dynamodb"]["NewImage"])
    broken = {key: value for key, value in item.items() if key not in {"tenant_id", "t"}}
    assert stream.invoke(stream_event([broken])) == {"batchItemFailures": []}
    assert stream.graph.request_count() == 0
    assert queue_messages(stream.resources, "ConversionsQueue") == []
    assert [record.anomaly for record in funil_log if hasattr(record, "anomaly")] == ["click_unreadable"]


def test_a_redelivered_record_sends_the_identical_page_view_for_meta_to_deduplicate(stream, table) -> None:
    """Lambda may deliver a stream record again: the same event name, id and time reach Meta, which
    keeps the first of an event_name and event_id (as it does for the browser Pixel's copy)."""
    event = load_event("dynamodb_stream_click_insert.json")
    assert stream.invoke(event) == {"batchItemFailures": []}
    stream.clock.advance(minutes=3)
    assert stream.invoke(event) == {"batchItemFailures": []}  # the same record again
    first, second = stream.graph.events(META_PIXEL)
    assert first == second
    assert (first["event_name"], first["event_id"]) == ("PageView", f"pv_{EXAMPLE_TOKEN}")


def test_template_wires_the_stream_to_clicks_only(aws_env) -> None:
    from local.template import load as load_template

    function = load_template().functions[RUN]
    (trigger,) = function.streams
    assert trigger.table == "AppTable"
    assert trigger.starting_position == "LATEST"
    assert trigger.report_failures and trigger.bisect_on_error
    assert 0 <= trigger.maximum_retry_attempts <= 100
    assert trigger.on_failure == "ClickStreamDeadLetterQueue"
    assert [json.loads(pattern) for pattern in trigger.filters] == [
        {"dynamodb": {"NewImage": {"sk": {"S": ["CLICK"]}}}, "eventName": ["INSERT"]}
    ]
    # Least privilege: read pixels, decrypt their tokens, send to the conversions queue and its own
    # on-failure queue, nothing else (stream reads come with the DynamoDB event); AppTable's stream
    # carries the new image it reads.
    raw = load_template().raw["Resources"]
    statements = [statement for policy in raw[RUN]["Properties"]["Policies"] for statement in policy["Statement"]]
    assert [(statement["Action"], statement["Resource"]) for statement in statements] == [
        ("dynamodb:BatchGetItem", {"Fn::GetAtt": ["AppTable", "Arn"]}),
        ("kms:Decrypt", {"Fn::GetAtt": ["SecretsKey", "Arn"]}),
        (
            "sqs:SendMessage",
            [{"Fn::GetAtt": ["ConversionsQueue", "Arn"]}, {"Fn::GetAtt": ["ClickStreamDeadLetterQueue", "Arn"]}],
        ),
    ]
    assert raw["AppTable"]["Properties"]["StreamSpecification"]["StreamViewType"] in {"NEW_IMAGE", "NEW_AND_OLD_IMAGES"}
    # The per-click cost (docs/cost.md): no START/REPORT lines for the redirect and the click stream,
    # and the click stream, which mostly waits on Meta, at 128 MB.
    for name in (RUN, "RedirectFunction"):
        assert raw[name]["Properties"]["LoggingConfig"]["SystemLogLevel"] == "WARN", name
    assert raw[RUN]["Properties"]["MemorySize"] == 128
    alarm = raw["ClickStreamDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ClickStreamDeadLetterQueue", "QueueName"]}}
    ]
