"""DailyExportFunction through the real handler on moto: the counters the real AnalyticsStreamFunction
wrote from ``events/dynamodb_stream_funnel.json`` and the day's ad spend, exported per tenant and
Brasília day as gzip'd JSON Lines in the template's bucket, fed the EventBridge schedule event
(``events/daily_export_schedule.json``: 07:00 in Brasília on 2 December, so yesterday is the
example's day, 1 December).

The objects are read back and parsed, and their sums checked against the stats API's reader; a run
that comes again writes the same bytes; a later run carries a late refund to the day of its sale;
each tenant's rows are under its own prefix only. The direct invocation (a backfill) is checked
through the handler with any payload (Hypothesis): refused or run, never anything written when
refused. The Athena tables in template.yaml are checked against the exported fields (Glue and Athena
are not emulated locally). The last test runs the local stack: ``POST /_local/schedules/DailyExportFunction``.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from funil.adapters.meta_marketing import InsightRow
from funil.analytics.cube import METRICS
from funil.analytics.dimensions import DIMENSIONS
from funil.analytics.export import FUNNEL_COLUMNS, SPEND_COLUMNS, STATE_KEY, funnel_key, spend_key
from funil.analytics.facts import business_day
from funil.analytics.spend import read_spend, spend_item
from funil.analytics.stats import StatsQuery, read_stats
from funil.clock import utc_now
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import event, given
from hypothesis import strategies as st

from local import aws
from local.template import ROOT, load
from tests.conftest import load_event
from tests.integration.test_analytics_stream import EXAMPLE, click_records
from tests.integration.test_hostile_input import JSON_VALUES, route

RUN = "DailyExportFunction"
COUNT = "AnalyticsStreamFunction"
SCHEDULE = load_event("daily_export_schedule.json")
DAY = "2026-12-01"  # the example's Brasília day, yesterday for the schedule event
DAYS = ["2026-12-01", "2026-11-30", "2026-11-29", "2026-11-28"]
TENANT = "t_demo"  # the example's


def stored(resources: aws.Resources) -> dict[str, bytes]:
    """Every exported object (the walk's state aside), as moto holds it."""
    s3 = boto3.client("s3", region_name=aws.REGION)
    bucket = resources.buckets["ExportBucket"]
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        entry["Key"]: s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
        for entry in listed
        if entry["Key"] != STATE_KEY
    }


def lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(body).decode("utf-8").splitlines()]


def batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": copy.deepcopy(records)}


def schedule_at(moment: str) -> dict[str, Any]:
    return {**copy.deepcopy(SCHEDULE), "time": moment}


def put_spend(table: Any, tenant_id: str, day: str, ad_id: str, cents: int) -> None:
    """A spend row as the importer stores it (``spend_item``)."""
    row = InsightRow(
        day=date.fromisoformat(day), ad_id=ad_id, ad_name=f"Anúncio {ad_id}", campaign_id="120210000000001",
        campaign_name="Black Friday", spend_cents=cents, impressions=cents * 3, link_clicks=cents // 100,
        currency="BRL",
    )  # fmt: skip
    table.put(spend_item(tenant_id, {"account_id": "111222333"}, row, "2026-12-02T09:31:00.000Z"))


@pytest.fixture
def tenants(table: Any) -> list[str]:
    for tenant_id, name in ((TENANT, "Loja Demo"), ("t_outra", "Outra"), ("t_vazia", "Sem vendas")):
        create_tenant(table, TenantCreate(id=tenant_id, name=name), utc_now)
    return [TENANT, "t_outra", "t_vazia"]


def without_refund(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [record for record in records if "refunded_at" not in record["dynamodb"]["NewImage"]]


# -- the export -----------------------------------------------------------------------------------------


def test_the_days_counters_and_spend_are_exported_as_json_lines(
    invoke: Callable[..., Any], table: Any, aws_env: aws.Resources, tenants: list[str]
) -> None:
    assert invoke(COUNT, batch(EXAMPLE["Records"])) == {}
    invoke(COUNT, batch(click_records(3, content="criativo-{number}")))
    put_spend(table, TENANT, DAY, "120210000000003", 5000)
    put_spend(table, TENANT, DAY, "120210000000004", 1990)
    put_spend(table, TENANT, "2026-11-29", "120210000000003", 4200)
    report = invoke(RUN, SCHEDULE)
    assert report == {
        "days": DAYS, "tenants": 3, "objects": 3, "removed": 0, "funnel_rows": report["funnel_rows"],
        "spend_rows": 3, "unchanged": 0, "failed": 0, "too_large": 0, "stopped_by_budget": False,
        "last_tenant": "t_vazia",
    }  # fmt: skip
    objects = stored(aws_env)
    assert set(objects) == {funnel_key(TENANT, DAY), spend_key(TENANT, DAY), spend_key(TENANT, "2026-11-29")}

    funnel = lines(objects[funnel_key(TENANT, DAY)])
    assert len(funnel) == report["funnel_rows"] > 1
    assert all(tuple(line) == FUNNEL_COLUMNS for line in funnel)  # every dimension and metric, by name
    assert {(line["tenant_id"], line["day"]) for line in funnel} == {(TENANT, DAY)}
    answer = read_stats(table, TENANT, StatsQuery(start=date(2026, 12, 1), end=date(2026, 12, 1), by="utm_content"))
    totals = answer.totals.model_dump()
    for metric in ("clicks", "suspect_clicks", "leads", "checkouts", "sales", "revenue_cents", "refunds_cents"):
        assert sum(line[metric] for line in funnel) == totals[metric], metric
    assert (totals["clicks"], totals["sales"]) == (4, 1) and totals["refunds_cents"] == totals["revenue_cents"] > 0
    by_content = Counter[str]()
    for line in funnel:
        by_content[line["utm_content"]] += line["clicks"]
    assert {key: clicks for key, clicks in by_content.items() if clicks} == {
        row.key: row.clicks for row in answer.rows if row.clicks
    }
    first_touch = {name: sum(line[name] for line in funnel) for name in METRICS if name.startswith("ft_")}
    assert first_touch["ft_sales"] == 1 and first_touch["ft_refunds_cents"] == first_touch["ft_revenue_cents"] > 0

    spend = lines(objects[spend_key(TENANT, DAY)])
    assert all(tuple(line) == SPEND_COLUMNS for line in spend)
    expected = [
        {"tenant_id": TENANT, **row.model_dump(mode="json")}
        for row in read_spend(table, TENANT, date(2026, 12, 1), date(2026, 12, 1))
    ]
    assert sorted(spend, key=lambda line: line["ad_id"]) == sorted(expected, key=lambda line: line["ad_id"])
    assert sum(line["spend_cents"] for line in spend) == 6990 and {line["currency"] for line in spend} == {"BRL"}


def test_a_run_that_comes_again_writes_the_same_objects(
    invoke: Callable[..., Any], table: Any, aws_env: aws.Resources, tenants: list[str]
) -> None:
    invoke(COUNT, batch(EXAMPLE["Records"]))
    put_spend(table, TENANT, DAY, "120210000000003", 5000)
    invoke(RUN, SCHEDULE)
    once = stored(aws_env)
    invoke(RUN, SCHEDULE)  # Lambda's retry of the same event, or a person's
    assert stored(aws_env) == once
    invoke(COUNT, batch(click_records(2)))  # more counted since: the same keys, the new sums
    invoke(RUN, SCHEDULE)
    again = stored(aws_env)
    assert set(again) == set(once) and again[spend_key(TENANT, DAY)] == once[spend_key(TENANT, DAY)]
    assert sum(line["clicks"] for line in lines(again[funnel_key(TENANT, DAY)])) == 3


def test_a_later_run_carries_a_late_refund_to_the_day_of_its_sale(
    invoke: Callable[..., Any], aws_env: aws.Resources, tenants: list[str]
) -> None:
    invoke(COUNT, batch(without_refund(EXAMPLE["Records"])))
    invoke(RUN, SCHEDULE)
    sold = lines(stored(aws_env)[funnel_key(TENANT, DAY)])
    assert sum(line["refunds_cents"] for line in sold) == 0 and sum(line["revenue_cents"] for line in sold) > 0
    refund = [copy.deepcopy(record) for record in EXAMPLE["Records"] if "refunded_at" in record["dynamodb"]["NewImage"]]
    for record in refund:  # refunded on 3 December
        record["dynamodb"]["NewImage"]["refunded_at"] = {"S": "2026-12-03T15:00:00.000Z"}
    invoke(COUNT, batch(refund))
    report = invoke(RUN, schedule_at("2026-12-04T10:00:00Z"))  # the days 3 December back to 30 November
    assert report["days"] == ["2026-12-03", "2026-12-02", "2026-12-01", "2026-11-30"]
    objects = stored(aws_env)
    refunded = lines(objects[funnel_key(TENANT, DAY)])
    assert sum(line["refunds_cents"] for line in refunded) == sum(line["revenue_cents"] for line in refunded) > 0
    assert funnel_key(TENANT, "2026-12-03") not in objects  # the refund counts on the sale's day only


def test_each_tenant_has_its_own_prefix_and_only_its_own_rows(
    invoke: Callable[..., Any], table: Any, aws_env: aws.Resources, tenants: list[str]
) -> None:
    invoke(COUNT, batch(EXAMPLE["Records"] + click_records(2, tenant_id="t_outra")))
    put_spend(table, "t_outra", DAY, "999", 700)
    invoke(RUN, SCHEDULE)
    objects = stored(aws_env)
    prefixes = {
        key: re.fullmatch(r"(funnel|spend)/tenant=([^/]+)/date=([0-9-]+)/\1\.jsonl\.gz", key) for key in objects
    }
    assert all(prefixes.values()), objects.keys()
    by_tenant = {
        tenant_id: [key for key, found in prefixes.items() if found and found[2] == tenant_id] for tenant_id in tenants
    }
    assert by_tenant == {
        TENANT: [funnel_key(TENANT, DAY)],
        "t_outra": [funnel_key("t_outra", DAY), spend_key("t_outra", DAY)],
        "t_vazia": [],  # nothing counted, nothing spent: no object
    }
    for key, body in objects.items():
        tenant_id = key.split("/")[1].removeprefix("tenant=")
        assert {line["tenant_id"] for line in lines(body)} == {tenant_id}
    assert sum(line["clicks"] for line in lines(objects[funnel_key("t_outra", DAY)])) == 2
    assert sum(line["clicks"] for line in lines(objects[funnel_key(TENANT, DAY)])) == 1


def test_a_day_whose_spend_meta_revised_away_loses_its_object(
    invoke: Callable[..., Any], table: Any, aws_env: aws.Resources, tenants: list[str]
) -> None:
    put_spend(table, TENANT, "2026-11-30", "120210000000003", 5000)
    invoke(RUN, SCHEDULE)
    assert set(stored(aws_env)) == {spend_key(TENANT, "2026-11-30")}
    table.delete(f"SPEND#{TENANT}", "2026-11-30#120210000000003")  # what the importer does then
    assert invoke(RUN, SCHEDULE)["removed"] == 1
    assert stored(aws_env) == {}


# -- the direct invocation: a backfill ------------------------------------------------------------------


def test_a_backfill_exports_a_past_range(
    invoke: Callable[..., Any], table: Any, aws_env: aws.Resources, tenants: list[str]
) -> None:
    invoke(COUNT, batch(EXAMPLE["Records"]))
    put_spend(table, "t_outra", "2026-11-10", "999", 700)
    report = invoke(RUN, {"from": "2026-11-01", "to": "2026-12-01"})
    assert report["days"][0] == DAY and report["days"][-1] == "2026-11-01" and report["tenants"] == 3
    assert set(stored(aws_env)) == {funnel_key(TENANT, DAY), spend_key("t_outra", "2026-11-10")}


BACKFILL_VALUES = st.one_of(
    JSON_VALUES,
    st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat),
    st.sampled_from(["2026-12-01", "2026-02-30", "2026-12-01T00:00:00Z", "t_demo", "../t_outra", ""]),
)
NEAR_DAYS = st.sampled_from(["2026-11-28", "2026-11-30", "2026-12-01", "2026-12-31", "2027-02-01"])
PAYLOADS = st.one_of(
    st.dictionaries(
        st.sampled_from(["from", "to", "tenant_id", "after", "source", "bucket"]) | st.text(max_size=8),
        BACKFILL_VALUES,
        max_size=5,
    ),
    st.fixed_dictionaries(  # mostly well formed: some run
        {"from": NEAR_DAYS, "to": NEAR_DAYS},
        optional={
            "tenant_id": st.sampled_from(["t_demo", "t_outra", "../x", ""]),
            "after": st.sampled_from(["t_demo", "é"]),
        },
    ),
).filter(lambda payload: payload.get("source") != "aws.events" and "detail-type" not in payload)


@route(2)
@given(payload=PAYLOADS)
def test_any_direct_payload_is_refused_or_run_and_a_refusal_writes_nothing(
    invoke: Callable[..., Any], aws_env: aws.Resources, tenants: list[str], payload: dict[str, Any]
) -> None:
    before = stored(aws_env)
    try:
        invoke(RUN, payload)
    except ValueError:  # pydantic's ValidationError is one: the invoker is told why
        event("refused")
        assert stored(aws_env) == before
    else:
        event("run")
        assert set(payload) >= {"from", "to"}


@route(2)
@given(moment=JSON_VALUES | st.datetimes().map(lambda moment: moment.isoformat()))
def test_a_schedule_event_with_any_time_runs_for_some_days(
    invoke: Callable[..., Any], tenants: list[str], moment: Any
) -> None:
    report = invoke(RUN, {**SCHEDULE, "time": moment})
    days = [date.fromisoformat(day) for day in report["days"]]
    assert len(days) == 4 and [(days[0] - day).days for day in days] == [0, 1, 2, 3]


def test_the_documented_queries_are_athena_sql_over_the_exported_columns(
    invoke: Callable[..., Any], table: Any, aws_env: aws.Resources, tenants: list[str], tmp_path: Path
) -> None:
    """Each query of docs/analytics.md parses as Athena's SQL and, translated to DuckDB's, binds and
    runs over the objects the export wrote (downloaded, partitions from their paths as Athena reads them)."""
    sqlglot = pytest.importorskip("sqlglot")
    duckdb = pytest.importorskip("duckdb")
    invoke(COUNT, batch(EXAMPLE["Records"]))
    put_spend(table, TENANT, DAY, "120210000000003", 5000)
    invoke(RUN, SCHEDULE)
    for key, body in stored(aws_env).items():
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(body)
    doc = (ROOT / "docs" / "analytics.md").read_text(encoding="utf-8")
    queries = re.findall(r"```sql\n(.*?)```", doc[doc.index("## Beyond one table") :], re.S)
    assert 3 <= len(queries) <= 5
    db = duckdb.connect()
    for kind in ("funnel", "spend"):
        files = f"{tmp_path}/{kind}/*/*/*.jsonl.gz"
        db.execute(
            f"CREATE VIEW {kind} AS SELECT * FROM read_json_auto('{files}', hive_partitioning = true, "
            "hive_types_autocast = false)"
        )
    for query in queries:
        parsed = sqlglot.parse_one(query, read="athena")
        reads = [found.name for found in parsed.find_all(sqlglot.exp.Table) if found.name in ("funnel", "spend")]
        assert reads and query.count(f"tenant = '{TENANT}'") == len(reads)  # each read names its tenant
        db.execute(sqlglot.transpile(query, read="athena", write="duckdb")[0]).fetchall()


# -- the template: bucket, function, Athena tables ---------------------------------------------------------


def resources() -> dict[str, Any]:
    return dict(load().raw["Resources"])


def test_the_athena_tables_declare_exactly_the_exported_fields() -> None:
    metrics = set(METRICS) | {"spend_cents", "impressions", "clicks"}
    for logical_id, columns, kind in (
        ("ExportFunnelTable", FUNNEL_COLUMNS, "funnel"),
        ("ExportSpendTable", SPEND_COLUMNS, "spend"),
    ):
        table = resources()[logical_id]
        assert table["Type"] == "AWS::Glue::Table"
        declared = table["Properties"]["TableInput"]
        assert declared["Name"] == kind and declared["TableType"] == "EXTERNAL_TABLE"
        storage = declared["StorageDescriptor"]
        assert [(column["Name"], column["Type"]) for column in storage["Columns"]] == [
            (name, "bigint" if name in metrics else "string") for name in columns
        ]
        assert storage["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
        assert storage["Location"] == {"Fn::Sub": f"s3://${{ExportBucket}}/{kind}/"}
        assert declared["PartitionKeys"] == [{"Name": "tenant", "Type": "string"}, {"Name": "date", "Type": "string"}]
        parameters = declared["Parameters"]
        assert parameters["projection.enabled"] == "true"
        assert parameters["projection.tenant.type"] == "injected"  # every query names its tenant
        assert parameters["projection.date.type"] == "date" and parameters["projection.date.format"] == "yyyy-MM-dd"
        assert parameters["projection.date.range"].endswith(",NOW")
        template = parameters["storage.location.template"]["Fn::Sub"]
        # The template's partitions are where the export writes (``${!x}`` is a literal ``${x}`` in !Sub).
        location = template.replace("s3://${ExportBucket}/", "").replace("${!tenant}", "t_x").replace("${!date}", DAY)
        key = funnel_key("t_x", DAY) if kind == "funnel" else spend_key("t_x", DAY)
        assert key.rsplit("/", 1)[0] + "/" == location
        assert table["Properties"]["DatabaseName"] == {"Ref": "ExportDatabase"}
    assert set(DIMENSIONS) <= set(FUNNEL_COLUMNS)


def test_the_bucket_is_private_encrypted_and_ages_out_and_athena_writes_under_it() -> None:
    bucket = resources()["ExportBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert all(bucket["PublicAccessBlockConfiguration"][name] is True for name in (
        "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))  # fmt: skip
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["ExportedDays"]["ExpirationInDays"] == 400 and "Prefix" not in rules["ExportedDays"]
    group = resources()["ExportWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert group["EnforceWorkGroupConfiguration"] is True and group["BytesScannedCutoffPerQuery"] > 0
    assert group["ResultConfiguration"]["OutputLocation"] == {"Fn::Sub": "s3://${ExportBucket}/athena-results/"}
    assert rules["QueryResults"]["Prefix"] == "athena-results/"


def test_the_function_reads_the_table_and_writes_only_the_exports_prefixes() -> None:
    function = load().functions[RUN]
    assert function.environment["EXPORT_BUCKET"] == {"Ref": "ExportBucket"}
    assert [schedule.expression for schedule in function.schedules] == ["cron(0 10 * * ? *)"]
    spend_import = load().functions["SpendImportFunction"].schedules[0].expression
    assert spend_import == "cron(30 9 * * ? *)"  # the export runs after it: yesterday's spend is closed
    granted = {
        (action, json.dumps(resource, sort_keys=True))
        for statement in resources()[RUN]["Properties"]["Policies"][0]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    }
    writes = {resource for action, resource in granted if action.startswith("s3:") and action != "s3:ListBucket"}
    assert writes == {
        json.dumps({"Fn::Sub": f"${{ExportBucket.Arn}}/{prefix}/*"}) for prefix in ("funnel", "spend", "_state")
    }
    assert {action for action, _ in granted if action.startswith("dynamodb:")} == {"dynamodb:Query"}


# -- the local stack ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from local.server import start_stack

    with start_stack(port=0, schedule_speed=None) as started:
        yield started


def shifted(records: list[dict[str, Any]], days: int) -> list[dict[str, Any]]:
    """The example's records moved ``days`` days: every time in them (ISO texts, the click's epoch ms)."""
    iso = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")

    def move(value: Any, name: str = "") -> Any:
        if isinstance(value, dict):
            if set(value) == {"S"} and isinstance(value["S"], str) and iso.fullmatch(value["S"]):
                moment = datetime.fromisoformat(value["S"].replace("Z", "+00:00")) + timedelta(days=days)
                return {"S": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"}
            if set(value) == {"N"} and name == "t":
                return {"N": str(int(value["N"]) + days * 86_400_000)}
            return {key: move(item, key) for key, item in value.items()}
        if isinstance(value, list):
            return [move(item) for item in value]
        return value

    moved = move(copy.deepcopy(records))
    for record in moved:
        record["dynamodb"]["ApproximateCreationDateTime"] += days * 86_400
    return list(moved)


def test_the_local_stack_exports_on_request(stack: Any) -> None:
    from local.fakes.meta_graph import DEMO_AD_ACCOUNT_ID, DEMO_ADS

    # Two days ago in Brasília: inside the run's days even if midnight passes while the test runs.
    target = date.fromisoformat(business_day(datetime.now(UTC))) - timedelta(days=2)
    stack.invoke(COUNT, batch(shifted(EXAMPLE["Records"], (target - date.fromisoformat(DAY)).days)))
    with httpx.Client(base_url=stack.base_url, timeout=60) as http:
        key = http.get("/_local/seed").json()["api_key"]
        body = {"account_id": f"act_{DEMO_AD_ACCOUNT_ID}", "access_token": "EAAGdailyExportLocalToken0123456789"}
        added = http.post("/api/v1/ad-accounts", json=body, headers={"authorization": f"Bearer {key}"})
        assert added.status_code == 201, added.text
        assert http.post("/_local/schedules/SpendImportFunction").json()["result"]["outcomes"] == {"ok": 1}
        ran = http.post(f"/_local/schedules/{RUN}")
    assert ran.status_code == 200, ran.text
    report = ran.json()["result"]
    assert target.isoformat() in report["days"] and report["failed"] == 0
    objects = stored(stack.resources)
    assert all(key.split("/")[1] == f"tenant={TENANT}" for key in objects)
    funnel = lines(objects[funnel_key(TENANT, target.isoformat())])
    assert sum(line["sales"] for line in funnel) == 1 and {line["day"] for line in funnel} == {target.isoformat()}
    spend = lines(objects[spend_key(TENANT, target.isoformat())])  # the demo account's day, imported just now
    assert {line["ad_id"] for line in spend} == {ad.ad_id for ad in DEMO_ADS}
    assert report["objects"] == len(objects)
