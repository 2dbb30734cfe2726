"""The Docker-free local stack (local/server.py) over real HTTP: routes, events, SQS, schedules."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from local import aws
from local.poller import records_to_delete
from local.server import LocalRequest, LocalResponse, LocalStack, start_stack
from local.template import ROOT, Function, HttpRoute, QueueTrigger, Schedule

BROWSER_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Instagram 325.0.4.32.96"
)
TEST_CODE = ROOT / "tests" / "integration" / "local_stack_functions"


def _function(logical_id: str, handler: str, **kwargs: Any) -> Function:
    return Function(logical_id, TEST_CODE, f"app.{handler}", {}, **kwargs)


def _create_queue(stack: LocalStack, name: str, visibility: int, dlq_after: int | None = None) -> str:
    """A queue in the stack's moto account, registered in stack.resources like the template's."""
    sqs = boto3.client("sqs", region_name=aws.REGION)
    attributes = {"VisibilityTimeout": str(visibility)}
    if dlq_after:
        dlq_url = sqs.create_queue(QueueName=f"{name}DLQ")["QueueUrl"]
        stack.resources.queues[f"{name}DLQ"] = dlq_url
        dlq_arn = f"arn:aws:sqs:{aws.REGION}:{aws.ACCOUNT}:{name}DLQ"
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": dlq_after})
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    stack.resources.queues[name] = url
    stack.resources.queue_arns[name] = f"arn:aws:sqs:{aws.REGION}:{aws.ACCOUNT}:{name}"
    return url


def _hello(request: LocalRequest) -> LocalResponse:
    return LocalResponse.json({"name": request.path_params["name"], "q": request.arg("q"), "body": request.text})


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    started = start_stack(port=0)
    try:
        started.add_function(_function("TestEchoFunction", "echo", routes=(HttpRoute("ANY", "/_test/echo/{rest+}"),)))
        started.add_function(_function("TestBareFunction", "bare", routes=(HttpRoute("GET", "/_test/bare"),)))
        started.add_function(_function("TestBoomFunction", "boom", routes=(HttpRoute("GET", "/_test/boom"),)))
        started.add_function(
            _function("TestTickFunction", "tick", schedules=(Schedule("Tick", "rate(1 hour)"),), timeout=7)
        )
        started.add_route("POST", "/_fake/hello/{name}", _hello)
        yield started
    finally:
        started.stop()
    leftover = [t.name for t in threading.enumerate() if t.name.startswith(("sqs-", "funil-local"))]
    assert leftover == []


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=5) as http:
        yield http


def _counts(client: httpx.Client) -> dict[str, dict[str, int]]:
    answer = client.get("/_local/queues")
    assert answer.status_code == 200
    return answer.json()


def test_demo_link_serves_the_bridge_page_and_stores_the_click(client: httpx.Client) -> None:
    answer = client.get("/go/demo?utm_source=facebook&fbclid=IwAR0abc", headers={"user-agent": BROWSER_UA})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "nonce-" in answer.headers["content-security-policy"]
    token = re.search(r"start=([A-Za-z0-9_-]{22})", answer.text).group(1)
    items = client.get("/_local/items", params={"prefix": "CLICK#"}).json()
    click = next(item for item in items if item["pk"] == f"CLICK#{token}")
    assert click["ip"] == "127.0.0.1"
    assert click["u"] == {"source": "facebook"}  # stored compact (docs/data-model.md)
    assert all(item["pk"].startswith("CLICK#") for item in items)
    set_cookies = dict(header.split(";", 1)[0].split("=", 1) for header in answer.headers.get_list("set-cookie"))
    assert set(set_cookies) == {"_fbp", "_fbc"}  # none came with the request: the redirect set both
    assert click["fbp"] == set_cookies["_fbp"]


def test_unknown_slug_is_404(client: httpx.Client) -> None:
    before = client.get("/_local/items", params={"prefix": "CLICK#"}).json()
    answer = client.get("/go/no-such-link", headers={"user-agent": BROWSER_UA})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert client.get("/_local/items", params={"prefix": "CLICK#"}).json() == before


def test_a_click_sends_its_server_page_view_through_the_table_stream(stack: LocalStack, client: httpx.Client) -> None:
    """No second request: ClickStreamFunction reads the stored click from AppTable's stream."""
    assert any(consumer.function.logical_id == "ClickStreamFunction" for consumer in stack.streams.consumers)
    page = client.get("/go/demo", headers={"user-agent": BROWSER_UA})
    token = re.search(r"start=([A-Za-z0-9_-]{22})", page.text).group(1)
    assert stack.drain(10)  # the stream consumer sends it to the fake Graph API
    received = client.get("/_local/capi", params={"token": token}).json()
    assert [event["event_id"] for event in received if event["event_name"] == "PageView"] == [f"pv_{token}"]


def test_seed_lists_the_two_demo_bots(client: httpx.Client) -> None:
    seed = client.get("/_local/seed").json()
    assert [bot["username"] for bot in seed["bots"]] == ["FunilDemoABot", "FunilDemoBBot"]
    assert all(set(bot) >= {"id", "username"} for bot in seed["bots"])


def test_index_page_links_the_demo_and_introspection(stack: LocalStack, client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert f"{stack.base_url}/go/demo" in page.text
    assert "/_local/queues" in page.text


def test_handler_gets_a_payload_v2_event(client: httpx.Client) -> None:
    answer = client.post(
        "/_test/echo/a/b%20c?x=1&x=2&empty=&q=%C3%A9",
        content=b"\x00\x01binary",
        headers=[
            ("content-type", "application/octet-stream"),
            ("cookie", "_fbp=fb.1.1.2; other=1"),
            ("x-multi", "one"),
            ("x-multi", "two"),
            ("x-forwarded-for", "203.0.113.9"),
        ],
    )
    assert answer.status_code == 201
    assert answer.headers["x-echo"] == "1"
    assert answer.headers.get_list("set-cookie") == ["a=1; Path=/; HttpOnly", "b=2"]
    event = answer.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "ANY /_test/echo/{rest+}"
    assert event["rawPath"] == "/_test/echo/a/b%20c"
    assert event["rawQueryString"] == "x=1&x=2&empty=&q=%C3%A9"
    assert event["queryStringParameters"] == {"x": "1,2", "empty": "", "q": "é"}
    assert event["pathParameters"] == {"rest": "a/b c"}
    assert event["cookies"] == ["_fbp=fb.1.1.2", "other=1"]
    headers = event["headers"]
    assert "cookie" not in headers
    assert headers["x-multi"] == "one,two"
    assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == str(httpx.URL(str(client.base_url)).port)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\x01binary"
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/_test/echo/a/b%20c",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": headers["user-agent"],
    }
    assert context["stage"] == "$default"
    assert context["routeKey"] == event["routeKey"]
    assert {"accountId", "apiId", "domainName", "requestId", "time", "timeEpoch"} <= set(context)


def test_text_bodies_are_not_base64_and_get_has_no_body(client: httpx.Client) -> None:
    event = client.put("/_test/echo/x", content="{}", headers={"content-type": "application/json"}).json()
    assert (event["body"], event["isBase64Encoded"]) == ("{}", False)
    client.cookies.clear()  # the echo route sets cookies; this request must carry none
    event = client.get("/_test/echo/x").json()
    assert "body" not in event and "queryStringParameters" not in event and "cookies" not in event


def test_bare_handler_result_is_200_json(client: httpx.Client) -> None:
    answer = client.get("/_test/bare")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"hello": "world"}


def test_handler_exception_is_a_500_without_details(client: httpx.Client) -> None:
    answer = client.get("/_test/boom")
    assert answer.status_code == 500
    assert answer.json() == {"message": "Internal Server Error"}
    assert "secret" not in answer.text


def test_unknown_route_is_404_json(client: httpx.Client) -> None:
    for method, path in (("GET", "/nowhere"), ("DELETE", "/go/demo"), ("GET", "/go/demo/c/extra")):
        answer = client.request(method, path)
        assert answer.status_code == 404
        assert answer.json() == {"message": "Not Found"}


def test_added_routes_come_first(client: httpx.Client) -> None:
    answer = client.post("/_fake/hello/ana?q=1", content="hi")
    assert answer.json() == {"name": "ana", "q": "1", "body": "hi"}


def test_partial_batch_failure_redelivers_only_the_failed_record(stack: LocalStack) -> None:
    url = _create_queue(stack, "TestPartialQueue", visibility=1, dlq_after=2)
    sqs = boto3.client("sqs", region_name=aws.REGION)
    sqs.send_message(QueueUrl=url, MessageBody="ok")
    sqs.send_message(
        QueueUrl=url,
        MessageBody="fail",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "pv"}},
    )
    stack.add_function(
        _function("TestPartialConsumer", "partial", queues=(QueueTrigger("TestPartialQueue", 10, True),))
    )
    assert stack.drain(8)
    calls = stack.module("TestPartialConsumer").CALLS
    assert [record["body"] for record in calls].count("ok") == 1
    failed = [record for record in calls if record["body"] == "fail"]
    assert [record["attributes"]["ApproximateReceiveCount"] for record in failed] == ["1", "2"]
    record = failed[0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":TestPartialQueue")
    assert record["awsRegion"] == aws.REGION
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "pv",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert {"messageId", "receiptHandle", "md5OfBody"} <= set(record)
    # After maxReceiveCount deliveries the redrive policy moved it to the dead-letter queue.
    dlq = sqs.receive_message(QueueUrl=stack.resources.queues["TestPartialQueueDLQ"], VisibilityTimeout=0)
    assert [message["Body"] for message in dlq["Messages"]] == ["fail"]


def test_a_raising_consumer_leaves_every_record(stack: LocalStack, client: httpx.Client) -> None:
    url = _create_queue(stack, "TestRaisingQueue", visibility=30)
    sqs = boto3.client("sqs", region_name=aws.REGION)
    for body in ("one", "two"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    stack.add_function(
        _function("TestRaisingConsumer", "raising", queues=(QueueTrigger("TestRaisingQueue", 10, True),))
    )
    deadline = time.monotonic() + 5
    while len(stack.module("TestRaisingConsumer").CALLS) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(record["body"] for record in stack.module("TestRaisingConsumer").CALLS) == ["one", "two"]
    time.sleep(0.3)  # the poller keeps running after the error; nothing is deleted
    assert _counts(client)["TestRaisingQueue"] == {"visible": 0, "in_flight": 2}
    assert not stack.drain(0.3)
    sqs.purge_queue(QueueUrl=url)  # so later drains are not held by these records
    assert stack.drain(2)


def test_records_to_delete_follows_lambda_rules() -> None:
    ids = ["m1", "m2"]
    assert records_to_delete(ids, None, report_failures=False) == ids
    assert records_to_delete(ids, {"batchItemFailures": [{"itemIdentifier": "m1"}]}, report_failures=False) == ids
    assert records_to_delete(ids, {"batchItemFailures": [{"itemIdentifier": "m1"}]}, report_failures=True) == ["m2"]
    assert records_to_delete(ids, {"batchItemFailures": []}, report_failures=True) == ids
    assert records_to_delete(ids, {}, report_failures=True) == ids
    assert records_to_delete(ids, {"batchItemFailures": [{"itemIdentifier": ""}]}, report_failures=True) == []
    assert records_to_delete(ids, {"batchItemFailures": [{"itemIdentifier": "m9"}]}, report_failures=True) == []
    assert records_to_delete(ids, "nonsense", report_failures=True) == []


def test_schedule_route_invokes_the_function(stack: LocalStack, client: httpx.Client) -> None:
    answer = client.post("/_local/schedules/TestTickFunction")
    assert answer.status_code == 200
    result = answer.json()["result"]
    assert result["saw"] == "Scheduled Event"
    assert 0 < result["remaining_ms"] <= 7000
    event = stack.module("TestTickFunction").CALLS[-1]
    assert event["source"] == "aws.events"
    assert event["resources"][0].startswith(f"arn:aws:events:{aws.REGION}:{aws.ACCOUNT}:rule/")
    assert client.post("/_local/schedules/NoSuchFunction").status_code == 404
    assert client.post("/_local/schedules/TestBareFunction").status_code == 404  # has no schedule


def test_request_log_lines_carry_no_secrets() -> None:
    from local.server import mask_secrets

    line = (
        '"POST /pay/gw_sandbox_demo/Zx9-secretPart_123/pix HTTP/1.1" 200 - '
        '"POST /_local/tgapi/bot700001:TEST-funil-local-demo-bot-00-not-real/sendMessage HTTP/1.1" 200 - '
        '"POST /graph/v26.0/123/events?access_token=EAAB123&x=1 HTTP/1.1" 200 -'
    )
    masked = mask_secrets(line)
    assert "Zx9-secretPart_123" not in masked and "/pay/gw_sandbox_demo/***/pix" in masked
    assert "TEST-funil" not in masked and "/bot***/sendMessage" in masked
    assert "EAAB123" not in masked and "access_token=***&x=1" in masked
