"""DynamoDB Streams → Lambda in the local stack (local/streams.py), with Lambda's event source mapping rules.

The record shape is checked against ``events/dynamodb_stream_click_insert.json``: the example event of
the Lambda developer guide ("Using AWS Lambda with Amazon DynamoDB", Example event:
https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html) with a click item of our table in it,
``ApproximateCreationDateTime`` as DynamoDB Streams' StreamRecord documents it (epoch seconds) and
``eventVersion`` 1.1, as Lambda sends it (the guide's example shows 1.0). The on-failure invocation
record is checked against the guide's "Example Invocation Record" (its error handling section).

Every test gets its own stack, so the stream consumers of one test never see another's records.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local import aws
from local.server import LocalStack, start_stack
from local.streams import StreamPoller, first_to_retry, matches, parse_pattern, stream_consumer
from local.template import ROOT, Function, QueueTrigger, StreamTrigger, load

TEST_CODE = ROOT / "tests" / "integration" / "local_stream_functions"
EXAMPLE = json.loads((ROOT / "events" / "dynamodb_stream_click_insert.json").read_text())["Records"][0]

# The Lambda developer guide's example invocation record for a DynamoDB stream (with-ddb.html).
DOCUMENTED_INVOCATION_RECORD: dict[str, Any] = {
    "requestContext": {
        "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
        "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 1,
    },
    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    "version": "1.0",
    "timestamp": "2019-11-14T00:13:49.717Z",
    "DDBStreamBatchInfo": {
        "shardId": "shardId-00000001573689847184-864758bb",
        "startSequenceNumber": "800000000003126276362",
        "endSequenceNumber": "800000000003126276362",
        "approximateArrivalOfFirstRecord": "2019-11-14T00:13:19Z",
        "approximateArrivalOfLastRecord": "2019-11-14T00:13:19Z",
        "batchSize": 1,
        "streamArn": "arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388",
    },
}


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with start_stack(port=0, extensions=[], preload=False, schedule_speed=None) as started:
        yield started
    assert [thread.name for thread in threading.enumerate() if thread.name.startswith("stream-")] == []


def _function(logical_id: str, handler: str, **trigger: Any) -> Function:
    return Function(logical_id, TEST_CODE, f"app.{handler}", {}, streams=(StreamTrigger("AppTable", **trigger),))


def _only(prefix: str) -> tuple[str, ...]:
    """A filter that keeps one test's items (the demo seed writes the table too)."""
    return (json.dumps({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": prefix}]}}}}),)


def _put(pk: str, sk: str = "CLICK", poison: bool = False, **attributes: str) -> None:
    item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attributes.items()}}
    if poison:
        item["poison"] = {"BOOL": True}
    boto3.client("dynamodb", region_name=aws.REGION).put_item(TableName="AppTable", Item=item)


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _batches(stack: LocalStack, logical_id: str) -> list[list[dict[str, Any]]]:
    return stack.module(logical_id).BATCHES


def _pks(batch: list[dict[str, Any]]) -> list[str]:
    return [record["dynamodb"]["Keys"]["pk"]["S"] for record in batch]


def _sequence(batch: list[dict[str, Any]]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in batch]


def _queue(stack: LocalStack, name: str) -> str:
    """A queue in the stack's moto account, registered in stack.resources like the template's."""
    url = boto3.client("sqs", region_name=aws.REGION).create_queue(QueueName=name)["QueueUrl"]
    stack.resources.queues[name] = url
    stack.resources.queue_arns[name] = f"arn:aws:sqs:{aws.REGION}:{aws.ACCOUNT}:{name}"
    return url


def _messages(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=aws.REGION)
    found: list[dict[str, Any]] = []
    while True:
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not received:
            return found
        found.extend(json.loads(message["Body"]) for message in received)


def _shape(value: Any) -> Any:
    """The keys at every level and the JSON type of every leaf."""
    if isinstance(value, dict):
        return {key: _shape(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_shape(inner) for inner in value]
    return type(value).__name__


# -- the template -----------------------------------------------------------------------------------

TEMPLATE = """
Resources:
  AppTable:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
      StreamSpecification:
        StreamViewType: NEW_AND_OLD_IMAGES
  StreamFailures:
    Type: AWS::SQS::Queue
  ClickStreamFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/click_stream/
      Handler: app.handler
      Events:
        Clicks:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt AppTable.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 25
            MaximumBatchingWindowInSeconds: 2
            BisectBatchOnFunctionError: true
            MaximumRetryAttempts: 3
            ParallelizationFactor: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt StreamFailures.Arn
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"sk": {"S": ["CLICK"]}}}}'
        Defaults:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt AppTable.StreamArn
            StartingPosition: LATEST
"""


def test_template_dynamodb_events_become_stream_triggers(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    clicks, defaults = load(path).functions["ClickStreamFunction"].streams
    assert clicks == StreamTrigger(
        table="AppTable",
        starting_position="TRIM_HORIZON",
        batch_size=25,
        batching_window=2,
        bisect_on_error=True,
        maximum_retry_attempts=3,
        report_failures=True,
        on_failure="StreamFailures",
        filters=(json.dumps({"dynamodb": {"NewImage": {"sk": {"S": ["CLICK"]}}}, "eventName": ["INSERT"]}),),
        not_emulated=("ParallelizationFactor",),
    )
    assert defaults == StreamTrigger(table="AppTable", starting_position="LATEST")
    assert (defaults.batch_size, defaults.maximum_retry_attempts, defaults.bisect_on_error) == (100, -1, False)


def test_the_app_table_stream_arn_resolves(stack: LocalStack) -> None:
    arn = stack.resources.stream_arns["AppTable"]
    assert arn.startswith(f"arn:aws:dynamodb:{aws.REGION}:{aws.ACCOUNT}:table/AppTable/stream/")
    assert aws.resolve({"Fn::GetAtt": ["AppTable", "StreamArn"]}, stack.resources) == arn


# -- delivery -----------------------------------------------------------------------------------------


def test_insert_modify_remove_arrive_in_order_shaped_as_lambda_sends_them(stack: LocalStack) -> None:
    # The click's own records only: the template's ClickStreamFunction consumes the same stream, and
    # a PageView it cannot send goes through the sender, whose record (CAPI#…) lands in the same table.
    stack.add_function(_function("TestKeepFunction", "keep", filters=_only("CLICK#")))
    image = EXAMPLE["dynamodb"]["NewImage"]
    dynamodb = boto3.client("dynamodb", region_name=aws.REGION)
    dynamodb.put_item(TableName="AppTable", Item=image)
    dynamodb.update_item(
        TableName="AppTable",
        Key=EXAMPLE["dynamodb"]["Keys"],
        UpdateExpression="SET fbp = :fbp",
        ExpressionAttributeValues={":fbp": {"S": "fb.1.1795370400000.987654321"}},
    )
    dynamodb.delete_item(TableName="AppTable", Key=EXAMPLE["dynamodb"]["Keys"])
    assert stack.drain(5)

    records = [record for batch in _batches(stack, "TestKeepFunction") for record in batch]
    assert [record["eventName"] for record in records] == ["INSERT", "MODIFY", "REMOVE"]
    sequence = [int(number) for number in _sequence(records)]
    assert sequence == sorted(sequence) and len(set(sequence)) == 3
    insert, modify, remove = records
    json.dumps(insert)  # JSON-safe, as Lambda's payload is

    assert _shape(insert) == _shape(EXAMPLE)
    for field in ("eventName", "eventVersion", "eventSource", "awsRegion"):
        assert insert[field] == EXAMPLE[field]
    assert insert["eventSourceARN"] == stack.resources.stream_arns["AppTable"]
    assert re.fullmatch(r"[0-9a-f]{32}", insert["eventID"])
    stream = insert["dynamodb"]
    assert stream["Keys"] == EXAMPLE["dynamodb"]["Keys"]
    assert stream["NewImage"] == image
    assert stream["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert stream["SizeBytes"] > 0
    assert abs(stream["ApproximateCreationDateTime"] - time.time()) < 60
    assert stream["ApproximateCreationDateTime"] == int(stream["ApproximateCreationDateTime"])

    assert modify["dynamodb"]["OldImage"] == image
    assert modify["dynamodb"]["NewImage"] == {**image, "fbp": {"S": "fb.1.1795370400000.987654321"}}
    assert remove["dynamodb"]["OldImage"] == modify["dynamodb"]["NewImage"]
    assert "NewImage" not in remove["dynamodb"]
    assert len({record["eventID"] for record in records}) == 3


def test_what_dynamodb_would_not_write_never_arrives(stack: LocalStack) -> None:
    stack.add_function(_function("TestKeepFunction", "keep", filters=_only("LEAD#")))
    dynamodb = boto3.client("dynamodb", region_name=aws.REGION)
    key = {"pk": {"S": "LEAD#bot_demo_a#5550001"}, "sk": {"S": "LEAD"}}
    dynamodb.update_item(
        TableName="AppTable",
        Key=key,
        UpdateExpression="SET first_name = :name",
        ExpressionAttributeValues={":name": {"S": "Bia"}},
    )
    dynamodb.put_item(TableName="AppTable", Item={**key, "first_name": {"S": "Bia"}})  # changes nothing
    dynamodb.put_item(TableName="AppTable", Item={**key, "first_name": {"S": "Ana"}})
    assert stack.drain(5)
    records = [record for batch in _batches(stack, "TestKeepFunction") for record in batch]
    assert [record["eventName"] for record in records] == ["INSERT", "MODIFY"]
    assert records[0]["dynamodb"]["NewImage"] == {**key, "first_name": {"S": "Bia"}}  # one INSERT, the whole item
    assert records[1]["dynamodb"]["NewImage"]["first_name"] == {"S": "Ana"}


def test_starting_position_latest_skips_what_was_there_and_trim_horizon_reads_it(stack: LocalStack) -> None:
    _put("CLICK#pos-early")
    stack.add_function(_function("TestLatestFunction", "keep", filters=_only("CLICK#pos-")))
    stack.add_function(
        _function("TestTrimHorizonFunction", "keep", starting_position="TRIM_HORIZON", filters=_only("CLICK#pos-"))
    )
    _put("CLICK#pos-late")
    assert stack.drain(5)
    assert [_pks(batch) for batch in _batches(stack, "TestLatestFunction")] == [["CLICK#pos-late"]]
    delivered = [pk for batch in _batches(stack, "TestTrimHorizonFunction") for pk in _pks(batch)]
    assert delivered == ["CLICK#pos-early", "CLICK#pos-late"]


def test_batch_size_counts_the_records_delivered(stack: LocalStack) -> None:
    for index in range(5):
        _put(f"CLICK#batch-{index}")
    stack.add_function(
        _function("TestKeepFunction", "keep", starting_position="TRIM_HORIZON", batch_size=2, filters=_only("CLICK#b"))
    )
    assert stack.drain(5)
    assert [_pks(batch) for batch in _batches(stack, "TestKeepFunction")] == [
        ["CLICK#batch-0", "CLICK#batch-1"],
        ["CLICK#batch-2", "CLICK#batch-3"],
        ["CLICK#batch-4"],
    ]


def test_batching_window_gathers_records_written_apart(stack: LocalStack) -> None:
    stack.add_function(_function("TestKeepFunction", "keep", batching_window=0.6, filters=_only("CLICK#window-")))
    for index in range(3):
        _put(f"CLICK#window-{index}")
    assert stack.drain(5)
    assert [_pks(batch) for batch in _batches(stack, "TestKeepFunction")] == [
        ["CLICK#window-0", "CLICK#window-1", "CLICK#window-2"]
    ]


def test_filter_criteria_deliver_only_inserted_clicks(stack: LocalStack) -> None:
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"sk": {"S": ["CLICK"]}}}}
    stack.add_function(_function("TestClickInsertsFunction", "keep", filters=(json.dumps(pattern),)))
    _put("CLICK#filter-1")
    _put("LEAD#bot_demo_a#5550001", sk="LEAD")
    _put("CLICK#filter-1", fbp="fb.1.1732000000000.1234567890")  # MODIFY
    boto3.client("dynamodb", region_name=aws.REGION).delete_item(
        TableName="AppTable", Key={"pk": {"S": "CLICK#filter-1"}, "sk": {"S": "CLICK"}}
    )
    _put("CLICK#filter-2")
    assert stack.drain(5)
    records = [record for batch in _batches(stack, "TestClickInsertsFunction") for record in batch]
    assert [(record["eventName"], *_pks([record])) for record in records] == [
        ("INSERT", "CLICK#filter-1"),
        ("INSERT", "CLICK#filter-2"),
    ]


def test_filter_rules_follow_lambdas_syntax() -> None:
    record = {
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"pk": {"S": "CLICK#abc"}},
            "NewImage": {"sk": {"S": "CLICK"}, "n": {"N": "7"}, "tags": {"SS": ["a", "b"]}},
            "SizeBytes": 120,
        },
    }
    assert matches({"eventName": ["INSERT", "MODIFY"]}, record)
    assert not matches({"eventName": ["REMOVE"]}, record)
    assert matches({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "CLICK#"}]}}}}, record)
    assert not matches({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "LEAD#"}]}}}}, record)
    assert matches({"dynamodb": {"Keys": {"pk": {"S": [{"suffix": "#abc"}]}}}}, record)
    assert matches({"dynamodb": {"NewImage": {"sk": {"S": [{"equals-ignore-case": "click"}]}}}}, record)
    assert not matches({"dynamodb": {"NewImage": {"sk": {"S": ["click"]}}}}, record)  # exact by default
    assert matches({"eventName": [{"anything-but": ["REMOVE"]}]}, record)
    assert not matches({"eventName": [{"anything-but": "INSERT"}]}, record)
    assert matches({"dynamodb": {"NewImage": {"fbp": [{"exists": False}]}}}, record)
    assert not matches({"dynamodb": {"NewImage": {"fbp": [{"exists": True}]}}}, record)
    assert matches({"dynamodb": {"NewImage": {"tags": {"SS": ["b"]}}}}, record)  # any element of a list
    assert matches({"dynamodb": {"SizeBytes": [{"numeric": [">", 100, "<=", 120]}]}}, record)
    assert not matches({"dynamodb": {"SizeBytes": [{"numeric": [">", 120]}]}}, record)
    assert not matches({"dynamodb": {"NewImage": {"n": {"N": [7]}}}}, record)  # "7" is not 7
    assert not matches({"dynamodb": {"NewImage": {"missing": {"S": ["x"]}}}}, record)
    with pytest.raises(ValueError, match="not emulated"):
        parse_pattern('{"eventName": [{"wildcard": "IN*"}]}')
    with pytest.raises(ValueError, match="non-empty list"):
        parse_pattern('{"eventName": "INSERT"}')


# -- errors -----------------------------------------------------------------------------------------


def test_a_raising_function_gets_the_same_batch_again(stack: LocalStack) -> None:
    _put("CLICK#retry-1")
    _put("CLICK#retry-2")
    stack.add_function(
        _function("TestFlakyFunction", "fail_twice", starting_position="TRIM_HORIZON", filters=_only("CLICK#retry-"))
    )
    assert stack.drain(5)
    batches = _batches(stack, "TestFlakyFunction")
    assert [_pks(batch) for batch in batches] == [["CLICK#retry-1", "CLICK#retry-2"]] * 3
    assert _sequence(batches[0]) == _sequence(batches[1]) == _sequence(batches[2])
    _put("CLICK#retry-3")
    assert stack.drain(5)
    assert _pks(batches[-1]) == ["CLICK#retry-3"]


def test_bisect_on_error_isolates_the_poison_record(stack: LocalStack) -> None:
    failures = _queue(stack, "TestStreamFailures")
    for name in ("a", "b"):
        _put(f"CLICK#bisect-{name}")
    _put("CLICK#bisect-poison", poison=True)
    _put("CLICK#bisect-d")
    stack.add_function(
        _function(
            "TestBisectFunction",
            "fail_on_poison",
            starting_position="TRIM_HORIZON",
            bisect_on_error=True,
            maximum_retry_attempts=0,
            on_failure="TestStreamFailures",
            filters=_only("CLICK#bisect-"),
        )
    )
    assert stack.drain(5)
    names = [
        [pk.removeprefix("CLICK#bisect-") for pk in _pks(batch)] for batch in _batches(stack, "TestBisectFunction")
    ]
    assert names == [["a", "b", "poison", "d"], ["a", "b"], ["poison", "d"], ["poison"], ["d"]]
    poison_sequence = _sequence(_batches(stack, "TestBisectFunction")[3])[0]
    (message,) = _messages(failures)
    info = message["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        poison_sequence,
        poison_sequence,
        1,
    )


def test_report_batch_item_failures_retries_from_the_failed_record(stack: LocalStack) -> None:
    failures = _queue(stack, "TestStreamFailures")
    _put("CLICK#partial-a")
    _put("CLICK#partial-b", poison=True)
    _put("CLICK#partial-c")
    stack.add_function(
        _function(
            "TestPartialFunction",
            "report_poison_once",
            starting_position="TRIM_HORIZON",
            report_failures=True,
            on_failure="TestStreamFailures",
            filters=_only("CLICK#partial-"),
        )
    )
    assert stack.drain(5)
    assert [_pks(batch) for batch in _batches(stack, "TestPartialFunction")] == [
        ["CLICK#partial-a", "CLICK#partial-b", "CLICK#partial-c"],
        ["CLICK#partial-b", "CLICK#partial-c"],
    ]
    assert _messages(failures) == []


def test_reported_failures_that_persist_send_the_rest_of_the_batch_on(stack: LocalStack) -> None:
    failures = _queue(stack, "TestStreamFailures")
    _put("CLICK#persist-a")
    _put("CLICK#persist-b", poison=True)
    _put("CLICK#persist-c")
    stack.add_function(
        _function(
            "TestPersistFunction",
            "report_poison",
            starting_position="TRIM_HORIZON",
            report_failures=True,
            maximum_retry_attempts=1,
            on_failure="TestStreamFailures",
            filters=_only("CLICK#persist-"),
        )
    )
    assert stack.drain(5)
    batches = _batches(stack, "TestPersistFunction")
    assert [_pks(batch) for batch in batches] == [
        ["CLICK#persist-a", "CLICK#persist-b", "CLICK#persist-c"],
        ["CLICK#persist-b", "CLICK#persist-c"],
    ]
    (message,) = _messages(failures)
    info = message["DDBStreamBatchInfo"]
    assert [info["startSequenceNumber"], info["endSequenceNumber"]] == _sequence(batches[1])
    assert info["batchSize"] == 2
    assert message["requestContext"]["approximateInvokeCount"] == 2
    assert "functionError" not in message["responseContext"]  # the function answered; it did not raise


def test_exhausted_retries_send_one_invocation_record_and_later_records_flow(stack: LocalStack) -> None:
    failures = _queue(stack, "TestStreamFailures")
    _put("CLICK#exhaust-poison", poison=True)
    stack.add_function(
        _function(
            "TestExhaustFunction",
            "fail_on_poison",
            starting_position="TRIM_HORIZON",
            maximum_retry_attempts=2,
            on_failure="TestStreamFailures",
            filters=_only("CLICK#exhaust-"),
        )
    )
    assert stack.drain(5)
    batches = _batches(stack, "TestExhaustFunction")
    assert [_pks(batch) for batch in batches] == [["CLICK#exhaust-poison"]] * 3  # the first try and 2 retries
    (message,) = _messages(failures)
    assert _shape(message) == _shape(DOCUMENTED_INVOCATION_RECORD)
    context = message["requestContext"]
    assert context["condition"] == "RetryAttemptsExhausted"
    assert context["approximateInvokeCount"] == 3
    assert context["functionArn"] == f"arn:aws:lambda:{aws.REGION}:{aws.ACCOUNT}:function:TestExhaustFunction"
    assert re.fullmatch(r"[0-9a-f-]{36}", context["requestId"])
    assert message["responseContext"] == DOCUMENTED_INVOCATION_RECORD["responseContext"]
    assert message["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", message["timestamp"])
    info = message["DDBStreamBatchInfo"]
    description = boto3.client("dynamodbstreams", region_name=aws.REGION).describe_stream(
        StreamArn=stack.resources.stream_arns["AppTable"]
    )["StreamDescription"]
    assert info["shardId"] == description["Shards"][0]["ShardId"]
    assert info["streamArn"] == stack.resources.stream_arns["AppTable"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == _sequence(batches[0])[0]
    assert info["batchSize"] == 1
    for arrival in ("approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info[arrival])

    _put("CLICK#exhaust-later")
    assert stack.drain(5)
    assert _pks(batches[-1]) == ["CLICK#exhaust-later"]
    assert _messages(failures) == []


def test_unbounded_retries_are_capped_locally(stack: LocalStack) -> None:
    failures = _queue(stack, "TestStreamFailures")
    function = _function(
        "TestUnboundedFunction",
        "fail_on_poison",
        on_failure="TestStreamFailures",
        filters=_only("CLICK#unbounded-"),
    )
    assert function.streams[0].maximum_retry_attempts == -1
    poller = StreamPoller(stack.invoke_function, unbounded_retry_attempts=1)
    poller.add(stream_consumer(function, function.streams[0], stack.resources))
    poller.start()
    try:
        _put("CLICK#unbounded-poison", poison=True)
        found: list[dict[str, Any]] = []

        def sent_on() -> bool:
            found.extend(_messages(failures))
            return bool(found)

        _wait_for(sent_on)
        assert found[0]["requestContext"]["approximateInvokeCount"] == 2
        assert poller.drain(5)
    finally:
        poller.stop()


def test_first_to_retry_follows_lambda_rules() -> None:
    sequence = ["100", "101", "102"]
    assert first_to_retry(sequence, None, report_failures=True) is None
    assert first_to_retry(sequence, {"batchItemFailures": [{"itemIdentifier": "101"}]}, report_failures=False) is None
    assert first_to_retry(sequence, {"batchItemFailures": []}, report_failures=True) is None
    assert first_to_retry(sequence, {"batchItemFailures": None}, report_failures=True) is None
    assert first_to_retry(sequence, {}, report_failures=True) is None
    failures = {"batchItemFailures": [{"itemIdentifier": "102"}, {"itemIdentifier": "101"}]}
    assert first_to_retry(sequence, failures, report_failures=True) == 1  # the lowest sequence number
    assert first_to_retry(sequence, {"batchItemFailures": [{"itemIdentifier": ""}]}, report_failures=True) == 0
    assert first_to_retry(sequence, {"batchItemFailures": [{"itemIdentifier": None}]}, report_failures=True) == 0
    assert first_to_retry(sequence, {"batchItemFailures": [{"id": "101"}]}, report_failures=True) == 0
    assert first_to_retry(sequence, {"batchItemFailures": [{"itemIdentifier": "999"}]}, report_failures=True) == 0
    assert first_to_retry(sequence, "nonsense", report_failures=True) == 0


# -- the stack ------------------------------------------------------------------------------------------


def test_drain_waits_for_a_stream_consumer_and_the_queue_it_feeds(stack: LocalStack) -> None:
    url = _queue(stack, "TestForwardQueue")
    stack.set_env("TEST_FORWARD_QUEUE_URL", url)
    collector = Function(
        "TestCollectFunction", TEST_CODE, "app.collect", {}, queues=(QueueTrigger("TestForwardQueue", 10, False),)
    )
    stack.add_function(collector)
    stack.add_function(_function("TestForwardFunction", "forward", filters=_only("CLICK#chain-")))
    _put("CLICK#chain-1")
    assert stack.drain(10)
    bodies = stack.module("TestCollectFunction").BODIES
    assert bodies == [json.dumps({"pk": "CLICK#chain-1"})]
