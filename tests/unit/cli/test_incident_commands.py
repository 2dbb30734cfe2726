"""``funil incidents`` against the fake API: what list and resolve send and print."""

from __future__ import annotations

import json

from tests.unit.cli.conftest import Run
from tests.unit.cli.fake_api import FakeApi

OPEN = {
    "id": "0123456789abcdef0123456789abcdef",
    "kind": "gateway_failover",
    "subject": "gw_main",
    "state": "open",
    "detail": "a charge failed at gateway gw_main; gateway gw_backup took it",
    "opened_at": "2026-12-02T05:00:00.000Z",
    "resolved_at": None,
    "resolved_by": None,
}


def test_list_asks_for_the_recent_days_and_shows_a_table(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.answer_with("GET", "/api/v1/incidents", 200, {"items": [OPEN]})
    result = tenant("--lang", "en", "incidents", "list", "--recent-days", "3")
    assert result.exit_code == 0, result.stderr
    (request,) = fake_api.sent("GET", "/api/v1/incidents")
    assert request.query == {"recent_days": "3"}
    assert "gateway_failover" in result.stdout and "gw_main" in result.stdout and "Subject" in result.stdout


def test_resolve_posts_to_the_incident_and_prints_it(tenant: Run, fake_api: FakeApi) -> None:
    resolved = {**OPEN, "state": "resolved", "resolved_at": "2026-12-02T06:00:00.000Z", "resolved_by": "key:k1"}
    fake_api.answer_with("POST", f"/api/v1/incidents/{OPEN['id']}/resolve", 200, resolved)
    result = tenant("--json", "incidents", "resolve", str(OPEN["id"]))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == resolved
    assert len(fake_api.sent("POST", f"/api/v1/incidents/{OPEN['id']}/resolve")) == 1


def test_an_id_is_one_path_segment(tenant: Run, fake_api: FakeApi) -> None:
    tenant("incidents", "resolve", "../keys")
    assert [request.path for request in fake_api.requests][-1] == "/api/v1/incidents/..%2Fkeys/resolve"
