"""ClickStreamFunction through the real handler: AppTable's stream (new clicks) → the server PageView.

Events have the shape Lambda gives a DynamoDB stream consumer (``events/dynamodb_stream_click_insert.json``,
whose source is named in tests/integration/test_local_streams.py); the clicks in them are made by the
real redirect where it matters. The conversions sender and the fake Graph API close the chain.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import httpx
import pytest
from funil import clock
from funil.adapters.dynamo import deserialize, serialize
from funil.adapters.meta_graph import GraphClient
from funil.messages import ConversionMessage

from local import aws
from local.fakes.meta_graph import FakeMetaGraph
from local.handlers import LambdaContext, load_handler
from local.template import load
from tests.conftest import load_event, queue_messages
from tests.unit.conversions.factories import ACCESS_TOKEN, META_PIXEL, MutableClock, pixel_item

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
            token = re.search(r"start=([A-Za-z0-9_-]{22})", answer["body"] or answer["headers"]["location"]).group(1)
            made.append(table.get(f"CLICK#{token}", "CLICK"))
        return made

    return make


def test_the_example_click_sends_its_one_page_view(invoke, aws_env, aws_calls) -> None:
    result = invoke(RUN, load_event("dynamodb_stream_click_insert.json"))
    assert result == {"batchItemFailures": []}
    assert aws_calls == [("sqs", "SendMessageBatch")]
    (message,) = page_views(aws_env)
    assert message.kind == "PageView"
    assert message.event_id == f"pv_{EXAMPLE_TOKEN}"  # the bridge page's Pixel eventID
    assert message.refs.click_token == EXAMPLE_TOKEN
    assert (message.tenant_id, message.pixel_id) == ("t_demo", "px_demo")
    assert message.occurred_at == clock.parse_iso("2026-11-22T18:00:00Z")  # the click's time (t)


def test_one_page_view_per_click_with_a_pixel_ten_per_request(invoke, aws_env, clicks, aws_calls) -> None:
    with_pixel = clicks(12)
    without_pixel = clicks(3, pixel=False)
    batch = [*with_pixel[:5], *without_pixel, *with_pixel[5:]]
    aws_calls.clear()
    assert invoke(RUN, stream_event(batch)) == {"batchItemFailures": []}
    assert aws_calls == [("sqs", "SendMessageBatch")] * 2  # 12 messages: 10 + 2, nothing for the 3 without pixel
    sent = page_views(aws_env)
    tokens = [item["pk"].removeprefix("CLICK#") for item in with_pixel]
    assert sorted(message.event_id for message in sent) == sorted(f"pv_{token}" for token in tokens)


def test_a_batch_of_clicks_without_pixel_sends_nothing(invoke, aws_env, clicks, aws_calls) -> None:
    batch = clicks(2, pixel=False)
    aws_calls.clear()
    assert invoke(RUN, stream_event(batch)) == {"batchItemFailures": []}
    assert aws_calls == []
    assert queue_messages(aws_env, "ConversionsQueue") == []


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


def test_messages_sqs_refuses_are_reported_by_sequence_number(invoke, aws_env, clicks, monkeypatch) -> None:
    batch = [*clicks(2), *clicks(1, pixel=False), *clicks(2)]
    event = stream_event(batch)
    numbers = sequence_numbers(event)
    _refuse(monkeypatch, {"1", "3"})  # the 2nd and 4th message: the records at positions 1 and 4
    result = invoke(RUN, event)
    assert result == {"batchItemFailures": [{"itemIdentifier": numbers[1]}, {"itemIdentifier": numbers[4]}]}
    sent = {message.event_id for message in page_views(aws_env)}
    assert sent == {f"pv_{batch[0]['pk'][6:]}", f"pv_{batch[3]['pk'][6:]}"}


def test_sqs_down_fails_every_record_with_a_message_and_nothing_else(invoke, aws_env, clicks, monkeypatch) -> None:
    batch = [*clicks(1, pixel=False), *clicks(2)]
    event = stream_event(batch)
    numbers = sequence_numbers(event)
    _refuse(monkeypatch, None)
    result = invoke(RUN, event)
    assert result == {"batchItemFailures": [{"itemIdentifier": numbers[1]}, {"itemIdentifier": numbers[2]}]}


def test_an_unreadable_click_is_skipped_as_an_anomaly_not_retried(invoke, aws_env, funil_log) -> None:
    item = deserialize(EXAMPLE["Records"][0]["dynamodb"]["NewImage"])
    broken = {key: value for key, value in item.items() if key not in {"tenant_id", "t"}}
    assert invoke(RUN, stream_event([broken])) == {"batchItemFailures": []}
    assert queue_messages(aws_env, "ConversionsQueue") == []
    assert [record.anomaly for record in funil_log if hasattr(record, "anomaly")] == ["click_unreadable"]


def test_a_redelivered_record_sends_no_second_page_view_to_meta(invoke, aws_env, table, monkeypatch) -> None:
    """Lambda may deliver a stream record again: the sender's claim on pv_<token> absorbs it."""
    from funil.adapters.kms import Kms

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://funil.example.com")
    table.put(pixel_item(access_token_ciphertext=Kms().encrypt(aws_env.keys["SecretsKey"], ACCESS_TOKEN)))
    stored = deserialize(EXAMPLE["Records"][0]["dynamodb"]["NewImage"])
    table.put(stored)
    event = load_event("dynamodb_stream_click_insert.json")
    assert invoke(RUN, event) == {"batchItemFailures": []}
    assert invoke(RUN, event) == {"batchItemFailures": []}  # the same record again
    messages = page_views(aws_env)
    assert [message.event_id for message in messages] == [f"pv_{EXAMPLE_TOKEN}"] * 2

    sender = load().functions["CapiSenderFunction"]
    load_handler(sender, fresh=True)
    module = sys.modules["funil_fn_CapiSenderFunction"]
    at = MutableClock(clock.parse_iso("2026-11-22T18:00:00Z") + timedelta(minutes=5))
    graph = FakeMetaGraph(access_tokens={ACCESS_TOKEN}, now=at.timestamp)
    module.DEPS.graph = GraphClient(client=httpx.Client(transport=httpx.MockTransport(graph.handle)))
    module.DEPS.now = at
    for number, message in enumerate(messages):  # one SQS batch each, as two deliveries would come
        record = {"messageId": f"m-{number}", "receiptHandle": f"r-{number}", "body": message.model_dump_json()}
        result = module.lambda_handler({"Records": [record]}, LambdaContext(sender, f"test-{number}"))
        assert result == {"batchItemFailures": []}

    (sent,) = graph.events(META_PIXEL)
    assert (sent["event_name"], sent["event_id"]) == ("PageView", f"pv_{EXAMPLE_TOKEN}")
    assert sent["user_data"]["fbp"] == stored["fbp"]  # the fbp the redirect stored (and set as _fbp)
    assert sent["user_data"]["fbc"] == f"fb.1.{stored['t']}.{stored['ci']['fbclid']}"
    assert sent["event_source_url"] == "https://funil.example.com/go/demo"
    assert json.loads(json.dumps(sent))["event_time"] == stored["t"] // 1000


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
    # Least privilege: send to the conversions queue and its own on-failure queue, nothing else (stream
    # reads come with the DynamoDB event); AppTable's stream carries the new image it reads.
    raw = load_template().raw["Resources"]
    statements = [statement for policy in raw[RUN]["Properties"]["Policies"] for statement in policy["Statement"]]
    assert [(statement["Action"], statement["Resource"]) for statement in statements] == [
        (
            "sqs:SendMessage",
            [{"Fn::GetAtt": ["ConversionsQueue", "Arn"]}, {"Fn::GetAtt": ["ClickStreamDeadLetterQueue", "Arn"]}],
        )
    ]
    assert raw["AppTable"]["Properties"]["StreamSpecification"]["StreamViewType"] in {"NEW_IMAGE", "NEW_AND_OLD_IMAGES"}
    alarm = raw["ClickStreamDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ClickStreamDeadLetterQueue", "QueueName"]}}
    ]
