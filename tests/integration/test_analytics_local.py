"""The funnel's counters in the local stack: a known mix of clicks, leads, sales and a refund, driven
through the real chain over HTTP, counted by AnalyticsStreamFunction from the table's stream and
read back through ``GET /api/v1/stats`` exactly."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from funil.analytics.facts import business_day

from local.server import LocalStack, start_stack

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Instagram 325.0.4.32.96"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
BLACK_FRIDAY = {"utm_source": "facebook", "utm_campaign": "black-friday", "campaign_id": "111", "ad_id": "a1"}
RETARGET = {"utm_source": "facebook", "utm_campaign": "retarget", "campaign_id": "222", "ad_id": "b1"}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with start_stack(port=0) as started:
        yield started


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def api(client: httpx.Client) -> httpx.Client:
    seed = client.get("/_local/seed").json()
    client.headers["authorization"] = f"Bearer {seed['api_key']}"
    return client


def click(client: httpx.Client, params: dict[str, str], user_agent: str) -> tuple[str, str]:
    page = client.get("/go/demo", params={**params, "fbclid": "IwAR0analytics"}, headers={"user-agent": user_agent})
    token = re.search(r"start=([A-Za-z0-9_-]{22})", page.text).group(1)  # type: ignore[union-attr]
    (item,) = client.get("/_local/items", params={"prefix": f"CLICK#{token}"}).json()
    return token, str(item["b"])


def start_and_buy(client: httpx.Client, bot_id: str, token: str, user_id: int) -> str:
    """``/start <token>`` then "buy" in the click's bot: the payment's id."""
    user = {"id": user_id, "is_bot": False, "first_name": "Ana", "language_code": "pt-br"}
    chat = {"id": user_id, "type": "private", "first_name": "Ana"}
    now = int(time.time())
    start = {"message": {"message_id": 1, "date": now, "chat": chat, "from": user, "text": f"/start {token}"}}
    assert client.post(f"/_local/telegram/{bot_id}/updates", json=start).json()["status"] == 200
    tap = {"id": f"cb-{user_id}", "from": user, "chat_instance": "42", "data": "b:grupo_vip"}
    tap["message"] = {"message_id": 2, "date": now, "chat": chat, "text": "Ofertas"}
    assert client.post(f"/_local/telegram/{bot_id}/updates", json={"callback_query": tap}).json()["status"] == 200
    (pending,) = client.get(f"/_local/telegram/{bot_id}/pending", params={"chat": str(user_id)}).json()
    return str(pending["payment_id"])


def rows_by_key(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in answer["rows"]}


def test_a_known_mix_is_counted_exactly(stack: LocalStack, api: httpx.Client) -> None:
    today = business_day(datetime.now(UTC))
    before = api.get("/api/v1/stats", params={"from": today, "to": today, "by": "utm_campaign"}).json()
    assert before["rows"] == [] or all(row["key"] not in ("black-friday", "retarget") for row in before["rows"])

    friday = [click(api, BLACK_FRIDAY, IPHONE) for _ in range(3)]
    retarget = [click(api, RETARGET, ANDROID) for _ in range(2)]
    paid = start_and_buy(api, friday[0][1], friday[0][0], 910001)
    start_and_buy(api, friday[1][1], friday[1][0], 910002)  # checks out, never pays
    refunded = start_and_buy(api, retarget[0][1], retarget[0][0], 910003)
    for payment_id in (paid, refunded):
        assert api.post(f"/_local/sandbox/pay/{payment_id}").json()["payment_status"] == "paid"
    assert stack.drain(20)
    assert api.post(f"/_local/sandbox/refund/{refunded}").json()["payment_status"] == "refunded"
    assert stack.drain(20)
    (price,) = {
        item["amount_cents"]
        for payment_id in (paid, refunded)
        for item in api.get("/_local/items", params={"prefix": f"PAYMENT#{payment_id}"}).json()
        if item["sk"] == "PAYMENT"
    }

    answer = api.get("/api/v1/stats", params={"from": today, "to": today, "by": "utm_campaign"})
    assert answer.status_code == 200, answer.text
    rows = rows_by_key(answer.json())
    counted = ("clicks", "leads", "checkouts", "sales", "revenue_cents", "refunds_cents")
    assert {name: rows["black-friday"][name] for name in counted} == {
        "clicks": 3, "leads": 2, "checkouts": 2, "sales": 1, "revenue_cents": price, "refunds_cents": 0,
    }  # fmt: skip
    assert {name: rows["retarget"][name] for name in counted} == {
        "clicks": 2, "leads": 1, "checkouts": 1, "sales": 1, "revenue_cents": price, "refunds_cents": price,
    }  # fmt: skip
    assert rows["black-friday"]["lead_rate"] == round(2 / 3, 4)

    # Any dimension, filtered by any other: the campaign's clicks by device, the mobile ones by ad.
    devices = rows_by_key(
        api.get("/api/v1/stats", params={"from": today, "to": today, "by": "os", "utm_campaign": "retarget"}).json()
    )
    assert {key: row["clicks"] for key, row in devices.items()} == {"android": 2}
    by_ad = rows_by_key(
        api.get("/api/v1/stats", params={"from": today, "to": today, "by": "ad_id", "campaign_id": "111"}).json()
    )
    assert {key: (row["clicks"], row["sales"]) for key, row in by_ad.items()} == {"a1": (3, 1)}
    # The day's series has the day, and the latency of this sale's lead is counted.
    series = api.get("/api/v1/stats", params={"from": today, "to": today}).json()
    assert [row["key"] for row in series["rows"]] == [today]
    assert sum(bucket["count"] for bucket in series["latency"]["click_to_lead"]) >= 3


def test_bad_queries_are_refused_by_name(api: httpx.Client) -> None:
    for params, field in (
        ({"from": "2026-13-01", "to": "2026-12-01"}, "from"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "query"),
        ({"from": "2020-01-01", "to": "2026-12-01"}, "query"),
        ({"from": "2026-12-01", "to": "2026-12-01", "by": "password"}, "by"),
        ({"from": "2026-12-01", "to": "2026-12-01", "shoe_size": "42"}, "shoe_size"),
    ):
        answer = api.get("/api/v1/stats", params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert field in {problem["field"] for problem in answer.json()["fields"]}, answer.json()


def test_the_demo_dashboard_is_one_link_away(client: httpx.Client) -> None:
    answer = client.get("/_local/dashboard", follow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert re.fullmatch(
        re.escape(client.base_url.join("/app/login").__str__()) + r"\?token=[A-Za-z0-9_-]{40,}", location
    )
    page = client.get(location)
    assert page.status_code == 200 and "<form" in page.text  # a button spends the link, not the GET
