"""The verification snippet of docs/destinations.md, run as a seller would, against what we send."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from funil.adapters import webhooks
from funil.adapters.outgoing import encode

from tests.conftest import repo_path

SECRET = "whsec-test-0123456789abcdefghijklmnopqrstuv"
NOW = 1_795_400_000


def snippet() -> dict[str, Any]:
    text = repo_path("docs", "destinations.md").read_text()
    match = re.search(r"<!-- verification-snippet -->\n```python\n(.*?)```\n<!-- /verification-snippet -->", text, re.S)
    assert match, "docs/destinations.md lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), "docs/destinations.md", "exec"), namespace)
    return namespace


def sent(body: dict[str, Any], secret: str = SECRET, at: int = NOW) -> httpx.Request:
    """What funil.adapters.webhooks puts on the wire."""
    captured: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200)

    client = httpx.Client(transport=httpx.MockTransport(receiver))
    delivery = webhooks.send(
        client, "https://hooks.example.com/x", secret, event_id=body["id"], timestamp=at, body=encode(body)
    )
    assert delivery.ok
    return captured[0]


def test_the_snippet_accepts_what_we_send_once_and_refuses_forgeries() -> None:
    verify = snippet()["verify"]
    request = sent({"id": "purchase_abc", "type": "sale.paid", "data": {"value_cents": 4990, "name": "João"}})
    headers = {name.lower(): value for name, value in request.headers.items()}
    seen: set[str] = set()
    event = verify(SECRET, headers, request.content, seen, now=NOW + 10)
    assert event["id"] == "purchase_abc" and event["data"]["name"] == "João"
    assert verify(SECRET, headers, request.content, seen, now=NOW + 20) is None  # a retry: once only
    with pytest.raises(ValueError, match="signature"):
        verify("another-secret", headers, request.content, set(), now=NOW)
    with pytest.raises(ValueError, match="signature"):
        verify(SECRET, headers, request.content.replace(b"4990", b"9990"), set(), now=NOW)
    with pytest.raises(ValueError, match="timestamp"):
        verify(SECRET, headers, request.content, set(), now=NOW + 301)
    with pytest.raises(ValueError, match="event id"):
        verify(SECRET, {**headers, "funil-event-id": "purchase_other"}, request.content, set(), now=NOW)


def test_the_local_receiver_verifies_like_the_snippet() -> None:
    from local.fakes.webhook_receiver import FakeWebhookReceiver

    receiver = FakeWebhookReceiver(SECRET, now=lambda: NOW + 1)
    request = sent({"id": "refund_abc_2", "type": "sale.refunded", "data": {}})
    assert receiver.handle(request).status_code == 200
    assert receiver.handle(request).status_code == 200 and receiver.duplicates == 1
    assert receiver.handle(sent({"id": "x_y", "type": "t", "data": {}}, secret="wrong-secret")).status_code == 400
    assert [body["id"] for body in receiver.bodies()] == ["refund_abc_2"]
