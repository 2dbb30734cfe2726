"""Ad spend: Meta's documented answers through the Marketing API parsers, exact cents, safe paging,
failure classes, the import's window, queue and budget, and ``read_spend`` (moto's table).

Meta's answers are untrusted input: the parsers take any JSON and either give typed rows or refuse
with ``ValueError``, never anything else (Hypothesis).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from funil import encryption, keys
from funil.adapters.kms import Kms
from funil.adapters.meta_marketing import (
    MarketingClient,
    MarketingFailure,
    account_digits,
    classify,
    parse_ad_account,
    parse_insight_row,
    parse_insights_page,
    spend_cents,
)
from funil.analytics.spend import SpendImportDeps, SpendRow, import_spend, import_window, read_spend
from hypothesis import given
from hypothesis import strategies as st

from local.fakes.meta_graph import FakeAdAccount, FakeMetaGraph, Fault, demo_ad_account
from tests.integration.test_spend_import import ads

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "meta_marketing"
TOKEN = "EAAGunitSpendTokenForTests0123456789"
BASE = "https://graph.test/_local/graph"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def client_of(fake: FakeMetaGraph | Callable[[httpx.Request], httpx.Response]) -> MarketingClient:
    handle = fake.handle if isinstance(fake, FakeMetaGraph) else fake
    return MarketingClient(BASE, "v26.0", client=httpx.Client(transport=httpx.MockTransport(handle)))


# -- Meta's documented answers ----------------------------------------------------------------------------


def test_the_insights_overview_example_is_read_as_documented() -> None:
    payload = fixture("insights_overview_example.json")
    assert spend_cents(payload["data"][0]["spend"]) == 533_950  # "5339.5": exactly R$ 5.339,50
    page = parse_insights_page(payload)
    # A campaign's 30-day total: not a row of an ad-level daily import, refused alone, with its reason.
    assert page.rows == [] and page.refused == ["the row spans more than one day"]
    assert page.next_url is None  # cursors only, no next: the last page (the SDK's rule)


def test_the_sdk_ad_insights_row_is_read_once_it_is_one_day() -> None:
    row = fixture("ad_insights_sdk_example.json")
    with pytest.raises(ValueError, match="more than one day"):
        parse_insight_row(row)
    daily = parse_insight_row({**row, "date_stop": row["date_start"], "spend": "0"})
    assert (daily.ad_id, daily.ad_name, daily.day, daily.spend_cents) == ("125475", "test_name", date(2019, 11, 6), 0)
    assert (daily.impressions, daily.link_clicks, daily.campaign_id, daily.currency) == (0, 0, "", None)


def test_the_sdk_ad_account_answer_is_read_field_by_field() -> None:
    info = parse_ad_account(fixture("ad_account_sdk_example.json"), "123")
    assert (info.account_id, info.currency, info.account_status, info.running) == ("123", "USD", 1, True)
    assert info.name is None and info.timezone_name is None  # not asked for in the SDK's test: None, not guessed


def test_the_documented_error_is_the_tokens_fault_and_keeps_none_of_metas_words() -> None:
    body = json.dumps(fixture("graph_error_example.json")).encode()
    client = client_of(lambda request: httpx.Response(400, content=body))
    with pytest.raises(MarketingFailure) as failure:
        client.ad_account("act_123", TOKEN)
    error = failure.value.error
    assert (error.kind, error.code, error.subcode, error.fbtrace_id) == ("token", 190, 460, "EJplcsCHuLu")
    assert error.describe() == "code 190/460, fbtrace_id EJplcsCHuLu" and "Message" not in str(failure.value)


# -- money and ids -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spend", "cents"),
    [("0.14", 14), ("5339.5", 533_950), ("0", 0), (" 12.30 ", 1230), ("0.005", 0), ("0.015", 2), ("7", 700),
     (Decimal("19.90"), 1990), (3, 300), ("999999999999999.99", 99_999_999_999_999_999)],
)  # fmt: skip
def test_spend_is_read_into_cents_exactly(spend: object, cents: int) -> None:
    assert spend_cents(spend) == cents


@pytest.mark.parametrize(
    "spend", ["1e3", "-1.00", "NaN", "Infinity", "1,50", "", ".5", "5.", "0x10", None, True, 1.5, [1], Decimal("NaN")]
)
def test_what_is_not_a_plain_decimal_is_refused(spend: object) -> None:
    with pytest.raises(ValueError, match="spend"):
        spend_cents(spend)


@given(st.decimals(min_value=0, max_value=Decimal("1e15") - 1, places=2, allow_nan=False, allow_infinity=False))
def test_two_decimal_places_are_cents_without_rounding(value: Decimal) -> None:
    assert spend_cents(format(value, "f")) == int(value * 100)


@given(st.decimals(min_value=0, max_value=Decimal("1e12"), places=6, allow_nan=False, allow_infinity=False))
def test_finer_amounts_are_rounded_half_to_even(value: Decimal) -> None:
    assert spend_cents(format(value, "f")) == int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@given(st.text(max_size=24) | st.from_regex(r"\A-?[0-9.eE+]{1,20}\Z"))
def test_any_text_is_cents_or_a_value_error(text: str) -> None:
    try:
        cents = spend_cents(text)
    except ValueError:
        return
    assert isinstance(cents, int) and cents >= 0


def test_account_ids_are_taken_as_ads_manager_and_people_write_them() -> None:
    assert account_digits("act_1234567890") == account_digits(" 1234567890 ") == "1234567890"
    for bad in ("act_", "act_12a", "1" * 21, "ACT_1", "act_-1", "act_1/insights"):
        with pytest.raises(ValueError, match="ad account id"):
            account_digits(bad)


# -- Meta's answers are untrusted --------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
ROW_KEYS = ["ad_id", "ad_name", "adset_id", "campaign_id", "campaign_name", "spend", "impressions",
            "inline_link_clicks", "date_start", "date_stop", "account_currency"]  # fmt: skip
ROWS = st.dictionaries(st.sampled_from(ROW_KEYS), JSON | st.sampled_from(["2026-11-20", "12.50", "123", "BRL"]))


@given(st.one_of(JSON, st.builds(lambda rows, paging: {"data": rows, "paging": paging}, st.lists(ROWS | JSON), JSON)))
def test_any_json_is_rows_or_a_value_error(payload: Any) -> None:
    try:
        page = parse_insights_page(payload)
    except ValueError:
        return
    for row in page.rows:
        assert row.ad_id.isdigit() and row.spend_cents >= 0 and row.impressions >= 0 and row.link_clicks >= 0
    assert len(page.rows) + len(page.refused) == len(payload["data"])
    assert page.next_url is None or isinstance(page.next_url, str)


@given(JSON)
def test_any_json_is_an_ad_account_or_a_value_error(payload: Any) -> None:
    try:
        info = parse_ad_account(payload, "1")
    except ValueError:
        return
    assert info.currency is None or len(info.currency) == 3


# -- the client: pages, links, failures ----------------------------------------------------------------------


def test_pages_are_followed_and_the_token_goes_in_a_header_only() -> None:
    fake = FakeMetaGraph(access_tokens={TOKEN})
    fake.add_ad_account(FakeAdAccount("42", "Big", ads=ads("2024000", 7)))
    pages = list(client_of(fake).insights("act_42", TOKEN, date(2026, 1, 1), date(2026, 1, 3), limit=5))
    assert [len(page.rows) for page in pages] == [5, 5, 5, 5, 1] and pages[-1].next_url is None
    assert len({(row.day, row.ad_id) for page in pages for row in page.rows}) == 21
    assert {request["token_in"] for request in fake.marketing_requests} == {"header"}


def test_a_next_link_is_followed_only_to_this_accounts_insights() -> None:
    client = MarketingClient(BASE, "v26.0")
    kept = client.follow(f"{BASE}/v27.0/act_42/insights?after=QUZU&access_token=EAAsecret&limit=5", "42")
    assert kept == f"{BASE}/v27.0/act_42/insights?after=QUZU&limit=5"  # Meta's copy of the token dropped
    for elsewhere in (
        "https://evil.example/_local/graph/v26.0/act_42/insights?after=x",
        "http://graph.test/_local/graph/v26.0/act_42/insights",
        f"{BASE}/v26.0/act_43/insights",
        f"{BASE}/v26.0/act_42/ads",
        f"{BASE}/v26.0/act_42/insights/../../me",
        "https://graph.test/v26.0/act_42/insights",
        f"{BASE}/v26.0/act_42/insights#x",
    ):
        with pytest.raises(MarketingFailure, match="next link"):
            client.follow(elsewhere, "42")


def test_a_next_link_pointing_back_stops_the_walk() -> None:
    page = {"data": [], "paging": {"next": f"{BASE}/v26.0/act_42/insights?after=same"}}
    client = client_of(lambda request: httpx.Response(200, json=page))
    with pytest.raises(MarketingFailure, match="repeats"):
        list(client.insights("42", TOKEN, date(2026, 1, 1), date(2026, 1, 1)))


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (lambda request: httpx.Response(500, content=b"<html>oops</html>"), "transient"),
        (lambda request: httpx.Response(429, content=b""), "throttled"),
        (lambda request: httpx.Response(200, content=b"not json"), "invalid"),
        (lambda request: httpx.Response(200, json=[1, 2]), "invalid"),
        (lambda request: httpx.Response(200, json={"error": "x"}), "invalid"),
    ],
)
def test_unreadable_answers_are_classified_by_their_status(
    answer: Callable[[httpx.Request], httpx.Response], kind: str
) -> None:
    with pytest.raises(MarketingFailure) as failure:
        list(client_of(answer).insights("42", TOKEN, date(2026, 1, 1), date(2026, 1, 1)))
    assert failure.value.error.kind == kind


def test_a_timeout_is_transient() -> None:
    fake = FakeMetaGraph(access_tokens={TOKEN})
    fake.add_ad_account(demo_ad_account())
    fake.fail_marketing(Fault(timeout=True))
    with pytest.raises(MarketingFailure) as failure:
        client_of(fake).ad_account("act_1234567890", TOKEN)
    assert (failure.value.error.kind, failure.value.error.detail) == ("transient", "timeout")


@pytest.mark.parametrize(
    ("status", "code", "subcode", "transient", "kind"),
    [
        (400, 17, 2446079, False, "throttled"), (400, 613, 1487742, False, "throttled"),
        (400, 80004, None, False, "throttled"), (400, 4, 1504022, False, "throttled"),
        (400, 32, None, False, "throttled"), (429, None, None, False, "throttled"),
        (400, 190, 463, False, "token"), (400, 102, None, False, "token"), (401, None, None, False, "token"),
        (400, 10, None, False, "permission"), (403, 200, None, False, "permission"), (403, None, None, False, "permission"),
        (400, 100, 33, False, "unknown_account"), (400, 803, None, False, "unknown_account"),
        (500, 2, None, True, "transient"), (400, 1, None, False, "transient"), (400, 100, 1504018, False, "transient"),
        (400, 2, 1504038, False, "transient"), (503, None, None, False, "transient"), (None, None, None, False, "transient"),
        (400, 100, None, False, "invalid"), (400, 100, 1487534, False, "invalid"),
    ],
)  # fmt: skip
def test_failure_classes(status: int | None, code: int | None, subcode: int | None, transient: bool, kind: str) -> None:
    assert classify(status, code, subcode, transient) == kind


# -- the import: its window, queue and budget ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "through", "now", "window"),
    [
        ("America/Sao_Paulo", None, "2026-11-23T02:00:00Z", ("2026-11-19", "2026-11-22")),  # 23:00 in Brasília
        ("Asia/Tokyo", None, "2026-11-23T02:00:00Z", ("2026-11-20", "2026-11-23")),
        ("Not/AZone", None, "2026-11-23T02:00:00Z", ("2026-11-19", "2026-11-22")),  # Brasília's by default
        (None, "2026-11-10", "2026-11-23T12:00:00Z", ("2026-11-10", "2026-11-23")),  # a gap is caught up
        (None, "2026-01-01", "2026-11-23T12:00:00Z", ("2026-10-26", "2026-11-23")),  # at most 28 days back
        (None, "2026-11-23", "2026-11-23T12:00:00Z", ("2026-11-20", "2026-11-23")),  # the lookback stays
        (None, "garbage", "2026-11-23T12:00:00Z", ("2026-11-20", "2026-11-23")),
    ],
)
def test_the_window_is_the_accounts_recent_days(
    zone: str | None, through: str | None, now: str, window: tuple[str, str]
) -> None:
    since, until = import_window(zone, through, datetime.fromisoformat(now.replace("Z", "+00:00")))
    assert (since.isoformat(), until.isoformat()) == window


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def put_account(table: Any, tenant_id: str, digits: str, attempted: str | None) -> None:
    key = keys.ad_account(tenant_id, digits)
    ciphertext = encryption.encrypt_field(Kms(), os.environ["SECRETS_KEY_ID"], key, "access_token_ciphertext", TOKEN)
    table.put(
        {"pk": key[0], "sk": key[1], "type": "ad_account", "tenant_id": tenant_id, "account_id": digits,
         "status": "active", "access_token_ciphertext": ciphertext, "timezone_name": "America/Sao_Paulo",
         **keys.ad_account_import_index(tenant_id, digits, attempted)}
    )  # fmt: skip


class Ticks:
    """A monotonic clock that advances ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.value, self.step = 0.0, step

    def __call__(self) -> float:
        self.value += self.step
        return self.value


def deps_for(table: Any, fake: FakeMetaGraph, monotonic: Callable[[], float]) -> SpendImportDeps:
    return SpendImportDeps(items=table, secrets=Kms(), marketing=client_of(fake), now=lambda: NOW, monotonic=monotonic)


def test_the_least_recently_tried_go_first_and_none_twice_in_a_run(table: Any) -> None:
    fake = FakeMetaGraph(access_tokens={TOKEN})
    for digits in ("101", "102", "103"):
        fake.add_ad_account(FakeAdAccount(digits, digits, ads=ads(f"20{digits}", 1)))
    put_account(table, "t_a", "101", "2026-11-22T09:30:00.000Z")
    put_account(table, "t_b", "102", None)  # never tried: first
    put_account(table, "t_c", "103", "2026-11-21T09:30:00.000Z")
    report = import_spend(deps_for(table, fake, Ticks(0.001)))
    assert report.accounts == 3 and report.outcomes == {"ok": 3} and not report.stopped_by_budget
    assert [request["account_id"] for request in fake.marketing_requests] == ["102", "103", "101"]


def test_a_run_out_of_budget_leaves_the_rest_first_in_line(table: Any) -> None:
    fake = FakeMetaGraph(access_tokens={TOKEN})
    for digits in ("201", "202", "203"):
        fake.add_ad_account(FakeAdAccount(digits, digits, ads=ads(f"20{digits}", 1)))
        put_account(table, "t_a", digits, None)
    first = import_spend(deps_for(table, fake, Ticks(10.0)), budget_seconds=15.0)
    assert first.stopped_by_budget and first.accounts == 1
    done = {request["account_id"] for request in fake.marketing_requests}
    fake.marketing_requests.clear()
    second = import_spend(deps_for(table, fake, Ticks(10.0)), budget_seconds=15.0)
    assert second.accounts == 1 and {request["account_id"] for request in fake.marketing_requests}.isdisjoint(done)


# -- reading it back -----------------------------------------------------------------------------------------


def test_read_spend_gives_the_tenants_days_of_the_range(table: Any) -> None:
    def spend(tenant_id: str, day: str, ad_id: str, cents: int) -> dict[str, Any]:
        return {"pk": f"SPEND#{tenant_id}", "sk": f"{day}#{ad_id}", "type": "spend", "tenant_id": tenant_id,
                "day": day, "account_id": "1", "campaign_id": "9", "campaign_name": "Black Friday", "adset_id": "8",
                "adset_name": "S", "ad_id": ad_id, "ad_name": "A", "spend_cents": cents, "impressions": 100,
                "clicks": 3, "currency": "BRL", "imported_at": "2026-11-23T09:30:00.000Z"}  # fmt: skip

    for item in (
        spend("t_a", "2026-10-31", "1", 100),
        spend("t_a", "2026-11-01", "1", 200),
        spend("t_a", "2026-11-01", "22", 300),
        spend("t_a", "2026-11-30", "999999999999999999", 400),
        spend("t_a", "2026-12-01", "1", 500),
        spend("t_b", "2026-11-15", "1", 600),
        {"pk": "SPEND#t_a", "sk": "2026-11-02#7", "type": "spend", "day": "2026-11-02"},  # unreadable: skipped
    ):
        table.put(item)
    rows = read_spend(table, "t_a", date(2026, 11, 1), date(2026, 11, 30))
    assert [(row.day, row.ad_id, row.spend_cents) for row in rows] == [
        (date(2026, 11, 1), "1", 200), (date(2026, 11, 1), "22", 300), (date(2026, 11, 30), "999999999999999999", 400)
    ]  # fmt: skip
    assert rows[0] == SpendRow(
        day=date(2026, 11, 1), account_id="1", campaign_id="9", campaign_name="Black Friday", adset_id="8",
        adset_name="S", ad_id="1", ad_name="A", spend_cents=200, impressions=100, clicks=3, currency="BRL",
    )  # fmt: skip
    assert read_spend(table, "t_a", date(2026, 11, 2), date(2026, 11, 1)) == []


def test_a_walk_cut_short_by_the_budget_keeps_its_pages_and_is_partial(table: Any) -> None:
    fake = FakeMetaGraph(access_tokens={TOKEN})
    fake.add_ad_account(FakeAdAccount("301", "Big", ads=ads("2030100", 5)))  # 20 rows: 10 pages of 2
    put_account(table, "t_a", "301", None)
    client = client_of(fake)
    small_pages = type("SmallPages", (), {"insights": lambda self, *args: client.insights(*args, limit=2)})()
    deps = SpendImportDeps(items=table, secrets=Kms(), marketing=small_pages, now=lambda: NOW, monotonic=Ticks(10.0))
    report = import_spend(deps, budget_seconds=35.0)  # a clock read before the account and after each page
    assert report.outcomes == {"partial": 1} and report.rows == 6
    account = table.get(*keys.ad_account("t_a", "301"))
    assert account["last_import"]["outcome"] == "partial" and "imported_through" not in account
    assert len(read_spend(table, "t_a", date(2026, 11, 1), date(2026, 11, 30))) == 6


def test_the_fake_marketing_api_refuses_what_meta_refuses() -> None:
    fake = FakeMetaGraph(access_tokens={TOKEN})
    fake.add_ad_account(demo_ad_account())
    path, origin = "/_local/graph/v26.0/act_1234567890/insights", "http://127.0.0.1:3000"
    good = {"level": "ad", "time_increment": "1", "time_range": '{"since":"2026-01-01","until":"2026-01-02"}',
            "fields": "ad_id,spend", "limit": "2", "access_token": TOKEN}  # fmt: skip
    status, page, _ = fake.serve_get(path, good, {}, origin)
    assert (
        status == 200
        and len(page["data"]) == 2
        and set(page["data"][0]) == {"ad_id", "spend", "date_start", "date_stop"}
    )
    assert page["paging"]["next"].startswith(f"{origin}/_local/graph/v26.0/act_1234567890/insights?")
    assert f"access_token={TOKEN}" in page["paging"]["next"]  # as Meta does with a token given in the query
    for changed in ({"level": "campaign"}, {"time_increment": "7"}, {"time_range": "{}"}, {"fields": "ad_id,cpm"},
                    {"limit": "0"}, {"after": "bm9wZQ"}, {"filtering": "{"}):  # fmt: skip
        status, answer, _ = fake.serve_get(path, {**good, **changed}, {}, origin)
        assert (status, answer["error"]["code"]) == (400, 100), changed
    assert fake.serve_get(path, {**good, "access_token": "EAAnope"}, {}, origin)[1]["error"]["code"] == 190
    assert fake.serve_get(path.replace("1234567890", "9"), good, {}, origin)[1]["error"]["error_subcode"] == 33


def test_without_time_zone_data_the_window_is_brasilias(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoneinfo import ZoneInfoNotFoundError

    import funil.analytics.spend as spend

    def missing(key: str) -> Any:
        raise ZoneInfoNotFoundError(key)

    monkeypatch.setattr(spend, "ZoneInfo", missing)
    since, until = import_window("Asia/Tokyo", None, datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    assert (since, until) == (date(2026, 11, 19), date(2026, 11, 22))  # 23:00 the day before in UTC-3
