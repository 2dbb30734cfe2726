"""POST /go/{slug}/c through the real handler: browser cookies and the one server PageView."""

import base64
import json
import re

import pytest
from funil.messages import ConversionMessage

from tests.conftest import queue_messages

BEACON = "BeaconFunction"
FBP = "fb.1.1732000000000.1234567890"
FBC = "fb.1.1732000000001.IwAR_browser_click"


@pytest.fixture
def click(invoke, event, seed, table):
    """A stored click made through the redirect, without fbclid or cookies."""
    request = event("redirect_get.json")
    request["rawQueryString"] = "utm_source=facebook"
    request["cookies"] = []
    answer = invoke("RedirectFunction", request)
    token = re.search(r"start=([A-Za-z0-9_-]{22})", answer["body"]).group(1)
    return table.get(f"CLICK#{token}", "CLICK")


def beacon(event, body, *, slug="demo", base64_body=False, content_type="text/plain;charset=UTF-8"):
    request = event("beacon_post.json")
    request["pathParameters"] = {"slug": slug}
    raw = body if isinstance(body, str) else json.dumps(body)
    request["body"] = base64.b64encode(raw.encode()).decode() if base64_body else raw
    request["isBase64Encoded"] = base64_body
    request["headers"]["content-type"] = content_type
    return request


def test_first_beacon_fills_cookies_and_enqueues_one_page_view(invoke, event, click, table, aws_env):
    token = click["token"]
    assert "fbp" not in click
    answer = invoke(BEACON, beacon(event, {"token": token, "fbp": FBP, "fbc": FBC}))
    assert answer["statusCode"] == 204
    stored = table.get(f"CLICK#{token}", "CLICK")
    assert stored["fbp"] == FBP
    assert stored["fbc"] == FBC
    assert stored["fbc_source"] == "beacon"
    messages = queue_messages(aws_env, "ConversionsQueue")
    assert len(messages) == 1
    message = ConversionMessage.model_validate(messages[0])
    assert message.kind == "PageView"
    assert message.event_id == f"pv_{token}"
    assert message.refs.click_token == token
    assert message.tenant_id == click["tenant_id"]
    assert message.pixel_id == click["pixel_id"]
    assert message.occurred_at.isoformat().startswith(click["clicked_at"][:19])


def test_repeated_beacons_send_no_second_message(invoke, event, click, table, aws_env):
    body = {"token": click["token"], "fbp": FBP}
    for _ in range(3):
        assert invoke(BEACON, beacon(event, body))["statusCode"] == 204
    assert invoke(BEACON, beacon(event, body, content_type="application/json"))["statusCode"] == 204
    assert len(queue_messages(aws_env, "ConversionsQueue")) == 1
    assert table.get(f"CLICK#{click['token']}", "CLICK")["beacon_count"] == 4


def test_never_overwrites_what_the_click_already_has(invoke, event, seed, table):
    request = event("redirect_get.json")  # has an fbclid and a _fbp cookie
    answer = invoke("RedirectFunction", request)
    token = re.search(r"start=([A-Za-z0-9_-]{22})", answer["body"]).group(1)
    original = table.get(f"CLICK#{token}", "CLICK")
    other_fbp = "fb.1.1799999999999.999"
    assert invoke(BEACON, beacon(event, {"token": token, "fbp": other_fbp, "fbc": FBC}))["statusCode"] == 204
    stored = table.get(f"CLICK#{token}", "CLICK")
    assert stored["fbc"] == original["fbc"]
    assert stored["fbc_source"] == "fbclid"
    assert stored["fbp"] == original["fbp"]


def test_base64_body_is_accepted(invoke, event, click, aws_env):
    answer = invoke(BEACON, beacon(event, {"token": click["token"]}, base64_body=True))
    assert answer["statusCode"] == 204


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[]",
        '"string"',
        {"fbp": FBP},
        {"token": "short"},
        {"token": "AAAAAAAAAAAAAAAAAAAAA="},
        {"token": "AAAAAAAAAAAAAAAAAAAAAA", "fbp": "fb.1.x.<script>"},
        {"token": "AAAAAAAAAAAAAAAAAAAAAA", "fbc": "javascript:alert(1)"},
        {"token": "AAAAAAAAAAAAAAAAAAAAAA", "extra": 1},
        "x" * 20_000,
    ],
)
def test_bad_bodies_are_400_and_change_nothing(invoke, event, click, table, aws_env, body):
    before = table.get(f"CLICK#{click['token']}", "CLICK")
    if isinstance(body, dict) and body.get("token") == "AAAAAAAAAAAAAAAAAAAAAA":
        body = {**body, "token": click["token"]}
    answer = invoke(BEACON, beacon(event, body))
    assert answer["statusCode"] == 400
    assert "error" in json.loads(answer["body"])
    assert table.get(f"CLICK#{click['token']}", "CLICK") == before
    assert queue_messages(aws_env, "ConversionsQueue") == []


def test_unknown_token_or_other_links_click_is_404(invoke, event, click, table, aws_env):
    assert invoke(BEACON, beacon(event, {"token": "B" * 22}))["statusCode"] == 404
    link = table.get("LINK#demo", "LINK")
    table.put({**link, "pk": "LINK#other", "slug": "other"})
    # The click belongs to /go/demo: a beacon through another link must not touch it.
    assert invoke(BEACON, beacon(event, {"token": click["token"], "fbp": FBP}, slug="other"))["statusCode"] == 404
    assert "fbp" not in table.get(f"CLICK#{click['token']}", "CLICK")
    assert queue_messages(aws_env, "ConversionsQueue") == []


def test_expired_click_is_404(invoke, event, click, table, aws_env):
    table.put({**click, "expires_at": 1_000_000})  # TTL passed but DynamoDB has not deleted it yet
    assert invoke(BEACON, beacon(event, {"token": click["token"], "fbp": FBP}))["statusCode"] == 404
    assert queue_messages(aws_env, "ConversionsQueue") == []


def test_pixel_without_page_view_fills_cookies_but_sends_nothing(invoke, event, click, table, aws_env):
    pixel = table.get("PIXEL#px_demo", "PIXEL")
    table.put({**pixel, "events": {**pixel["events"], "PageView": False}})
    assert invoke(BEACON, beacon(event, {"token": click["token"], "fbp": FBP}))["statusCode"] == 204
    assert table.get(f"CLICK#{click['token']}", "CLICK")["fbp"] == FBP
    assert queue_messages(aws_env, "ConversionsQueue") == []


def test_queue_failure_releases_the_claim_so_the_next_beacon_sends(invoke, event, click, table, aws_env, monkeypatch):
    from funil.adapters.sqs import Queue

    original = Queue.send
    monkeypatch.setattr(Queue, "send", lambda self, body, attributes=None: (_ for _ in ()).throw(OSError("down")))
    answer = invoke(BEACON, beacon(event, {"token": click["token"]}))
    assert answer["statusCode"] == 503
    assert "pageview_claimed_at" not in table.get(f"CLICK#{click['token']}", "CLICK")
    monkeypatch.setattr(Queue, "send", original)
    assert invoke(BEACON, beacon(event, {"token": click["token"]}))["statusCode"] == 204
    assert len(queue_messages(aws_env, "ConversionsQueue")) == 1
