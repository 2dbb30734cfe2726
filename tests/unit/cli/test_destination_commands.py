"""``funil destinations`` against the fake API: what add (each kind), list and remove send."""

from __future__ import annotations

from tests.unit.cli.conftest import Run
from tests.unit.cli.fake_api import FakeApi

SHOWN = {"id": "dst_1", "kind": "webhook", "enabled": True, "events": ["Purchase"], "config": {}, "secret_set": True}


def test_add_each_kind_posts_its_fields(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.answer_with("POST", "/api/v1/destinations", 201, SHOWN)
    commands = [
        (["utmify", "--token", "utm-token-123", "--test"], {"kind": "utmify", "api_token": "utm-token-123", "test": True}),
        (
            ["tiktok", "CABC123DEF456GHI", "--token", "tt-token-123", "--event", "Purchase"],
            {"kind": "tiktok", "pixel_code": "CABC123DEF456GHI", "access_token": "tt-token-123", "events": ["Purchase"]},
        ),
        (["ga4", "G-ABC123", "--api-secret", "sec-1234"], {"kind": "ga4", "measurement_id": "G-ABC123", "api_secret": "sec-1234"}),
        (["webhook", "https://hooks.example.com/x", "--id", "dst_hook"], {"kind": "webhook", "url": "https://hooks.example.com/x", "id": "dst_hook"}),
    ]  # fmt: skip
    for arguments, body in commands:
        result = tenant("destinations", "add", *arguments)
        assert result.exit_code == 0, result.stderr
        assert fake_api.sent("POST", "/api/v1/destinations")[-1].body == body


def test_an_unknown_event_is_refused_before_any_request(tenant: Run, fake_api: FakeApi) -> None:
    result = tenant("destinations", "add", "webhook", "https://hooks.example.com/x", "--event", "Lead")
    assert result.exit_code != 0
    assert fake_api.sent("POST", "/api/v1/destinations") == []


def test_list_and_remove(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.answer_with("GET", "/api/v1/destinations", 200, {"items": [SHOWN], "next_cursor": None})
    fake_api.answer_with("DELETE", "/api/v1/destinations/dst_1", 200, SHOWN)
    listed = tenant("destinations", "list")
    assert listed.exit_code == 0 and "dst_1" in listed.stdout and "webhook" in listed.stdout
    removed = tenant("destinations", "remove", "dst_1")
    assert removed.exit_code == 0, removed.stderr
    assert len(fake_api.sent("DELETE", "/api/v1/destinations/dst_1")) == 1
