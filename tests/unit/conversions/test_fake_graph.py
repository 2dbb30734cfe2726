"""The fake Graph API rejects what Meta rejects, so the sender's tests mean something."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from funil.adapters.meta_graph import GraphClient
from funil.conversions.hashing import sha256_hex

from local.fakes.meta_graph import FakeMetaGraph, Fault
from tests.unit.conversions.factories import ACCESS_TOKEN, FBC, FBP, IP, META_PIXEL, NOW, UA

GOOD: dict[str, Any] = {
    "event_name": "Purchase",
    "event_time": int(NOW.timestamp()) - 60,
    "event_id": "purchase_abc",
    "action_source": "website",
    "event_source_url": "https://funil.example.com/go/demo",
    "user_data": {
        "em": sha256_hex("a@b.com"),
        "client_ip_address": IP,
        "client_user_agent": UA,
        "fbc": FBC,
        "fbp": FBP,
    },
    "custom_data": {"value": 49.9, "currency": "BRL"},
}


def _client(fake: FakeMetaGraph) -> GraphClient:
    return GraphClient(client=httpx.Client(transport=httpx.MockTransport(fake.handle)))


def _send(events: list[dict[str, Any]], token: str = ACCESS_TOKEN) -> tuple[FakeMetaGraph, Any]:
    fake = FakeMetaGraph(access_tokens={ACCESS_TOKEN}, now=NOW.timestamp)
    return fake, _client(fake).send_events(META_PIXEL, token, events)


def _with(path: str, value: Any) -> dict[str, Any]:
    event = copy.deepcopy(GOOD)
    target = event
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return event


def test_a_good_event_is_received_and_recorded() -> None:
    fake, result = _send([GOOD])
    assert result.ok
    assert result.events_received == 1
    assert result.fbtrace_id
    assert fake.events(META_PIXEL) == [GOOD]


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_with("user_data.em", "a@b.com"), id="unhashed-email"),
        pytest.param(_with("user_data.ph", sha256_hex("x").upper()), id="uppercase-hash"),
        pytest.param(_with("user_data.client_ip_address", sha256_hex("1.2.3.4")), id="hashed-ip"),
        pytest.param(_with("user_data.client_user_agent", sha256_hex(UA)), id="hashed-ua"),
        pytest.param(_with("user_data.fbc", sha256_hex(FBC)), id="hashed-fbc"),
        pytest.param(_with("user_data.client_ip_address", "not-an-ip"), id="bad-ip"),
        pytest.param(_with("event_time", int(NOW.timestamp()) - 8 * 86400), id="too-old"),
        pytest.param(_with("event_time", int(NOW.timestamp()) + 3600), id="future"),
        pytest.param(_with("event_time", "1795370000"), id="time-as-string"),
        pytest.param(_with("action_source", "telegram"), id="bad-action-source"),
        pytest.param(_with("event_source_url", None), id="website-without-url"),
        pytest.param(_with("custom_data", None), id="purchase-without-value"),
        pytest.param(_with("custom_data.value", "49.90"), id="value-as-string"),
        pytest.param(_with("user_data.telegram_id", "123"), id="unknown-user-key"),
    ],
)
def test_malformed_events_are_rejected_with_code_100(event: dict[str, Any]) -> None:
    fake, result = _send([event])
    assert result.status_code == 400
    assert result.error is not None
    assert result.error.code == 100
    assert fake.events() == []


def test_batch_size_and_token() -> None:
    _, result = _send([GOOD] * 1001)
    assert result.error is not None
    assert result.error.code == 100
    _, result = _send([GOOD], token="wrong")
    assert result.error is not None
    assert result.error.code == 190
    _, result = _send([GOOD], token="")
    assert result.error is not None
    assert result.error.code == 104


def test_faults() -> None:
    fake = FakeMetaGraph(access_tokens={ACCESS_TOKEN}, now=NOW.timestamp)
    client = _client(fake)
    fake.fail(Fault(status=500, code=2, is_transient=True, times=2))
    fake.time_out()
    first = client.send_events(META_PIXEL, ACCESS_TOKEN, [GOOD])
    second = client.send_events(META_PIXEL, ACCESS_TOKEN, [GOOD])
    third = client.send_events(META_PIXEL, ACCESS_TOKEN, [GOOD])
    fourth = client.send_events(META_PIXEL, ACCESS_TOKEN, [GOOD])
    assert first.error is not None
    assert (first.status_code, first.error.code, first.error.is_transient) == (500, 2, True)
    assert second.status_code == 500
    assert third.network_error is not None
    assert third.network_error.startswith("timeout")
    assert fourth.ok
    assert fake.request_count() == 4
    fake.reject_event("purchase_abc")
    assert not client.send_events(META_PIXEL, ACCESS_TOKEN, [GOOD]).ok
    assert client.send_events(META_PIXEL, ACCESS_TOKEN, [_with("event_id", "other")]).ok
