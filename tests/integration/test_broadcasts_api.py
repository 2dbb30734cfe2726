"""``/api/v1/broadcasts`` through the real handler: create, list, show, cancel, one tenant at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from funil import keys
from funil.clock import utc_now
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import given
from hypothesis import strategies as st

from local import aws
from local.fakes.telegram_api import FakeTelegramApi
from tests.admin_api import Answer, caller, hostile_body, post_untrusted, table_state
from tests.integration.broadcast_world import BOT, TENANT, add_bot
from tests.integration.test_hostile_input import route

OTHER = "t_outra"
BODY = {"bot_id": BOT, "text": "<b>Natal</b>: 20% off", "segment": {"kind": "all"}}


@pytest.fixture
def api(invoke: Callable[..., Any]) -> Callable[..., Answer]:
    return caller(invoke)


@pytest.fixture
def tenant_key(table: Any, aws_env: aws.Resources) -> str:
    key = create_tenant(table, TenantCreate(id=TENANT, name="Loja"), utc_now)[1].key
    add_bot(table, aws_env, FakeTelegramApi())
    return key


@pytest.fixture
def other_key(table: Any) -> str:
    return create_tenant(table, TenantCreate(id=OTHER, name="Outra loja"), utc_now)[1].key


def test_a_broadcast_is_scheduled_due_at_send_at_and_shown_with_zero_counts(
    api: Callable[..., Answer], table: Any, tenant_key: str
) -> None:
    at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    body = {**BODY, "photo_url": "https://cdn.example/a.jpg", "offer_ids": ["vip", "curso"], "send_at": at.isoformat()}
    body["segment"] = {"kind": "bought_offer", "offer_id": "vip"}
    created = api("POST", "/api/v1/broadcasts", body, key=tenant_key)
    assert created.status == 201, created.body
    shown = created.body
    assert shown["status"] == "scheduled" and shown["bot_id"] == BOT and shown["offer_ids"] == ["vip", "curso"]
    assert shown["segment"] == {"kind": "bought_offer", "offer_id": "vip"}
    assert shown["send_at"] == at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert shown["counts"] == {"matched": 0, "sent": 0, "failed": 0, "blocked": 0, "skipped": 0, "unknown": 0}
    item = table.get(*keys.broadcast(shown["id"]))
    assert item["timer"] == "broadcast" and item["gsi2sk"].startswith(shown["send_at"])
    assert api("GET", f"/api/v1/broadcasts/{shown['id']}", key=tenant_key).body == shown
    assert api("GET", "/api/v1/broadcasts", key=tenant_key).body == {"items": [shown], "next_cursor": None}


def test_without_send_at_it_is_due_now(api: Callable[..., Answer], table: Any, tenant_key: str) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    created = api("POST", "/api/v1/broadcasts", BODY, key=tenant_key)
    assert created.status == 201
    assert before <= datetime.fromisoformat(created.body["send_at"]) <= datetime.now(UTC) + timedelta(seconds=1)


def test_the_list_pages_newest_first(api: Callable[..., Answer], tenant_key: str) -> None:
    ids = [api("POST", "/api/v1/broadcasts", BODY, key=tenant_key).body["id"] for _ in range(3)]
    first = api("GET", "/api/v1/broadcasts", key=tenant_key, limit=2).body
    rest = api("GET", "/api/v1/broadcasts", key=tenant_key, limit=2, cursor=first["next_cursor"]).body
    assert [item["id"] for item in first["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None


def test_cancel_stops_a_scheduled_one_and_a_second_cancel_is_a_409(
    api: Callable[..., Answer], table: Any, tenant_key: str
) -> None:
    broadcast_id = api("POST", "/api/v1/broadcasts", BODY, key=tenant_key).body["id"]
    cancelled = api("POST", f"/api/v1/broadcasts/{broadcast_id}/cancel", key=tenant_key)
    assert cancelled.status == 200 and cancelled.body["status"] == "cancelled" and cancelled.body["cancelled_at"]
    assert "gsi2pk" not in table.get(*keys.broadcast(broadcast_id))  # no longer due
    again = api("POST", f"/api/v1/broadcasts/{broadcast_id}/cancel", key=tenant_key)
    assert again.status == 409 and "cancelled" in again.body["error"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bot_id": "bot_nenhum"}, "bot_id"),
        ({"offer_ids": ["vip", "nada"]}, "offer_ids.1"),
        ({"offer_ids": ["vip", "vip"]}, "offer_ids"),
        ({"offer_ids": ["a", "b", "c", "d", "e", "f", "g"]}, "offer_ids"),
        ({"segment": {"kind": "bought_offer", "offer_id": "nada"}}, "segment.offer_id"),
        ({"segment": {"kind": "bought_offer"}}, "segment"),
        ({"segment": {"kind": "first_touch_campaign"}}, "segment"),
        ({"segment": {"kind": "all", "campaign": "x"}}, "segment"),
        ({"segment": {"kind": "vip"}}, "segment.kind"),
        ({"text": "<b>sem fim"}, "text"),
        ({"text": "<div>x</div>"}, "text"),
        ({"text": "a & b"}, "text"),
        ({"text": "x" * 4097}, "text"),
        ({"photo_url": "http://cdn.example/a.jpg"}, "photo_url"),
        ({"photo_url": "https://cdn.example/a.jpg", "text": "y" * 1025}, "text"),
        ({"send_at": "2026-12-25T10:00:00"}, "send_at"),
        ({"send_at": (datetime.now(UTC) + timedelta(days=61)).isoformat()}, "send_at"),
        ({"extra": 1}, "extra"),
    ],
)
def test_each_problem_is_a_422_naming_its_field_and_writes_nothing(
    api: Callable[..., Answer], aws_env: aws.Resources, tenant_key: str, change: dict[str, Any], field: str
) -> None:
    before = table_state(aws_env)
    answer = api("POST", "/api/v1/broadcasts", {**BODY, **change}, key=tenant_key)
    assert answer.status == 422, answer.body
    assert any(name == field or name.startswith(f"{field}.") for name in answer.error_fields), answer.body
    assert table_state(aws_env) == before


def test_a_long_html_text_counts_as_telegram_counts_it(api: Callable[..., Answer], tenant_key: str) -> None:
    text = "<b>" + "x" * 4000 + "</b>" + "&amp;" * 96  # 4,096 characters once parsed, 4,487 as typed
    assert api("POST", "/api/v1/broadcasts", {**BODY, "text": text}, key=tenant_key).status == 201


def test_another_tenants_bot_and_broadcast_are_as_missing_ones(
    api: Callable[..., Answer], aws_env: aws.Resources, tenant_key: str, other_key: str
) -> None:
    theirs = api("POST", "/api/v1/broadcasts", BODY, key=tenant_key).body["id"]
    before = table_state(aws_env)
    foreign = api("POST", "/api/v1/broadcasts", BODY, key=other_key)
    assert foreign.status == 422 and foreign.error_fields == ["bot_id"]
    for method, path in [("GET", ""), ("POST", "/cancel")]:
        stolen = api(method, f"/api/v1/broadcasts/{theirs}{path}", key=other_key)
        missing = api(method, f"/api/v1/broadcasts/0000000000000000{path}", key=other_key)
        assert stolen.status == missing.status == 404
        assert stolen.body["error"] == missing.body["error"].replace("0000000000000000", theirs)
    assert api("GET", "/api/v1/broadcasts", key=other_key).body == {"items": [], "next_cursor": None}
    assert table_state(aws_env) == before


def test_the_routes_take_a_tenants_key(api: Callable[..., Answer], tenant_key: str) -> None:
    assert api("POST", "/api/v1/broadcasts", BODY).status == 401
    assert api("GET", "/api/v1/broadcasts", key="fnl_nope").status == 401


VALID_BODIES = [
    BODY,
    {**BODY, "offer_ids": ["vip"], "segment": {"kind": "never_bought"}},
    {**BODY, "photo_url": "https://cdn.example/p.png", "segment": {"kind": "access_expired"}},
    {**BODY, "segment": {"kind": "first_touch_campaign", "campaign": "natal"}, "send_at": "2030-01-01T00:00:00Z"},
]
FIELDS = ["bot_id", "text", "photo_url", "offer_ids", "segment", "send_at"]
BUILT = st.fixed_dictionaries(
    {
        "bot_id": st.sampled_from([BOT, "bot_nenhum", ""]),
        "text": st.text(max_size=40) | st.sampled_from(["<b>a</b>", "<i>x", "&amp;", "a<b"]),
        "segment": st.fixed_dictionaries(
            {
                "kind": st.sampled_from(
                    ["all", "never_bought", "bought_offer", "access_expired", "first_touch_campaign"]
                )
            },
            optional={"offer_id": st.sampled_from(["vip", "nada", ""]), "campaign": st.text(max_size=5)},
        ),
    },
    optional={
        "photo_url": st.sampled_from(["https://cdn.example/a.jpg", "https://", "ftp://x"]),
        "offer_ids": st.lists(st.sampled_from(["vip", "curso", "nada"]), max_size=7),
        "send_at": st.sampled_from([None, "2026-12-25T10:00:00Z", "2026-12-25", "2099-01-01T00:00:00+00:00"]),
    },
)


@given(data=st.data())
@route(tests=1)
def test_hostile_bodies_never_fail_inside_and_change_nothing_when_refused(
    invoke: Callable[..., Any], aws_env: aws.Resources, table: Any, tenant_key: str, data: st.DataObject
) -> None:
    body = hostile_body(data, built=BUILT, valid=VALID_BODIES, fields=FIELDS, max_fields=6)
    created = post_untrusted(invoke, aws_env, "/api/v1/broadcasts", tenant_key, body)
    if created is None:
        return
    stored = table.get(*keys.broadcast(created["id"]))
    assert stored["tenant_id"] == TENANT and stored["bot_id"] == BOT and stored["status"] == "scheduled"


def test_the_openapi_document_describes_the_broadcast_routes(api: Callable[..., Answer]) -> None:
    document = api("GET", "/api/v1/openapi.json").body
    paths = document["paths"]
    assert set(paths["/api/v1/broadcasts"]) == {"get", "post"}
    assert set(paths["/api/v1/broadcasts/{broadcast_id}"]) == {"get"}
    assert set(paths["/api/v1/broadcasts/{broadcast_id}/cancel"]) == {"post"}
    create = document["components"]["schemas"]["BroadcastCreate"]
    assert sorted(create["required"]) == ["bot_id", "segment", "text"]
    assert "422" in paths["/api/v1/broadcasts"]["post"]["responses"]
