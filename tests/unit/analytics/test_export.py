"""The daily export's logic (``funil.analytics.export``) on moto's table and bucket: the lines and their
bytes, Brasília's days, the backfill's payload, the walk round the tenants within its budget, failures
kept to their tenant-day, and emptied days losing their object.

Counters are written in their stored form (``funil.analytics.storage.chunk_item``), spend with the
importer's own ``spend_item``; ``tests/integration/test_daily_export.py`` runs the handlers.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from funil.adapters.dynamo import Table
from funil.adapters.meta_marketing import InsightRow
from funil.adapters.s3 import Bucket
from funil.analytics import export
from funil.analytics.cube import METRICS, Cube
from funil.analytics.dimensions import DIMENSIONS, key_of
from funil.analytics.export import (
    FUNNEL_COLUMNS,
    SPEND_COLUMNS,
    STATE_KEY,
    Backfill,
    ExportDeps,
    ExportIncomplete,
    funnel_key,
    funnel_lines,
    jsonl_gz,
    run,
    scheduled_days,
    spend_key,
    spend_lines,
)
from funil.analytics.spend import SpendRow, spend_item
from funil.analytics.storage import chunk_item
from funil.clock import utc_now
from funil.operator.tenants import TenantCreate, create_tenant
from pydantic import ValidationError

from local import aws

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # 07:00 in Brasília: yesterday is 2026-12-01
SCHEDULE = {"source": "aws.events", "detail-type": "Scheduled Event", "time": "2026-12-02T10:00:00Z"}
DAYS = ["2026-12-01", "2026-11-30", "2026-11-29", "2026-11-28"]


@dataclass
class Steps:
    """A monotonic clock that moves one second each time it is read (the budget's clock)."""

    now: float = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@dataclass
class Recorded:
    """The bucket, recording what is asked of it; ``refuse`` names a key fragment whose puts fail."""

    bucket: Bucket
    puts: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)  # the funnel objects looked at: the tenants' order
    listings: list[str] = field(default_factory=list)
    refuse: str | None = None

    def put(self, key: str, body: bytes, content_type: str, metadata: Mapping[str, str] | None = None) -> None:
        if self.refuse and self.refuse in key:
            raise ConnectionError("S3 is not answering")
        self.puts.append(key)
        self.bucket.put(key, body, content_type, metadata)

    def get(self, key: str) -> bytes | None:
        return self.bucket.get(key)

    def metadata(self, key: str) -> dict[str, str] | None:
        self.heads.append(key)
        return self.bucket.metadata(key)

    def tenants(self) -> list[str]:
        """The tenants whose days were looked at, in order (each once)."""
        return list(dict.fromkeys(key.split("/")[1].removeprefix("tenant=") for key in self.heads))

    def keys(self, prefix: str, start_after: str = "", limit: int = 1000) -> list[str]:
        self.listings.append(prefix)
        return self.bucket.keys(prefix, start_after, limit)

    def delete(self, key: str) -> None:
        self.bucket.delete(key)


@pytest.fixture
def world(aws_env: aws.Resources) -> tuple[ExportDeps, Recorded]:
    table = Table(aws_env.tables["AppTable"])
    bucket = Recorded(Bucket(aws_env.buckets["ExportBucket"]))
    return ExportDeps(items=table, bucket=bucket, now=lambda: NOW, workers=1), bucket


def tenant(deps: ExportDeps, tenant_id: str) -> None:
    create_tenant(deps.items, TenantCreate(id=tenant_id, name=tenant_id), utc_now)


def count(deps: ExportDeps, tenant_id: str, day: str, chunk: str = "e1", **dimensions: str) -> Cube:
    cube = Cube()
    cube.add(key_of({"utm_campaign": "black-friday", **dimensions}), {"clicks": 3, "leads": 1})
    cube.add(key_of({"utm_campaign": "retarget", "device": "mobile"}), {"sales": 1, "revenue_cents": 4990})
    deps.items.put(chunk_item(tenant_id, day, chunk, cube, first_record_at=NOW))
    return cube


def spend(deps: ExportDeps, tenant_id: str, day: str, ad_id: str = "a1", cents: int = 1234) -> None:
    row = InsightRow(day=date.fromisoformat(day), ad_id=ad_id, ad_name="Vídeo", campaign_id="c1", spend_cents=cents)
    deps.items.put(spend_item(tenant_id, {"account_id": "111", "currency": "BRL"}, row, "2026-12-02T09:31:00.000Z"))


def objects(aws_env: aws.Resources) -> dict[str, bytes]:
    bucket = Bucket(aws_env.buckets["ExportBucket"])
    return {key: bucket.get(key) or b"" for key in bucket.keys("") if key != STATE_KEY}


def lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(body).decode().splitlines()]


# -- what is written ---------------------------------------------------------------------------------


def test_a_line_names_every_dimension_and_every_metric() -> None:
    cube = Cube()
    cube.add(key_of({"utm_campaign": "b", "device": "mobile"}), {"clicks": 2, "ft_sales": 1})
    cube.add(key_of({"utm_campaign": "a"}), {"leads": 1})
    first, second = funnel_lines("t_bia", "2026-12-01", cube)
    assert tuple(first) == FUNNEL_COLUMNS == ("tenant_id", "day", *DIMENSIONS, *METRICS)
    assert {name for name in METRICS if name.startswith("ft_")} <= set(first)
    assert (first["utm_campaign"], first["leads"], first["clicks"]) == ("a", 1, 0)  # key order
    assert (second["utm_campaign"], second["device"], second["clicks"], second["ft_sales"]) == ("b", "mobile", 2, 1)
    assert second["tenant_id"] == "t_bia" and second["day"] == "2026-12-01"


def test_spend_lines_are_the_rows_with_their_tenant() -> None:
    row = SpendRow(day=date(2026, 12, 1), account_id="111", ad_id="a1", spend_cents=990, currency=None)
    (line,) = spend_lines("t_bia", [row])
    assert tuple(line) == SPEND_COLUMNS
    assert line == {
        "tenant_id": "t_bia", "day": "2026-12-01", "account_id": "111", "campaign_id": "", "campaign_name": "",
        "adset_id": "", "adset_name": "", "ad_id": "a1", "ad_name": "", "spend_cents": 990, "impressions": 0,
        "clicks": 0, "currency": None,
    }  # fmt: skip


def test_json_lines_are_one_per_row_and_the_same_bytes_every_time() -> None:
    rows = [{"utm_campaign": 'linha\nnova "aspas"'}, {"utm_campaign": "promoção ☃"}, {"utm_campaign": "\u2028"}]
    body, written = jsonl_gz(rows)
    assert written == 3 and body == jsonl_gz(rows)[0]
    assert body[4:8] == b"\0\0\0\0"  # no time in the gzip header
    text = gzip.decompress(body).decode()
    assert text.count("\n") == 3 and [json.loads(line) for line in text.split("\n")[:-1]] == rows
    assert jsonl_gz([]) == (jsonl_gz([])[0], 0)


def test_keys_name_the_tenant_and_the_day_as_the_tables_partitions() -> None:
    assert funnel_key("t_bia", "2026-12-01") == "funnel/tenant=t_bia/date=2026-12-01/funnel.jsonl.gz"
    assert spend_key("t_bia", "2026-12-01") == "spend/tenant=t_bia/date=2026-12-01/spend.jsonl.gz"


# -- which days ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "yesterday"),
    [
        ("2026-12-02T02:59:59Z", "2026-11-30"),  # 23:59:59 on 1 December in Brasília
        ("2026-12-02T03:00:00Z", "2026-12-01"),
        ("2026-12-02T10:00:00Z", "2026-12-01"),
        ("2026-03-01T12:00:00Z", "2026-02-28"),
    ],
)
def test_the_days_are_yesterday_in_brasilia_and_the_three_before(moment: str, yesterday: str) -> None:
    days = scheduled_days(datetime.fromisoformat(moment.replace("Z", "+00:00")))
    assert days[0].isoformat() == yesterday and len(days) == 4
    assert [(days[0] - day).days for day in days] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "payload",
    [
        {"from": "2026-11-30", "to": "2026-11-01"},
        {"from": "2026-01-01", "to": "2026-12-01"},  # more than 62 days
        {"from": "2026-11-01"},
        {"from": 20261101, "to": "2026-11-02"},
        {"from": "2026-11-01T00:00:00Z", "to": "2026-11-02"},
        {"from": "2026-02-30", "to": "2026-03-01"},
        {"from": "2026-11-01", "to": "2026-11-02", "tenant_id": "../t_outra"},
        {"from": "2026-11-01", "to": "2026-11-02", "after": ""},
        {"from": "2026-11-01", "to": "2026-11-02", "bucket": "another"},
        {},
    ],
)
def test_a_backfill_payload_is_checked(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Backfill.model_validate(payload)


def test_a_backfill_exports_its_days_most_recent_first() -> None:
    backfill = Backfill.model_validate({"from": "2026-11-28", "to": "2026-11-30", "tenant_id": "t_bia"})
    assert [day.isoformat() for day in backfill.days()] == ["2026-11-30", "2026-11-29", "2026-11-28"]


# -- the run ------------------------------------------------------------------------------------------


def test_a_run_exports_every_tenants_days_with_something(
    world: tuple[ExportDeps, Recorded], aws_env: aws.Resources
) -> None:
    deps, _ = world
    for tenant_id in ("t_bia", "t_outra", "t_vazia"):
        tenant(deps, tenant_id)
    count(deps, "t_bia", "2026-12-01")
    count(deps, "t_bia", "2026-12-01", chunk="e2")  # a second batch of the same day: summed
    count(deps, "t_outra", "2026-11-28", device="desktop")
    count(deps, "t_outra", "2026-11-27")  # before the window
    spend(deps, "t_bia", "2026-11-30")
    report = run(deps, SCHEDULE)
    assert report.as_json() == {
        "days": DAYS, "tenants": 3, "objects": 3, "removed": 0, "funnel_rows": 4, "spend_rows": 1, "unchanged": 0,
        "failed": 0, "too_large": 0, "stopped_by_budget": False, "last_tenant": "t_vazia",
    }  # fmt: skip
    stored = objects(aws_env)
    assert set(stored) == {
        funnel_key("t_bia", "2026-12-01"),
        spend_key("t_bia", "2026-11-30"),
        funnel_key("t_outra", "2026-11-28"),
    }
    exported = lines(stored[funnel_key("t_bia", "2026-12-01")])
    assert [(line["utm_campaign"], line["clicks"], line["sales"], line["revenue_cents"]) for line in exported] == [
        ("black-friday", 6, 0, 0),
        ("retarget", 0, 2, 9980),
    ]
    (spent,) = lines(stored[spend_key("t_bia", "2026-11-30")])
    assert (spent["ad_id"], spent["spend_cents"], spent["tenant_id"]) == ("a1", 1234, "t_bia")


def test_a_run_cut_short_leaves_the_rest_first_for_the_next(
    world: tuple[ExportDeps, Recorded], aws_env: aws.Resources
) -> None:
    deps, bucket = world
    names = [f"t_{letter}" for letter in "abcde"]
    for tenant_id in names:
        tenant(deps, tenant_id)
        count(deps, tenant_id, "2026-12-01")
    stepped = replace(deps, monotonic=Steps())
    first = run(stepped, SCHEDULE, budget_seconds=2.5)  # the clock reads 1, 2: two tenants begun
    assert first.stopped_by_budget and first.tenants == 2 and first.last_tenant == "t_b"
    assert json.loads(bucket.get(STATE_KEY) or b"")["after"] == "t_b"
    assert bucket.tenants() == ["t_a", "t_b"]
    bucket.heads.clear()
    second = run(replace(deps, monotonic=Steps()), SCHEDULE, budget_seconds=100)
    assert bucket.tenants() == ["t_c", "t_d", "t_e", "t_a", "t_b"]  # round from t_c
    assert not second.stopped_by_budget and second.last_tenant == "t_b"
    assert len(objects(aws_env)) == 5


def test_an_unreadable_state_begins_with_the_first_tenant(world: tuple[ExportDeps, Recorded]) -> None:
    deps, bucket = world
    for tenant_id in ("t_a", "t_b"):
        tenant(deps, tenant_id)
        count(deps, tenant_id, "2026-12-01")
    for state in (b"\xff not json", b"[1]", b'{"after": "../t_x"}', b'{"after": 7}'):
        bucket.bucket.put(STATE_KEY, state, "application/json")
        bucket.heads.clear()
        run(deps, SCHEDULE)
        assert bucket.tenants() == ["t_a", "t_b"]


def test_a_failed_tenant_day_leaves_the_others_exported_and_fails_the_run(
    world: tuple[ExportDeps, Recorded], aws_env: aws.Resources, funil_log: list[Any]
) -> None:
    deps, bucket = world
    for tenant_id in ("t_a", "t_b"):
        tenant(deps, tenant_id)
        count(deps, tenant_id, "2026-12-01")
        count(deps, tenant_id, "2026-11-30")
    bucket.refuse = "tenant=t_a/date=2026-12-01"
    with pytest.raises(ExportIncomplete, match="1 tenant-day"):
        run(deps, SCHEDULE)
    assert set(objects(aws_env)) == {
        funnel_key("t_a", "2026-11-30"),
        funnel_key("t_b", "2026-12-01"),
        funnel_key("t_b", "2026-11-30"),
    }
    (failure,) = [record for record in funil_log if record.getMessage() == "export failed"]
    assert failure.exc_info is None and "S3 is not answering" not in failure.json
    assert json.loads(failure.json)["what"] == "2026-12-01" and json.loads(failure.json)["error"] == "ConnectionError"
    bucket.refuse = None
    assert run(deps, SCHEDULE).failed == 0  # Lambda's retry: the same run, complete


def test_a_day_too_large_to_read_is_an_anomaly_not_a_failure(
    world: tuple[ExportDeps, Recorded], aws_env: aws.Resources, funil_log: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    deps, _ = world
    tenant(deps, "t_a")
    count(deps, "t_a", "2026-12-01", chunk="e1")
    count(deps, "t_a", "2026-12-01", chunk="e2")
    count(deps, "t_a", "2026-11-30")
    monkeypatch.setattr(export, "MAX_DAY_CHUNKS", 1)
    report = run(deps, SCHEDULE)
    assert (report.too_large, report.failed, report.objects) == (1, 0, 1)
    assert set(objects(aws_env)) == {funnel_key("t_a", "2026-11-30")}
    assert [json.loads(record.json).get("anomaly") for record in funil_log if record.levelname == "ERROR"] == [
        "export_day_too_large"
    ]


def test_a_day_emptied_since_loses_its_object_and_listing_is_asked_only_then(
    world: tuple[ExportDeps, Recorded], aws_env: aws.Resources
) -> None:
    deps, bucket = world
    tenant(deps, "t_a")
    for day in DAYS:
        count(deps, "t_a", day)
        spend(deps, "t_a", day)
    assert run(deps, SCHEDULE).objects == 8 and bucket.listings == []  # no day empty: nothing listed
    deps.items.delete("SPEND#t_a", "2026-11-29#a1")  # Meta revised the day's spend away
    report = run(deps, SCHEDULE)
    assert (report.objects, report.removed, report.unchanged) == (3, 1, 4)  # spend rewritten; counters as they were
    assert bucket.listings == ["spend/tenant=t_a/date="]
    assert spend_key("t_a", "2026-11-29") not in objects(aws_env) and len(objects(aws_env)) == 7


def test_a_backfill_runs_its_range_for_one_tenant_or_after_one(
    world: tuple[ExportDeps, Recorded], aws_env: aws.Resources
) -> None:
    deps, _ = world
    for tenant_id in ("t_a", "t_b"):
        tenant(deps, tenant_id)
        count(deps, tenant_id, "2026-10-15")
    one = run(deps, {"from": "2026-10-01", "to": "2026-10-31", "tenant_id": "t_b"})
    assert one.tenants == 1 and set(objects(aws_env)) == {funnel_key("t_b", "2026-10-15")}
    rest = run(deps, {"from": "2026-10-01", "to": "2026-10-31", "after": "t_a"})
    assert rest.tenants == 1 and rest.last_tenant == "t_b"
    every = run(deps, {"from": "2026-10-15", "to": "2026-10-15"})
    assert every.tenants == 2 and len(objects(aws_env)) == 2
    assert deps.bucket.get(STATE_KEY) is None  # a backfill leaves the schedule's walk alone
    with pytest.raises(ValueError, match="after today"):
        run(deps, {"from": "2026-12-01", "to": "2026-12-03"})


def test_tenant_ids_unfit_for_a_key_are_left_out(world: tuple[ExportDeps, Recorded], aws_env: aws.Resources) -> None:
    deps, _ = world
    tenant(deps, "t_a")
    count(deps, "t_a", "2026-12-01")
    deps.items.put({"pk": "TENANT#x", "sk": "TENANT", "gsi2pk": "TENANTS", "gsi2sk": "t/../b"})
    assert run(deps, SCHEDULE).tenants == 1 and set(objects(aws_env)) == {funnel_key("t_a", "2026-12-01")}


@pytest.mark.parametrize("at", ["2026-12-02T10:00:00Z", "2026-12-02T07:00:00-03:00", "not a time", 7, None])
def test_the_schedules_time_names_the_days_and_an_unreadable_one_is_now(
    world: tuple[ExportDeps, Recorded], at: Any
) -> None:
    assert run(world[0], {**SCHEDULE, "time": at}).days == DAYS  # NOW is the schedule's time here


def test_a_day_whose_counters_did_not_change_is_not_written_again(
    world: tuple[ExportDeps, Recorded], aws_env: aws.Resources
) -> None:
    deps, bucket = world
    tenant(deps, "t_a")
    for day in DAYS:
        count(deps, "t_a", day)
    assert run(deps, SCHEDULE).unchanged == 0
    first = objects(aws_env)
    assert all(Bucket(aws_env.buckets["ExportBucket"]).metadata(key) for key in first)  # each carries its digest
    bucket.puts.clear()
    again = run(deps, SCHEDULE)
    assert (again.unchanged, again.objects) == (4, 0) and bucket.puts == [STATE_KEY]
    count(deps, "t_a", "2026-11-29", chunk="late")  # a late refund's batch: a new chunk of a past day
    cube = Cube()
    cube.add(key_of({"utm_campaign": "black-friday"}), {"clicks": 1})
    deps.items.put(chunk_item("t_a", "2026-11-28", "e1", cube, first_record_at=NOW))  # the same chunk, rewritten
    bucket.puts.clear()
    third = run(deps, SCHEDULE)
    assert (third.unchanged, third.objects) == (2, 2)
    assert sorted(bucket.puts) == sorted([funnel_key("t_a", "2026-11-29"), funnel_key("t_a", "2026-11-28"), STATE_KEY])
    assert [line["clicks"] for line in lines(objects(aws_env)[funnel_key("t_a", "2026-11-28")])] == [1]
    assert objects(aws_env)[funnel_key("t_a", "2026-12-01")] == first[funnel_key("t_a", "2026-12-01")]
