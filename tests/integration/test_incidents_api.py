"""``/api/v1/incidents`` through the real handler: a tenant's open and recent incidents, resolving one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from funil import keys
from funil.clock import iso, utc_now
from funil.messages import AlertKind
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import given
from hypothesis import strategies as st

from local import aws
from tests.admin_api import Answer, caller, table_state
from tests.integration.test_alerts import summary, take_notices
from tests.integration.test_hostile_input import route

TENANT, OTHER = "t_loja", "t_outra"


@pytest.fixture
def api(invoke: Callable[..., Any]) -> Callable[..., Answer]:
    return caller(invoke)


@pytest.fixture
def tenant_key(table: Any) -> str:
    return create_tenant(table, TenantCreate(id=TENANT, name="Loja"), utc_now)[1].key


@pytest.fixture
def other_key(table: Any) -> str:
    return create_tenant(table, TenantCreate(id=OTHER, name="Outra loja"), utc_now)[1].key


@pytest.fixture
def opened(aws_env: aws.Resources, table: Any) -> dict[str, Any]:
    """A failing-over gateway's open incident, its notice already taken."""
    from funil import wiring
    from funil.config import settings

    assert wiring.incidents(settings()).open(TENANT, AlertKind.GATEWAY_FAILOVER, "gw_main", "gw_main failed")
    take_notices(aws_env)
    return dict(table.get(*keys.incident(TENANT, "gateway_failover", "gw_main")))


def test_the_list_shows_open_and_recently_resolved_incidents_newest_first(
    api: Callable[..., Answer], table: Any, tenant_key: str, opened: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    base = {"tenant_id": TENANT, "type": "incident", "incident_id": "f" * 32, "state": "resolved"}
    recent = {**base, "kind": "capi_errors", "subject": "px_1", "opened_at": iso(now + timedelta(seconds=1)),
              "resolved_at": iso(now - timedelta(days=2))}  # fmt: skip
    old = {**base, "incident_id": "e" * 32, "kind": "capi_errors", "subject": "px_2",
           "opened_at": iso(now - timedelta(days=30)), "resolved_at": iso(now - timedelta(days=29))}  # fmt: skip
    for item in (recent, old):
        table.put(
            {**item, **dict(zip(("pk", "sk"), keys.incident(TENANT, item["kind"], item["subject"]), strict=True))}
        )
    answer = api("GET", "/api/v1/incidents", key=tenant_key)
    assert answer.status == 200, answer.body
    assert [(item["kind"], item["subject"], item["state"]) for item in answer.body["items"]] == [
        ("capi_errors", "px_1", "resolved"),
        ("gateway_failover", "gw_main", "open"),
    ]
    assert answer.body["items"][1] == {
        "id": opened["incident_id"], "kind": "gateway_failover", "subject": "gw_main", "state": "open",
        "detail": "gw_main failed", "opened_at": opened["opened_at"], "resolved_at": None, "resolved_by": None,
    }  # fmt: skip
    only_open = api("GET", "/api/v1/incidents", key=tenant_key, recent_days=0).body["items"]
    assert [item["subject"] for item in only_open] == ["gw_main"]


def test_resolving_by_hand_sends_one_notice_and_a_second_time_changes_nothing(
    api: Callable[..., Answer], aws_env: aws.Resources, tenant_key: str, opened: dict[str, Any]
) -> None:
    path = f"/api/v1/incidents/{opened['incident_id']}/resolve"
    answer = api("POST", path, key=tenant_key)
    assert answer.status == 200, answer.body
    assert answer.body["state"] == "resolved" and answer.body["resolved_by"].startswith("key:")
    assert summary(take_notices(aws_env)) == [("gateway_failover", "gw_main", "resolved")]
    before = table_state(aws_env)
    again = api("POST", path, key=tenant_key)
    assert (again.status, again.body) == (200, answer.body)
    assert take_notices(aws_env) == [] and table_state(aws_env) == before


def test_another_tenants_incidents_are_neither_listed_nor_resolved(
    api: Callable[..., Answer], aws_env: aws.Resources, other_key: str, opened: dict[str, Any]
) -> None:
    before = table_state(aws_env)
    assert api("GET", "/api/v1/incidents", key=other_key).body == {"items": []}
    stolen = api("POST", f"/api/v1/incidents/{opened['incident_id']}/resolve", key=other_key)
    missing = api("POST", f"/api/v1/incidents/{'0' * 32}/resolve", key=other_key)
    assert stolen.status == missing.status == 404 and stolen.body == missing.body
    assert table_state(aws_env) == before and take_notices(aws_env) == []


def test_the_routes_take_a_tenants_key(api: Callable[..., Answer], tenant_key: str) -> None:
    assert api("GET", "/api/v1/incidents").status == 401
    assert api("POST", f"/api/v1/incidents/{'0' * 32}/resolve", key="fnl_nope").status == 401


@given(
    incident_id=st.one_of(st.text(max_size=80), st.sampled_from(["0" * 32, "F" * 32, "0" * 33, "../keys", "%00"])),
    recent_days=st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=20)),
)
@route(tests=1)
def test_hostile_ids_and_queries_are_refused_cleanly_and_change_nothing(
    invoke: Callable[..., Any],
    aws_env: aws.Resources,
    tenant_key: str,
    opened: dict[str, Any],
    incident_id: str,
    recent_days: Any,
) -> None:
    api = caller(invoke)
    before = table_state(aws_env)
    listed = api("GET", "/api/v1/incidents", key=tenant_key, recent_days=recent_days)
    assert listed.status in {200, 422}, listed.body
    assert listed.status == 200 or "recent_days" in listed.error_fields
    resolved = api("POST", f"/api/v1/incidents/{quote(incident_id, safe='')}/resolve", key=tenant_key)
    assert resolved.status in {404, 422}, resolved.body
    assert "Traceback" not in str(listed.body) + str(resolved.body)
    assert table_state(aws_env) == before
