"""Verdicts through AnalyticsStreamFunction: clicks as the redirect stores them, handed over as their stream
records, judged with the IP database (the sample in tests/fixtures/ipdb) and counted by quality and region."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from funil import keys
from funil.adapters.dynamo import serialize
from funil.analytics.facts import business_day
from funil.analytics.quality import BURST_SAME_NET
from funil.analytics.stats import StatsQuery, read_stats
from funil.click.capture import ClickRequest, build_click_item
from funil.click.links import BotTarget, LinkRoute

from local.template import ROOT
from tests.conftest import load_event
from tests.unit.analytics.test_quality import HEADLESS_CHROME, INSTAGRAM_IPHONE, PT_BR

RUN = "AnalyticsStreamFunction"
ENVELOPE = load_event("dynamodb_stream_funnel.json")["Records"][0]
ROUTE = LinkRoute(
    slug="promo",
    tenant_id="t_quality",
    enabled=True,
    attribution_window_days=7,
    targets=(BotTarget("bot_q", "QualityBot", 1),),
    pixel=None,
)
CLICKED_AT = datetime(2026, 11, 27, 21, 15, 0, tzinfo=UTC)
DAY = date.fromisoformat(business_day(CLICKED_AT))


@pytest.fixture(autouse=True)
def sample_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPDB_DIR", str(ROOT / "tests" / "fixtures" / "ipdb" / "data"))


def click(table: Any, number: int, ip: str, user_agent: str, accept_language: str | None) -> dict[str, Any]:
    """A click stored as the redirect stores it, and the stream record its insert makes."""
    headers = {"user-agent": user_agent} | ({"accept-language": accept_language} if accept_language else {})
    item = build_click_item(
        ClickRequest(query=[("utm_campaign", "black-friday")], cookies={}, headers=headers, source_ip=ip),
        route=ROUTE,
        bot=ROUTE.targets[0],
        token=f"Quality{number:015d}",
        now=CLICKED_AT,
        fbp="fb.1.1796098283089.1670713434",
        ip_hash_secret=b"k" * 32,
        trusted_proxy_hops=0,
        ttl_margin_days=2,
    ).item
    table.put(item)
    record = copy.deepcopy(ENVELOPE)
    record["eventID"] = f"{number:032x}"
    record["dynamodb"]["Keys"] = serialize({"pk": item["pk"], "sk": item["sk"]})
    record["dynamodb"]["NewImage"] = serialize(item)
    record["dynamodb"]["ApproximateCreationDateTime"] = CLICKED_AT.timestamp()
    return record


def rows(table: Any, by: str, **filters: str) -> dict[str, dict[str, Any]]:
    query = StatsQuery(start=DAY, end=DAY, by=by, filters=filters)
    answer = read_stats(table, ROUTE.tenant_id, query, spend_reader=lambda *_: []).to_json()
    return {row["key"]: row for row in answer["rows"]}


def test_suspect_clicks_are_counted_apart_and_keep_their_verdict(invoke: Callable[..., Any], table: Any) -> None:
    records = [
        click(table, 1, "189.40.1.77", INSTAGRAM_IPHONE, PT_BR),  # TIM, São Paulo
        click(table, 2, "177.79.0.1", INSTAGRAM_IPHONE, PT_BR),  # Vivo, Espírito Santo
        click(table, 3, "52.94.236.248", HEADLESS_CHROME, None),  # AWS
    ]
    assert invoke(RUN, {"Records": records}) == {}

    by_quality = rows(table, "quality")
    assert (by_quality["clean"]["clicks"], by_quality["suspect"]["clicks"]) == (2, 1)
    assert by_quality["suspect"]["suspect_clicks"] == 1 and by_quality["clean"]["suspect_clicks"] == 0
    assert {key: row["clicks"] for key, row in rows(table, "region").items()} == {"SP": 1, "ES": 1, "Virginia": 1}
    assert rows(table, "country", quality="clean")["BR"]["clicks"] == 2

    suspect = table.get(*keys.click("Quality000000000000003"))
    assert suspect["q"] == {"suspect": True, "reasons": ["headless", "no_accept_language", "datacenter_asn"]}
    assert "q" not in table.get(*keys.click("Quality000000000000001"))  # clean clicks are not rewritten


def test_a_burst_from_one_network_in_one_batch(invoke: Callable[..., Any], table: Any) -> None:
    burst = [click(table, n, f"189.40.1.{n}", INSTAGRAM_IPHONE, PT_BR) for n in range(1, BURST_SAME_NET + 1)]
    elsewhere = click(table, 99, "177.79.0.1", INSTAGRAM_IPHONE, PT_BR)
    invoke(RUN, {"Records": [*burst, elsewhere]})

    by_quality = rows(table, "quality")
    assert (by_quality["suspect"]["clicks"], by_quality["clean"]["clicks"]) == (BURST_SAME_NET, 1)
    assert table.get(*keys.click("Quality000000000000001"))["q"]["reasons"] == ["burst_same_net"]


def test_one_click_fewer_is_no_burst(invoke: Callable[..., Any], table: Any) -> None:
    records = [click(table, n, f"189.40.1.{n}", INSTAGRAM_IPHONE, PT_BR) for n in range(1, BURST_SAME_NET)]
    invoke(RUN, {"Records": records})
    assert set(rows(table, "quality")) == {"clean"}
