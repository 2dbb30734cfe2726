"""The dashboard's JSON through the real handler on moto: stats (the counters' cube), a sale's trace,
delivery health; each read for the session's tenant only, each query checked (422 naming it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from funil import keys
from funil.adapters.kms import Kms
from funil.analytics.cube import Cube
from funil.analytics.dimensions import DIMENSIONS, key_of
from funil.analytics.storage import chunk_item
from funil.bot.storage import mark_bot_health
from funil.clock import utc_now
from funil.conversions.storage import EventRecords, EventStatus
from funil.messages import page_view
from funil.operator.api_keys import create_key
from funil.payments.gateway_items import Gateway

from local import aws
from tests.admin_api import table_state
from tests.integration.test_dashboard_api import World, new_world
from tests.integration.test_delivery_page import PAYMENT, put_payment

METRIC_FIELDS = {
    "key", "clicks", "suspect_clicks", "leads", "suspect_leads", "checkouts", "sales", "revenue_cents", "refunds_cents",
    "stars_sales", "stars", "spend_cents", "impressions", "cpa_cents", "roas", "lead_rate", "checkout_rate",
    "sale_rate", "click_to_sale",
}  # fmt: skip


@pytest.fixture
def world(aws_env: aws.Resources, table: Any, invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> World:
    return new_world(aws_env, table, invoke, monkeypatch)


@dataclass
class Demo:
    """The seeded demo tenant (bots, pixel, link), signed in to the dashboard."""

    world: World
    seed: Any
    cookie: str

    def get(self, path: str, query: str | dict[str, str] = "") -> Any:
        return self.world.app("GET", path, query=query, cookie=self.cookie)


@pytest.fixture
def demo(world: World, seed: Any) -> Demo:
    key = create_key(world.table, seed.tenant_id, "painel", utc_now).key
    return Demo(world, seed, world.sign_in(world.login_link(key)))


def put_counts(table: Any, tenant_id: str, day: str, rows: list[tuple[dict[str, str], dict[str, int]]]) -> None:
    """A counters chunk as the analytics consumer writes one (funil.analytics.storage)."""
    cube = Cube()
    for dimensions, metrics in rows:
        cube.add(key_of(dimensions), metrics)
    first = datetime.fromisoformat(day).replace(hour=15, tzinfo=UTC)
    table.put(chunk_item(tenant_id, day, f"evt-{tenant_id}-{day}", cube, first_record_at=first))


# -- stats ---------------------------------------------------------------------------------------------


def test_stats_by_day_give_every_day_of_the_range(demo: Demo) -> None:
    answer = demo.get("/app/api/stats", "from=2026-11-01&to=2026-11-07&by=day")
    assert answer.status == 200
    body = answer.body
    assert (body["from"], body["to"], body["by"], body["touch"]) == ("2026-11-01", "2026-11-07", "day", "last")
    assert [row["key"] for row in body["rows"]] == [f"2026-11-0{day}" for day in range(1, 8)]
    assert all(set(row) == METRIC_FIELDS and row["clicks"] == 0 for row in body["rows"])
    assert body["totals"]["key"] == "total" and set(body["totals"]) == METRIC_FIELDS
    assert set(body["latency"]) == {"click_to_lead", "lead_to_sale"}
    assert answer.headers["cache-control"] == "no-store"


def test_stats_are_the_sessions_tenants_only(demo: Demo) -> None:
    tenant = demo.seed.tenant_id
    mine = {"utm_campaign": "black-friday", "device": "mobile"}
    put_counts(demo.world.table, tenant, "2026-11-10", [(mine, {"clicks": 10, "leads": 4, "sales": 2})])
    put_counts(demo.world.table, tenant, "2026-11-11", [({**mine, "device": "desktop"}, {"clicks": 5})])
    put_counts(demo.world.table, "t_bia", "2026-11-10", [(mine, {"clicks": 1000, "sales": 900})])
    answer = demo.get("/app/api/stats", {"from": "2026-11-01", "to": "2026-11-30", "by": "utm_campaign"})
    assert answer.status == 200
    [row] = answer.body["rows"]
    assert (row["key"], row["clicks"], row["leads"], row["sales"]) == ("black-friday", 15, 4, 2)
    assert (row["lead_rate"], row["click_to_sale"]) == (round(4 / 15, 4), round(2 / 15, 4))
    filtered = demo.get("/app/api/stats", {"from": "2026-11-01", "to": "2026-11-30", "by": "day", "device": "mobile"})
    assert filtered.body["totals"]["clicks"] == 10
    assert [row["clicks"] for row in filtered.body["rows"] if row["key"] == "2026-11-10"] == [10]


def test_an_empty_filter_value_means_none(demo: Demo) -> None:
    """Organic traffic has no campaign: ``utm_campaign=`` filters on that."""
    tenant = demo.seed.tenant_id
    put_counts(demo.world.table, tenant, "2026-11-10", [({}, {"leads": 3}), ({"utm_campaign": "x"}, {"leads": 1})])
    answer = demo.get("/app/api/stats", "from=2026-11-10&to=2026-11-10&by=link&utm_campaign=")
    assert answer.status == 200 and answer.body["totals"]["leads"] == 3


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("", ["from", "to"]),
        ("from=2026-11-01", ["to"]),
        ("from=01/11/2026&to=2026-11-30", ["from"]),
        ("from=2026-02-30&to=2026-03-01", ["from"]),
        ("from=2026-11-30&to=2026-11-01", ["query"]),
        ("from=2025-01-01&to=2026-02-05", ["query"]),  # 401 days
        ("from=2026-11-01&to=2026-11-30&by=weekday", ["by"]),
        ("from=2026-11-01&to=2026-11-30&touch=middle", ["touch"]),
        ("from=2026-11-01&to=2026-11-30&colour=blue", ["colour"]),
        ("from=2026-11-01&to=2026-11-30&day=2026-11-02", ["day"]),  # a row key, not a filter
        ("from=2026-11-01&to=2026-11-30&utm_campaign=" + "x" * 201, ["utm_campaign"]),
        ("from=2026-11-01&to=2026-11-30&device=a&device=b", ["device"]),
        ("from=2026-11-01&from=2026-11-02&to=2026-11-30", ["from"]),
        ("from=2026-11-01&to=2026-11-30&" + "&".join(f"f{n}=1" for n in range(40)), ["query"]),
        ("from=2026-11-01&to=2026-11-30&x=" + "a" * 5000, ["query"]),
        ("from=2026-11-01&to=2026-11-30&device=%FF", ["query"]),
    ],
)
def test_a_bad_stats_query_is_422_naming_the_parameter(demo: Demo, query: str, fields: list[str]) -> None:
    before = table_state(demo.world.resources)
    answer = demo.get("/app/api/stats", query)
    assert answer.status == 422, answer.body
    assert answer.body["error"] == "invalid query"
    named = [problem["field"] for problem in answer.body["fields"]]
    assert all(field in named for field in fields), named
    assert table_state(demo.world.resources) == before


def test_a_400_day_range_and_every_dimension_are_taken(demo: Demo) -> None:
    start = date(2025, 11, 1)
    end = start + timedelta(days=399)
    answer = demo.get("/app/api/stats", {"from": start.isoformat(), "to": end.isoformat(), "by": "day"})
    assert answer.status == 200 and len(answer.body["rows"]) == 400
    for dimension in DIMENSIONS:
        query = {"from": "2026-11-01", "to": "2026-11-02", "by": dimension, dimension: "v" * 100}
        assert demo.get("/app/api/stats", query).status == 200, dimension


# -- a sale's trace --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "query"),
        ("payment_id=abc", "payment_id"),
        (f"payment_id={PAYMENT}&click_token=abc", "query"),
        ("bot_id=bot_a", "query"),
        ("telegram_user_id=42", "query"),
        ("bot_id=bot_a&telegram_user_id=-4", "telegram_user_id"),
        ("bot_id=bot%20a&telegram_user_id=4", "bot_id"),
        ("click_token=" + "a" * 65, "click_token"),
        ("sale=1", "sale"),
        (f"payment_id={PAYMENT}&payment_id={PAYMENT}", "payment_id"),
    ],
)
def test_a_bad_trace_query_is_422(demo: Demo, query: str, field: str) -> None:
    answer = demo.get("/app/api/trace", query)
    assert answer.status == 422 and field in [problem["field"] for problem in answer.body["fields"]]


def test_a_sale_of_the_tenant_is_traced(demo: Demo) -> None:
    put_payment(demo.world.table, demo.seed)
    answer = demo.get("/app/api/trace", {"payment_id": PAYMENT})
    assert answer.status == 200, answer.body
    assert answer.body["subject"] == {"payment_id": PAYMENT}
    assert answer.body["payments"] == [PAYMENT]
    steps = [event["step"] for event in answer.body["events"]]
    assert "checkout" in steps and "paid" in steps
    assert "177.12.34.56" not in str(answer.body)  # the raw IP never reaches the page


def test_another_tenants_sale_and_an_unknown_one_are_404(demo: Demo) -> None:
    other = "ab" * 16
    put_payment(demo.world.table, demo.seed, pk=f"PAYMENT#{other}", payment_id=other, tenant_id="t_bia")
    for payment_id in (other, "cd" * 16):
        answer = demo.get("/app/api/trace", {"payment_id": payment_id})
        assert answer.status == 404 and set(answer.body) == {"error"}
    unknown_lead = demo.get("/app/api/trace", {"bot_id": demo.seed.bots[0]["id"], "telegram_user_id": "999"})
    assert unknown_lead.status == 404


# -- delivery health --------------------------------------------------------------------------------------


def record_events(
    table: Any, tenant_id: str, pixel_id: str, outcomes: list[tuple[EventStatus, dict[str, Any]]]
) -> None:
    """Conversion delivery records as the sender leaves them: claimed, then finished."""
    records = EventRecords(table)
    for number, (status, fields) in enumerate(outcomes):
        message = page_view(f"tok{number:019d}", tenant_id, pixel_id, utc_now())
        claim_id = f"claim{number}"
        records.claim(message, claim_id=claim_id, now=utc_now(), lease_seconds=90, event_time=None)
        if status != EventStatus.IN_PROGRESS:
            records.finish(message, claim_id=claim_id, status=status, now=utc_now(), fields=fields)


def test_health_counts_the_tenants_events_scores_and_failures(demo: Demo, aws_env: aws.Resources) -> None:
    table, seed = demo.world.table, demo.seed
    sent = [(EventStatus.SENT, {"event_name": "PageView", "match_quality": {"score": score, "grade": "ok", "keys": []}})
            for score in (9.5, 9.0, 6.25, 2.0)]  # fmt: skip
    failed = [
        (
            EventStatus.DEAD,
            {"event_name": "PageView", "error_message": "Invalid parameter", "reason": "meta_error_100"},
        ),
        (EventStatus.RETRYING, {"event_name": "PageView", "error_message": "timeout"}),
        (EventStatus.IN_PROGRESS, {}),
    ]
    record_events(table, seed.tenant_id, seed.pixel_id, sent + failed)
    record_events(table, "t_bia", "px_bia", [(EventStatus.DEAD, {"error_message": "not yours"})])
    mark_bot_health(table, seed.bots[0]["id"], "unhealthy", "webhook_not_ours", utc_now())
    unchecked = table.get(*keys.bot(seed.bots[1]["id"]))
    unchecked.pop("health", None)
    table.put(unchecked)  # never checked yet
    gateway = Gateway(gateway_id="gw_sandbox", tenant_id=seed.tenant_id, kind="sandbox", name="Sandbox", priority=2)
    table.put(gateway.to_item(Kms(), aws_env.keys["SecretsKey"], {"api_key": "k"}, "url-secret"))
    before = table_state(demo.world.resources)

    answer = demo.get("/app/api/health")
    assert answer.status == 200
    conversions = answer.body["conversions"]
    assert conversions["by_status"] == {"sent": 4, "dead": 1, "retrying": 1, "in_progress": 1}
    scores = {bucket["score"]: bucket["count"] for bucket in conversions["match_quality"]}
    assert list(scores) == list(range(11)) and sum(scores.values()) == 4
    assert (scores[9], scores[6], scores[2]) == (2, 1, 1)
    assert [(error["pixel_id"], error["event_name"], error["error"]) for error in conversions["errors"]] == [
        (seed.pixel_id, "PageView", "timeout"),
        (seed.pixel_id, "PageView", "Invalid parameter"),
    ]
    assert all(error["at"] for error in conversions["errors"]) and conversions["truncated"] is False
    bots = {bot["bot_id"]: bot for bot in answer.body["bots"]}
    assert set(bots) == {bot["id"] for bot in seed.bots}
    first = bots[seed.bots[0]["id"]]
    assert (first["status"], first["detail"]) == ("unhealthy", "webhook_not_ours") and first["checked_at"]
    assert (bots[seed.bots[1]["id"]]["status"], bots[seed.bots[1]["id"]]["checked_at"]) == ("unchecked", None)
    assert answer.body["gateways"] == [
        {"gateway_id": "gw_sandbox", "kind": "sandbox", "name": "Sandbox", "enabled": True, "priority": 2}
    ]
    assert table_state(demo.world.resources) == before  # reading changes nothing


def test_health_reads_a_bounded_number_of_records(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    from funil.dashboard import health

    monkeypatch.setattr(health, "MAX_RECORDS", 3)
    outcomes = [(EventStatus.SENT, {"event_name": "PageView"})] * 4 + [(EventStatus.DEAD, {"error_message": "x"})]
    record_events(demo.world.table, demo.seed.tenant_id, demo.seed.pixel_id, outcomes)
    conversions = demo.get("/app/api/health").body["conversions"]
    assert conversions["by_status"] == {"dead": 1, "sent": 2}  # failures first, then what the bound leaves
    assert conversions["truncated"] is True


def test_health_of_a_tenant_with_nothing_yet(world: World) -> None:
    answer = world.app("GET", "/app/api/health", cookie=world.sign_in())
    assert answer.status == 200
    assert answer.body["conversions"]["by_status"] == {} and answer.body["conversions"]["errors"] == []
    assert answer.body["bots"] == [] and answer.body["gateways"] == []
