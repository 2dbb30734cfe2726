"""Hostile input on the public HTTP routes, through the real handlers on moto (property-based).

For every generated request: the status is below 500, no log record carries a traceback (exc_info),
no log line holds a secret, and a rejected request (a 4xx, or Telegram's ``malformed``) leaves the
app table as it was. The one item a rejected gateway webhook may leave is its raw copy
(``WEBHOOK#…``, docs/data-model.md: webhooks are kept as received, redacted, once the URL secret
matched).

Profiles: ``ci`` (default, fast: 100 examples per route) and ``thorough``
(``HYPOTHESIS_PROFILE=thorough``: 10,000 per route); a route's examples are shared among its tests.
``HYPOTHESIS_COUNT_DIR`` makes each test count the examples it ran (one character each) in a file
there: long runs report their counts even when stopped.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local import aws
from local.handlers import LambdaContext
from tests.conftest import load_event
from tests.integration import test_gateway_webhook as gateway_tests
from tests.integration.test_delivery_page import put_payment
from tests.integration.test_gateway_webhook import URL_SECRET, WEBHOOK_SECRET, PayEnv
from tests.unit.bot.telegram_harness import TgEnv

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one moto world per test; each example checks its own diff
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
settings.register_profile("thorough", parent=settings.get_profile("ci"), max_examples=10_000)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def route(tests: int) -> settings:
    """The profile's examples are per route: shared among the ``tests`` of that route."""
    return settings(PROFILE, max_examples=max(1, -(-PROFILE.max_examples // tests)))  # rounded up: ≥ the profile


COUNT_DIR = os.environ.get("HYPOTHESIS_COUNT_DIR")  # long runs: one character per example, per test


def counted() -> None:
    if COUNT_DIR:
        test = os.environ.get("PYTEST_CURRENT_TEST", "test").split("::")[-1].split(" ")[0]
        with open(os.path.join(COUNT_DIR, test), "a") as count:
            count.write(".")


pay = gateway_tests.pay  # the gateway webhook on moto with the sandbox gateway's fake

# -- what hostile input looks like --------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# JSON text put where a value belongs: wrong types, huge or inexact numbers, deep nesting, bad times.
HOSTILE_JSON = st.one_of(
    JSON_VALUES.map(_dumps),
    st.integers(1, 6000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(19, 5000).map(lambda n: "9" * n),
    st.integers(19, 5000).map(lambda n: "-" + "9" * n),
    st.sampled_from(
        [
            "1e999999999",
            "-1e999999999",
            "1E+400",
            "0E+999999999",
            "0.0000000000000000000000000001",
            "1.000000000000000000000000000001",
            "12345678901234567890123456.789",
            "19.905",
            "1990.0",
            "-0",
            "NaN",
            "Infinity",
            "-Infinity",
            '"9999-12-31T23:59:59-23:59"',
            '"0001-01-01T00:00:00+01:00"',
            '"2026-02-30T00:00:00Z"',
            '"²"',
            '"x"',
            '"' + "a" * 5000 + '"',
            "[]",
            "{}",
            "true",
            "null",
        ]
    ),
)
HOSTILE_BYTES = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(lambda text: text.encode()),
    HOSTILE_JSON.map(lambda text: text.encode()),
    st.sampled_from([b"", b"\xff\xfe", b"\xed\xa0\x80", b"{" * 100_000, b'{"a": 1}' * 1000]),
)
HEADER_TEXT = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["t=²,v1=abc", "t=" + "9" * 5000 + ",v1=x", "t=1,v1=é", "t=,v1=", "ts=²,v1=x", "=,=,", "a" * 9000]),
    st.integers(0, 10**30).map(lambda n: f"t={n},v1={n:x}"),
)
PATH_TEXT = st.one_of(
    st.text(max_size=80),
    st.text(min_size=500, max_size=3000),
    st.sampled_from(
        ["%2F..%2F", "..%2F..%2Fetc", "a/b", "../x", "ｄｅｍｏ", "DEMO", "demo\x00", "x" * 5000, "💥" * 300]
    ),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every node of a JSON document, as the keys leading to it."""
    yield prefix
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from paths(child, (*prefix, key))


MARKER = "__hostile_value__"


def replaced(document: Any, path: tuple[Any, ...], text: str) -> bytes:
    """The document as JSON with the node at ``path`` replaced by the JSON text ``text``."""
    if not path:
        return text.encode("utf-8", "surrogatepass")
    copy = json.loads(json.dumps(document))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = MARKER
    return json.dumps(copy).replace(json.dumps(MARKER), text).encode("utf-8", "surrogatepass")


def mutated(data: st.DataObject, documents: list[Any]) -> bytes:
    document = data.draw(st.sampled_from(documents), label="document")
    path = data.draw(st.sampled_from(list(paths(document))), label="path")
    return replaced(document, path, data.draw(HOSTILE_JSON, label="value"))


def with_body(event: dict[str, Any], body: bytes, as_base64: bool) -> dict[str, Any]:
    try:
        text = body.decode()
    except UnicodeDecodeError:
        as_base64 = True
    if as_base64:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    else:
        event["body"], event["isBase64Encoded"] = text, False
    event["headers"]["content-length"] = str(len(body))
    return event


# -- what every answer must keep ----------------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def check(self, secrets: tuple[str, ...] = ()) -> None:
        for record in self.records:
            assert record.exc_info is None, f"traceback logged: {record.getMessage()}"
            line = record.getMessage() + " " + " ".join(str(value) for value in vars(record).values())
            for secret in secrets:
                assert secret not in line, "a secret was logged"
        self.records.clear()


@pytest.fixture
def logs() -> Iterator[Records]:
    """Every record of the root logger and of the service logger ``funil`` (which does not propagate)."""
    records = Records()
    targets = [logging.getLogger(), logging.getLogger("funil")]
    for target in targets:
        target.addHandler(records)
    yield records
    for target in targets:
        target.removeHandler(records)


def snapshot(resources: aws.Resources) -> set[str]:
    """Every item of the app table, as DynamoDB's typed JSON, read from moto's own store: a harness
    that scans through botocore tens of thousands of times met a Scan answer botocore could not
    parse, in a long run, before the handler was called at all."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[aws.ACCOUNT][aws.REGION].get_table(resources.tables["AppTable"])
    return {json.dumps(item.to_json()["Attributes"], sort_keys=True) for item in table.all_items()}


def unchanged(before: set[str], after: set[str], *, raw_webhooks: bool = False) -> None:
    assert before <= after, "a rejected request changed or deleted items"
    added = [json.loads(item) for item in after - before]
    allowed = [item for item in added if raw_webhooks and item["sk"]["S"] == "WEBHOOK"]
    assert len(allowed) == len(added), f"a rejected request wrote {[(i['pk'], i['sk']) for i in added]}"


# -- POST /tg/{bot_id} --------------------------------------------------------------------------------

TELEGRAM_EVENTS = [
    "telegram_start.json",
    "telegram_callback_buy.json",
    "telegram_pre_checkout.json",
    "telegram_successful_payment.json",
]
UPDATES = [json.loads(load_event(name)["body"]) for name in TELEGRAM_EVENTS]


def answered(answer: dict[str, Any]) -> tuple[int, Any]:
    """(status, body): JSON parsed when it is JSON, else the text."""
    try:
        return answer["statusCode"], json.loads(answer["body"])
    except ValueError:
        return answer["statusCode"], answer["body"]


def post_update(tg: TgEnv, bot_id: str, secret: str | None, body: bytes, as_base64: bool = False) -> tuple[int, Any]:
    event = load_event("telegram_start.json")
    event["pathParameters"] = {"bot_id": bot_id}
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/tg/" + quote(bot_id, safe="")
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "x-telegram-bot-api-secret-token"}
    if secret is not None:
        event["headers"]["x-telegram-bot-api-secret-token"] = secret
    answer = tg.handler(with_body(event, body, as_base64), LambdaContext(tg.function, "hostile"))
    return answered(answer)


def telegram_case(tg: TgEnv, logs: Records, bot_id: str, secret: str | None, body: bytes, as_base64: bool) -> None:
    counted()
    before = snapshot(tg.resources)
    status, payload = post_update(tg, bot_id, secret, body, as_base64)
    assert status < 500, (status, payload)
    logs.check(tuple(str(bot["webhook_secret"]) for bot in tg.seed.bots))
    if status >= 400 or (isinstance(payload, dict) and payload.get("outcome") == "malformed"):
        unchanged(before, snapshot(tg.resources))
    else:
        assert status == 200 and payload["ok"] is True


@route(3)
@given(data=st.data(), as_base64=st.booleans())
def test_telegram_update_of_the_wrong_shape(tg: TgEnv, logs: Records, data: st.DataObject, as_base64: bool) -> None:
    """An authenticated update with a hostile value anywhere in a real update."""
    telegram_case(tg, logs, tg.bot_a, tg.secret(tg.bot_a), mutated(data, UPDATES), as_base64)


@route(3)
@given(body=HOSTILE_BYTES, as_base64=st.booleans())
def test_telegram_hostile_body(tg: TgEnv, logs: Records, body: bytes, as_base64: bool) -> None:
    telegram_case(tg, logs, tg.bot_a, tg.secret(tg.bot_a), body, as_base64)


@route(3)
@given(
    bot_id=PATH_TEXT,
    secret=st.none() | HEADER_TEXT,
    body=HOSTILE_BYTES | st.just(UPDATES[0]).map(_dumps).map(str.encode),
)
def test_telegram_hostile_path_and_secret(
    tg: TgEnv, logs: Records, bot_id: str, secret: str | None, body: bytes
) -> None:
    telegram_case(tg, logs, bot_id, secret, body, False)


# -- POST /pay/{gateway_id}/{secret}[/pix] -------------------------------------------------------------


@pytest.fixture
def webhook(pay: PayEnv) -> dict[str, Any]:
    """A real, signed webhook document of a pending payment of ours."""
    _, body = pay.webhook(pay.create_payment())
    return dict(json.loads(body))


def post_webhook(
    pay: PayEnv, gateway_id: str, secret: str, headers: dict[str, str], body: bytes, pix: bool, query: str = ""
) -> tuple[int, Any]:
    event = load_event("gateway_webhook_post.json")
    event["pathParameters"] = {"gateway_id": gateway_id, "secret": secret}
    raw_path = f"/pay/{quote(gateway_id, safe='')}/{quote(secret, safe='')}" + ("/pix" if pix else "")
    event["rawPath"] = event["requestContext"]["http"]["path"] = raw_path
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /pay/{gateway_id}/{secret}" + (
        "/pix" if pix else ""
    )
    event["headers"] = {**{k: v for k, v in event["headers"].items() if k != "sandbox-signature"}, **headers}
    event["rawQueryString"] = query
    answer = pay.handler(with_body(event, body, False), LambdaContext(pay.function, "hostile"))
    return answered(answer)


def gateway_case(
    pay: PayEnv, logs: Records, gateway_id: str, secret: str, headers: dict[str, str], body: bytes, **kwargs: Any
) -> None:
    counted()
    before = snapshot(pay.resources)
    status, payload = post_webhook(pay, gateway_id, secret, headers, body, **kwargs)
    assert status < 500, (status, payload)
    logs.check((URL_SECRET, WEBHOOK_SECRET))
    after = snapshot(pay.resources)
    if status >= 400:
        unchanged(before, after, raw_webhooks=True)
    forget(pay.resources, after - before, "WEBHOOK")


def forget(resources: aws.Resources, added: set[str], sk: str) -> None:
    """Delete the items of kind ``sk`` this example wrote (a raw webhook copy, a click), once checked:
    examples share one table, and a table that grows by one item per example makes every later
    snapshot slower (a 10,000-example run would crawl)."""
    client = boto3.client("dynamodb", region_name=aws.REGION)
    for item in map(json.loads, added):
        if item["sk"]["S"] == sk:
            client.delete_item(TableName=resources.tables["AppTable"], Key={"pk": item["pk"], "sk": item["sk"]})


def signed(body: bytes) -> dict[str, str]:
    from funil.payments.gateways.sandbox import SIGNATURE_HEADER, sign

    return {SIGNATURE_HEADER: sign(WEBHOOK_SECRET, body, int(time.time()))}


@route(3)
@given(data=st.data(), gateway_id=st.sampled_from(["gw_sandbox", "gw_hint"]), pix=st.booleans())
def test_gateway_signed_webhook_of_the_wrong_shape(
    pay: PayEnv, webhook: dict[str, Any], logs: Records, data: st.DataObject, gateway_id: str, pix: bool
) -> None:
    """A correctly signed webhook with a hostile value anywhere (amount, times, ids, nesting)."""
    body = mutated(data, [webhook])
    gateway_case(pay, logs, gateway_id, URL_SECRET, signed(body), body, pix=pix)


@route(3)
@given(
    body=HOSTILE_BYTES,
    signature=HEADER_TEXT,
    sign_it=st.booleans(),
    gateway_id=st.sampled_from(["gw_sandbox", "gw_hint"]),
    pix=st.booleans(),
    query=st.text(max_size=100),
)
def test_gateway_hostile_body_and_signature(
    pay: PayEnv, logs: Records, body: bytes, signature: str, sign_it: bool, gateway_id: str, pix: bool, query: str
) -> None:
    from funil.payments.gateways.sandbox import SIGNATURE_HEADER

    headers = signed(body) if sign_it else {SIGNATURE_HEADER: signature}
    gateway_case(pay, logs, gateway_id, URL_SECRET, headers, body, pix=pix, query=query)


@route(3)
@given(gateway_id=PATH_TEXT | st.just("gw_sandbox"), secret=PATH_TEXT, body=HOSTILE_BYTES, pix=st.booleans())
def test_gateway_hostile_path(pay: PayEnv, logs: Records, gateway_id: str, secret: str, body: bytes, pix: bool) -> None:
    gateway_case(pay, logs, gateway_id, secret, signed(body), body, pix=pix)


# -- GET /go/{slug} -------------------------------------------------------------------------------------

REDIRECT_HEADERS = [
    "user-agent",
    "accept-language",
    "referer",
    "x-forwarded-for",
    "cookie",
    "cloudfront-viewer-country",
]


@route(1)
@given(
    slug=PATH_TEXT | st.sampled_from(["demo", "DEMO"]),
    query=st.text(max_size=300) | st.sampled_from(["fbclid=" + "x" * 9000, "utm_source=%ff%fe", "a=%00&&=&==="]),
    headers=st.dictionaries(st.sampled_from(REDIRECT_HEADERS), HEADER_TEXT, max_size=4),
    cookies=st.lists(HEADER_TEXT, max_size=3),
)
def test_redirect_hostile_request(
    invoke: Callable[..., Any],
    seed: Any,
    aws_env: aws.Resources,
    logs: Records,
    slug: str,
    query: str,
    headers: dict[str, str],
    cookies: list[str],
) -> None:
    event = load_event("redirect_get.json")
    event["pathParameters"] = {"slug": slug}
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/go/" + quote(slug, safe="")
    event["rawQueryString"] = query
    event["headers"].update(headers)
    event["cookies"] = cookies
    counted()
    before = snapshot(aws_env)
    answer = invoke("RedirectFunction", event)
    assert answer["statusCode"] < 500, answer["statusCode"]
    logs.check()
    after = snapshot(aws_env)
    if answer["statusCode"] >= 400:
        unchanged(before, after)
    forget(aws_env, after - before, "CLICK")


# -- GET /d/{token} -------------------------------------------------------------------------------------


@route(1)
@given(
    token=PATH_TEXT | st.just("Dlv0aBcDeFgHiJkLmNoPqRsTu"),
    headers=st.dictionaries(st.sampled_from(["accept-language", "user-agent", "cookie"]), HEADER_TEXT, max_size=3),
    query=st.text(max_size=100),
)
def test_delivery_page_hostile_request(
    invoke: Callable[..., Any],
    seed: Any,
    table: Any,
    aws_env: aws.Resources,
    logs: Records,
    token: str,
    headers: dict[str, str],
    query: str,
) -> None:
    put_payment(table, seed)
    event = load_event("delivery_page_get.json")
    event["pathParameters"] = {"token": token}
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/d/" + quote(token, safe="")
    event["rawQueryString"] = query
    event["headers"].update(headers)
    counted()
    before = snapshot(aws_env)
    answer = invoke("DeliveryPageFunction", event)
    assert answer["statusCode"] < 500, answer["statusCode"]
    logs.check()
    unchanged(before, snapshot(aws_env))  # the page only reads, whatever it is asked
