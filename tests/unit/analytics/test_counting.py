"""The counters' pure parts: a record's facts, the cube and its stored form, the stats' query."""

from __future__ import annotations

import contextlib
import zlib
from datetime import UTC, date, datetime
from typing import Any

import pytest
from funil.analytics.cube import LATENCY_BOUNDS, METRICS, Cube, UnreadableCube
from funil.analytics.dimensions import DIMENSIONS, INDEX, attributed
from funil.analytics.facts import business_day, lead_facts, payment_facts
from funil.analytics.stats import StatsQuery
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

ATTRIBUTION = {
    "link_slug": "promo",
    "clicked_at": "2026-11-27T14:00:00.000Z",
    "utm": {"utm_source": "facebook", "utm_campaign": "black-friday"},
    "ad": {"campaign_id": "111", "campaign_name": "BF", "ad_id": "a1"},
    "visitor": {"device": "mobile", "os": "ios", "in_app": "instagram"},
    "ip_anon": "203.0.113.0",
    "first_touch": {"link_slug": "first", "utm": {"utm_campaign": "awareness"}},
    "lead_since": "2026-11-27T14:01:00.000Z",
}


def no_network(_: str | None) -> None:
    return None


def payment(**fields: Any) -> dict[str, Any]:
    item = {
        "tenant_id": "t1",
        "bot_id": "bot1",
        "status": "pending",
        "amount_cents": 4990,
        "currency": "BRL",
        "created_at": "2026-11-27T14:02:00.000Z",
        "attribution": ATTRIBUTION,
    }
    return item | fields


PAID = {"status": "paid", "paid_at": "2026-11-28T02:30:00.000Z"}  # 23:30 on the 27th in Brasília


def value(key: tuple[str, ...], dimension: str) -> str:
    return key[INDEX[dimension]]


def test_brasilia_days_are_utc_minus_three() -> None:
    assert business_day(datetime(2026, 11, 28, 2, 59, tzinfo=UTC)) == "2026-11-27"
    assert business_day(datetime(2026, 11, 28, 3, 0, tzinfo=UTC)) == "2026-11-28"


def test_a_payment_inserted_is_a_checkout_under_its_last_and_first_click() -> None:
    last, first = payment_facts(None, payment(), no_network)
    assert (last.day, last.metrics, value(last.key, "utm_campaign"), value(last.key, "device")) == (
        "2026-11-27", {"checkouts": 1}, "black-friday", "mobile",
    )  # fmt: skip
    assert (first.metrics, value(first.key, "utm_campaign"), value(first.key, "link")) == (
        {"ft_checkouts": 1}, "awareness", "first",
    )  # fmt: skip


def test_a_sale_counts_on_the_brasilia_day_it_was_paid_with_its_lead_time() -> None:
    sale, first_touch = payment_facts(payment(), payment(**PAID), no_network)
    assert (sale.day, sale.metrics) == ("2026-11-27", {"revenue_cents": 4990, "sales": 1})
    assert sale.latency == (("lead_to_sale", 12 * 3600 + 29 * 60),)
    assert first_touch.metrics == {"ft_revenue_cents": 4990, "ft_sales": 1}


def test_changes_that_are_not_sales_count_nothing() -> None:
    paid = payment(**PAID)
    assert payment_facts(paid, paid | {"purchase_enqueued_at": "x"}, no_network) == []
    assert payment_facts(payment(), payment(status="expired"), no_network) == []


def test_a_late_payment_counts_as_a_sale() -> None:
    facts = payment_facts(payment(status="expired"), payment(**PAID), no_network)
    assert [fact.metrics.get("sales") for fact in facts] == [1, None]


def test_stars_are_counted_apart_from_revenue() -> None:
    (sale, _) = payment_facts(
        payment(currency="XTR", amount_cents=250), payment(currency="XTR", amount_cents=250, **PAID), no_network
    )
    assert sale.metrics == {"stars_sales": 1, "stars": 250, "sales": 1}


def test_a_partial_then_a_full_refund_count_the_difference_each_on_the_sale_day() -> None:
    paid = payment(**PAID)
    partial = paid | {"refund_state": "partial", "refunded_cents": 1000, "refunded_at": "2026-12-03T10:00:00.000Z"}
    full = partial | {"status": "refunded", "refund_state": "full", "refunded_cents": 4990}
    first, _ = payment_facts(paid, partial, no_network)
    second, _ = payment_facts(partial, full, no_network)
    assert (first.day, first.metrics, second.day, second.metrics) == (
        "2026-11-27", {"refunds_cents": 1000}, "2026-11-27", {"refunds_cents": 3990},
    )  # fmt: skip
    without_amount = paid | {"status": "refunded"}  # a gateway that tells no amount: all of it
    assert payment_facts(paid, without_amount, no_network)[0].metrics == {"refunds_cents": 4990}


def test_a_lead_counts_under_its_click_and_an_organic_one_under_none() -> None:
    lead = {"tenant_id": "t1", "bot_id": "bot1", "first_seen_at": "2026-11-27T14:01:00.000Z", "attributed": True}
    (fact,) = lead_facts(lead | {"attribution": ATTRIBUTION}, no_network)
    assert (fact.metrics, value(fact.key, "campaign_id"), fact.latency) == (
        {"leads": 1},
        "111",
        (("click_to_lead", 60.0),),
    )
    (organic,) = lead_facts(lead | {"attributed": False, "attribution": ATTRIBUTION}, no_network)
    assert value(organic.key, "campaign_id") == "" and value(organic.key, "bot") == "bot1"


def test_the_network_names_the_region() -> None:
    key = attributed(ATTRIBUTION, bot_id="b", network={"country": "BR", "region": "SP"})
    assert (value(key, "country"), value(key, "region")) == ("BR", "SP")


images = st.dictionaries(
    st.sampled_from(["tenant_id", "status", "amount_cents", "currency", "created_at", "paid_at", "attribution",
                     "refunded_cents", "bot_id", "first_seen_at", "attributed"]),
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30),
              st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3)),
)  # fmt: skip


@given(old=st.one_of(st.none(), images), new=images)
@settings(max_examples=300)
def test_any_image_gives_facts_or_none_and_never_raises(old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    for fact in payment_facts(old, new, no_network) + lead_facts(new, no_network):
        assert len(fact.key) == len(DIMENSIONS) and all(isinstance(part, str) for part in fact.key)
        assert all(value >= 0 for value in fact.metrics.values())


keys = st.tuples(*[st.sampled_from(["", "a", "b", "ç", "x" * 100]) for _ in DIMENSIONS])


@given(st.lists(st.tuples(keys, st.sampled_from(METRICS), st.integers(1, 10**9)), max_size=40))
def test_a_cube_reads_back_what_was_written(entries: list[tuple[tuple[str, ...], str, int]]) -> None:
    cube = Cube()
    for key, metric, amount in entries:
        cube.add(key, {metric: amount})
    cube.observe("click_to_lead", 42)
    assert Cube.decode(cube.encode()) == cube


@given(st.binary(max_size=200))
def test_anything_else_is_an_unreadable_cube(blob: bytes) -> None:
    with contextlib.suppress(UnreadableCube):
        Cube.decode(blob)


def test_a_cube_that_inflates_too_far_is_refused() -> None:
    with pytest.raises(UnreadableCube):
        Cube.decode(zlib.compress(b"[" + b" " * (9 * 1024 * 1024) + b"]"))


def test_latency_buckets_hold_their_upper_bound() -> None:
    cube = Cube()
    for seconds in (0, 5, 5.5, LATENCY_BOUNDS[-1] + 1):
        cube.observe("lead_to_sale", seconds)
    buckets = cube.latency["lead_to_sale"]
    assert (buckets[0], buckets[1], buckets[-1]) == (2, 1, 1)


def test_the_query_names_each_bad_parameter() -> None:
    with pytest.raises(ValidationError) as raised:
        StatsQuery.from_params({"from": "2026-11-01", "to": "2026-11-30", "shoe": "42", "device": "x" * 101})
    assert {tuple(error["loc"][:2]) for error in raised.value.errors()} == {("filters", "shoe"), ("filters", "device")}
    query = StatsQuery.from_params({"from": "2026-11-01", "to": "2026-11-03", "by": "ad_id", "device": "mobile"})
    assert (query.days()[-1], query.filters) == (date(2026, 11, 3), {"device": "mobile"})


def test_a_lead_faster_than_a_person_is_a_suspect_lead() -> None:
    lead = {"tenant_id": "t1", "bot_id": "bot1", "attributed": True, "attribution": ATTRIBUTION}
    (human,) = lead_facts(lead | {"first_seen_at": "2026-11-27T14:00:04.000Z"}, no_network)
    (script,) = lead_facts(lead | {"first_seen_at": "2026-11-27T14:00:00.300Z"}, no_network)
    assert (human.metrics, script.metrics) == ({"leads": 1}, {"leads": 1, "suspect_leads": 1})
