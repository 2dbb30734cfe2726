"""``funil broadcasts`` against the fake API: what send, list, show and cancel send and print."""

from __future__ import annotations

import json

import pytest

from tests.unit.cli.conftest import Run
from tests.unit.cli.fake_api import FakeApi

SHOWN = {
    "id": "0a1b2c3d4e5f6a7b",
    "bot_id": "bot_a",
    "status": "scheduled",
    "text": "<b>Natal</b>",
    "photo_url": None,
    "offer_ids": ["vip"],
    "segment": {"kind": "bought_offer", "offer_id": "vip"},
    "send_at": "2026-12-24T23:00:00.000Z",
    "created_at": "2026-12-01T12:00:00.000Z",
    "counts": {"matched": 10, "sent": 7, "failed": 1, "blocked": 2, "skipped": 0, "unknown": 0},
}


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("all", {"kind": "all"}),
        ("never-bought", {"kind": "never_bought"}),
        ("bought:vip", {"kind": "bought_offer", "offer_id": "vip"}),
        ("access-expired", {"kind": "access_expired"}),
        ("access-expired:vip", {"kind": "access_expired", "offer_id": "vip"}),
        ("campaign:Natal 2026", {"kind": "first_touch_campaign", "campaign": "Natal 2026"}),
    ],
)
def test_send_posts_the_segment_as_the_api_spells_it(
    tenant: Run, fake_api: FakeApi, segment: str, expected: dict[str, str]
) -> None:
    fake_api.answer_with("POST", "/api/v1/broadcasts", 201, SHOWN)
    result = tenant("broadcasts", "send", "--bot", "bot_a", "--text", "<b>Natal</b>", "--segment", segment)
    assert result.exit_code == 0, result.stderr
    (request,) = fake_api.sent("POST", "/api/v1/broadcasts")
    assert request.body == {"bot_id": "bot_a", "text": "<b>Natal</b>", "segment": expected}


def test_send_with_photo_buttons_and_a_brasilia_time(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.answer_with("POST", "/api/v1/broadcasts", 201, SHOWN)
    result = tenant(
        "--json", "broadcasts", "send", "--bot", "bot_a", "--text", "Oi", "--photo-url", "https://cdn.example/a.jpg",
        "--offer", "vip", "--offer", "curso", "--at", "2026-12-24T20:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == SHOWN
    (request,) = fake_api.sent("POST", "/api/v1/broadcasts")
    assert request.body["offer_ids"] == ["vip", "curso"] and request.body["photo_url"] == "https://cdn.example/a.jpg"
    assert request.body["send_at"] == "2026-12-24T20:00:00-03:00"
    assert request.body["segment"] == {"kind": "all"}


@pytest.mark.parametrize(("lang", "word"), [("pt", "público inválido"), ("en", "invalid segment")])
def test_a_bad_segment_or_time_is_refused_before_any_request(
    tenant: Run, fake_api: FakeApi, lang: str, word: str
) -> None:
    result = tenant("--lang", lang, "broadcasts", "send", "--bot", "b", "--text", "x", "--segment", "bought")
    assert result.exit_code == 1 and word in result.stderr
    result = tenant("broadcasts", "send", "--bot", "b", "--text", "x", "--at", "amanhã")
    assert result.exit_code == 1 and "amanhã" in result.stderr
    assert fake_api.sent("POST", "/api/v1/broadcasts") == []


def test_list_shows_status_and_counts_in_the_chosen_language(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.answer_with("GET", "/api/v1/broadcasts", 200, {"items": [SHOWN], "next_cursor": None})
    pt = tenant("broadcasts", "list")
    assert pt.exit_code == 0, pt.stderr
    assert "Enviadas" in pt.stdout and "Bloqueados" in pt.stdout and "bought_offer:vip" in pt.stdout
    en = tenant("--lang", "en", "broadcasts", "list")
    assert "Sent" in en.stdout and "Blocked" in en.stdout and "scheduled" in en.stdout


def test_show_and_cancel(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.answer_with("GET", f"/api/v1/broadcasts/{SHOWN['id']}", 200, SHOWN)
    fake_api.answer_with("POST", f"/api/v1/broadcasts/{SHOWN['id']}/cancel", 200, {**SHOWN, "status": "cancelled"})
    assert tenant("broadcasts", "show", SHOWN["id"]).exit_code == 0
    result = tenant("--json", "broadcasts", "cancel", SHOWN["id"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "cancelled"
    assert len(fake_api.sent("POST", f"/api/v1/broadcasts/{SHOWN['id']}/cancel")) == 1


def test_a_409_is_one_line_with_the_apis_reason(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.answer_with(
        "POST",
        "/api/v1/broadcasts/abc/cancel",
        409,
        {"error": "broadcast abc is done: only a scheduled or sending one stops"},
    )
    result = tenant("broadcasts", "cancel", "abc")
    assert result.exit_code == 1 and "409" in result.stderr and "is done" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
