"""AnalyticsStreamFunction through the real handler: stream records → the funnel's counters, exactly once.

Events have the shape Lambda gives a DynamoDB stream consumer (``events/dynamodb_stream_funnel.json``:
records the local stack's stream emulation handed this function for a click, its lead, the lead's
payment paid and then refunded); the table is moto's. The counters are read back with
``funil.analytics.stats.read_stats``, as the API reads them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from funil.analytics.stats import StatsQuery, read_stats
from funil.analytics.storage import CHUNK_TYPE

from tests.admin_api import table_state
from tests.conftest import load_event

RUN = "AnalyticsStreamFunction"
EXAMPLE = load_event("dynamodb_stream_funnel.json")


def no_spend(*_: Any) -> list[Any]:
    return []


def counted(table: Any, tenant_id: str, day: date, by: str = "utm_campaign", **filters: str) -> dict[str, Any]:
    query = StatsQuery(start=day, end=day, by=by, filters=filters)
    answer = read_stats(table, tenant_id, query, spend_reader=no_spend).to_json()
    return {row["key"]: row for row in answer["rows"]} | {"total": answer["totals"]}


def chunks(aws_env: Any) -> list[str]:
    """The counters' items as stored (moto's own store), in key order."""
    return sorted(item for item in table_state(aws_env) if f'"type": {{"S": "{CHUNK_TYPE}"}}' in item)


def batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": copy.deepcopy(records)}


@pytest.fixture
def example_day() -> date:
    seconds = EXAMPLE["Records"][0]["dynamodb"]["ApproximateCreationDateTime"]
    from datetime import UTC, datetime

    from funil.analytics.facts import business_day

    return date.fromisoformat(business_day(datetime.fromtimestamp(seconds, UTC)))


def tenant_of(event: dict[str, Any]) -> str:
    return str(event["Records"][0]["dynamodb"]["NewImage"]["tenant_id"]["S"])


def test_the_example_counts_a_click_its_lead_checkout_sale_and_refund(
    invoke: Callable[..., Any], table: Any, example_day: date
) -> None:
    assert invoke(RUN, batch(EXAMPLE["Records"])) == {}
    rows = counted(table, tenant_of(EXAMPLE), example_day)
    total = rows["total"]
    assert (total["clicks"], total["leads"], total["checkouts"], total["sales"]) == (1, 1, 1, 1)
    assert total["revenue_cents"] > 0 and total["refunds_cents"] == total["revenue_cents"]


def test_a_batch_delivered_again_counts_once(
    invoke: Callable[..., Any], aws_env: Any, table: Any, example_day: date
) -> None:
    invoke(RUN, batch(EXAMPLE["Records"]))
    once = chunks(aws_env)
    assert len(once) == 1
    invoke(RUN, batch(EXAMPLE["Records"]))
    assert chunks(aws_env) == once
    assert counted(table, tenant_of(EXAMPLE), example_day)["total"]["clicks"] == 1


def test_a_failed_batch_split_in_halves_counts_each_record_once(
    invoke: Callable[..., Any], table: Any, example_day: date
) -> None:
    records = EXAMPLE["Records"]
    invoke(RUN, batch(records))  # the whole batch wrote its chunks, then (say) failed: Lambda splits it
    half = len(records) // 2
    invoke(RUN, batch(records[:half]))
    invoke(RUN, batch(records[half:]))
    whole = counted(table, tenant_of(EXAMPLE), example_day)["total"]
    assert (whole["clicks"], whole["leads"], whole["checkouts"], whole["sales"]) == (1, 1, 1, 1)
    assert whole["refunds_cents"] == whole["revenue_cents"]


def test_records_of_different_items_in_any_order_count_the_same(
    invoke: Callable[..., Any], table: Any, example_day: date
) -> None:
    invoke(RUN, batch(list(reversed(EXAMPLE["Records"]))))
    total = counted(table, tenant_of(EXAMPLE), example_day)["total"]
    assert (total["clicks"], total["leads"], total["checkouts"], total["sales"]) == (1, 1, 1, 1)


def test_a_refund_lowers_the_day_of_its_sale(invoke: Callable[..., Any], table: Any, example_day: date) -> None:
    records = copy.deepcopy(EXAMPLE["Records"])
    later = (example_day + timedelta(days=3)).isoformat() + "T15:00:00.000Z"
    for record in records:  # refunded three days after the sale
        image = record["dynamodb"]["NewImage"]
        if "refunded_at" in image:
            image["refunded_at"] = {"S": later}
    invoke(RUN, batch(records))
    sale_day = counted(table, tenant_of(EXAMPLE), example_day)["total"]
    assert sale_day["refunds_cents"] == sale_day["revenue_cents"] > 0
    assert counted(table, tenant_of(EXAMPLE), example_day + timedelta(days=3))["total"]["refunds_cents"] == 0


def test_an_unreadable_record_fails_the_batch_and_writes_nothing(invoke: Callable[..., Any], aws_env: Any) -> None:
    broken = copy.deepcopy(EXAMPLE["Records"][:1])
    del broken[0]["eventID"]
    with pytest.raises(KeyError):
        invoke(RUN, batch(broken))
    assert chunks(aws_env) == []


def test_the_example_event_is_what_lambda_sends() -> None:
    for record in EXAMPLE["Records"]:
        assert record["eventSource"] == "aws:dynamodb" and record["eventName"] in ("INSERT", "MODIFY")
        assert set(record["dynamodb"]) >= {"ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber"}
        json.dumps(record)


def click_records(count: int, tenant_id: str | None = None, **utm: str) -> list[dict[str, Any]]:
    """Copies of the example's click record: new event ids and tokens, another tenant or UTMs."""
    (template,) = [record for record in EXAMPLE["Records"] if record["dynamodb"]["NewImage"]["sk"]["S"] == "CLICK"]
    records = []
    for number in range(count):
        record = copy.deepcopy(template)
        record["eventID"] = f"{number:08d}" + record["eventID"][8:]
        image = record["dynamodb"]["NewImage"]
        token = f"{number:06d}" + image["pk"]["S"][len("CLICK#") + 6 :]
        image["pk"] = record["dynamodb"]["Keys"]["pk"] = {"S": f"CLICK#{token}"}
        if tenant_id:
            image["tenant_id"] = {"S": tenant_id}
        for name, value in utm.items():
            image["u"]["M"][name] = {"S": value.format(number=number)}
        records.append(record)
    return records


def test_a_batchs_chunks_are_written_in_one_transaction(
    invoke: Callable[..., Any], aws_env: Any, table: Any, aws_calls: list[tuple[str, str]], example_day: date
) -> None:
    invoke(RUN, batch(EXAMPLE["Records"] + click_records(2, tenant_id="t_other")))
    writes = [operation for service, operation in aws_calls if operation in ("PutItem", "TransactWriteItems")]
    assert writes == ["TransactWriteItems"]  # both tenants' chunks, all or none
    assert len(chunks(aws_env)) == 2
    assert counted(table, "t_other", example_day)["total"]["clicks"] == 2


def test_a_chunk_keeps_a_bounded_number_of_values_per_dimension(
    invoke: Callable[..., Any], table: Any, example_day: date
) -> None:
    invoke(RUN, batch(click_records(150, content="criativo-{number}")))
    rows = counted(table, tenant_of(EXAMPLE), example_day, by="utm_content")
    assert len(rows) == 102  # 100 values, "(other)", the total
    assert rows["(other)"]["clicks"] == 50 and rows["total"]["clicks"] == 150


def test_a_range_with_more_counters_than_one_answer_reads_is_refused(
    invoke: Callable[..., Any], table: Any, example_day: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    from funil.analytics import stats
    from funil.analytics.storage import TooMuchToRead

    for record in click_records(3):  # three batches: three chunks of the day
        invoke(RUN, batch([record]))
    monkeypatch.setattr(stats, "MAX_CHUNKS", 2)
    with pytest.raises(TooMuchToRead):
        counted(table, tenant_of(EXAMPLE), example_day)
