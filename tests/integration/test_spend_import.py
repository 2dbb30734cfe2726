"""SpendImportFunction on moto, fed the EventBridge schedule event, with the fake Marketing API
(local/fakes/meta_graph.py) over real HTTP; ad accounts added through the real operator's API.

Each ad's spend per day lands as one ``SPEND#<tenant>`` item with Meta's latest values (a run that
comes again writes the same items; a revision overwrites, a row Meta stops reporting goes); pages
are followed to the last; throttling and Meta's failures leave the account for the next run; a
refused token marks the account ``token_invalid`` and takes it out of the import. Meta's answers
are untrusted: hostile ones never make the run fail, and nothing but valid rows is stored. The
last test runs the local stack: the CLI adds the demo's ad account and the schedule imports it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from funil.clock import utc_now
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import event, given
from hypothesis import strategies as st

from local import aws
from local.fakes.meta_graph import (
    FakeAd,
    FakeAdAccount,
    FakeMetaGraph,
    Fault,
    daily_impressions,
    daily_link_clicks,
    daily_spend_cents,
)
from tests.admin_api import Answer, caller
from tests.conftest import load_event
from tests.integration import test_hostile_input as hostile
from tests.integration.test_hostile_input import HOSTILE_BYTES, Records, route

logs = hostile.logs  # the fixture: every log record of the test, checked with Records.check

FUNCTION = "SpendImportFunction"
TOKEN = "EAAGspendImportTokenForTests0123456789"
OTHER_TOKEN = "EAAGanotherSpendTokenForTests987654321"
BIA_ACCOUNT = "111222333"
OUTRA_ACCOUNT = "444555666"
BIG_ACCOUNT = "777888999"


def ads(prefix: str, count: int) -> list[FakeAd]:
    return [
        FakeAd(
            f"{prefix}{index:04d}",
            f"Anúncio {index}",
            f"{prefix}9{index % 2}",
            f"Conjunto {index % 2}",
            f"{prefix}8",
            "Campanha VIP",
        )
        for index in range(count)
    ]


def serve_graph(fake: FakeMetaGraph, raw: deque[tuple[int, bytes]]) -> tuple[ThreadingHTTPServer, str]:
    """The fake on a local HTTP server: its Marketing reads (GET) and the Conversions API (POST).
    ``raw`` holds answers to give instead, as they are, to the next GETs (hostile Meta)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if raw:
                status, data = raw.popleft()
            else:
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                origin = f"http://{self.headers['host']}"
                status, payload, timed_out = fake.serve_get(parts.path, params, self.headers, origin)
                if timed_out:
                    time.sleep(fake.timeout_sleep_seconds)
                data = json.dumps(payload).encode()
            self._answer(status, data)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            status, payload, _ = fake.serve("POST", urlsplit(self.path).path, self.headers, body)
            self._answer(status, json.dumps(payload).encode())

        def _answer(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fake-marketing-api", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def graph() -> Iterator[tuple[FakeMetaGraph, deque[tuple[int, bytes]], str]]:
    fake = FakeMetaGraph(access_tokens={TOKEN, OTHER_TOKEN})
    fake.add_ad_account(FakeAdAccount(BIA_ACCOUNT, "Loja da Bia", ads=ads("2021000", 3), tokens={TOKEN}))
    fake.add_ad_account(FakeAdAccount(OUTRA_ACCOUNT, "Outra", ads=ads("2022000", 2), tokens={OTHER_TOKEN}))
    fake.add_ad_account(FakeAdAccount(BIG_ACCOUNT, "Agência", ads=ads("2023000", 130), tokens={TOKEN}))
    raw: deque[tuple[int, bytes]] = deque()
    server, base_url = serve_graph(fake, raw)
    yield fake, raw, base_url
    server.shutdown()
    server.server_close()


@dataclass
class World:
    invoke: Callable[..., Any]
    api: Callable[..., Answer]
    table: Any
    resources: aws.Resources
    graph: FakeMetaGraph
    raw: deque[tuple[int, bytes]]
    bia: str  # tenant keys
    outra: str
    saved: dict[str, Any] | None = None  # an account item as added (the hostile answers' examples)

    def add(self, account_id: str, token: str = TOKEN, key: str | None = None) -> Answer:
        body = {"account_id": f"act_{account_id}", "access_token": token}
        return self.api("POST", "/api/v1/ad-accounts", body, key=key or self.bia)

    def run(self) -> dict[str, Any]:
        report: dict[str, Any] = self.invoke(FUNCTION, load_event("spend_import_schedule.json"))
        return report

    def spend(self, tenant_id: str = "t_bia") -> dict[str, dict[str, Any]]:
        return {item["sk"]: item for item in self.table.query("pk = :pk", {":pk": f"SPEND#{tenant_id}"})}

    def account(self, digits: str, tenant_id: str = "t_bia") -> dict[str, Any]:
        found: dict[str, Any] = self.table.get(f"ADACCOUNT#{tenant_id}#{digits}", "ADACCOUNT", consistent=True)
        return found

    def days(self, digits: str, tenant_id: str = "t_bia") -> list[str]:
        """The days the last import asked for (the account's today and the days before)."""
        last = self.account(digits, tenant_id)["last_import"]
        first, final = date.fromisoformat(last["since"]), date.fromisoformat(last["until"])
        return [(first + timedelta(days=offset)).isoformat() for offset in range((final - first).days + 1)]


@pytest.fixture
def world(
    aws_env: aws.Resources,
    table: Any,
    invoke: Callable[..., Any],
    graph: tuple[FakeMetaGraph, deque[tuple[int, bytes]], str],
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    fake, raw, base_url = graph
    monkeypatch.setenv("META_GRAPH_BASE_URL", base_url)  # after aws_env: the handlers load on their first call
    bia = create_tenant(table, TenantCreate(id="t_bia", name="Loja da Bia"), utc_now)[1].key
    outra = create_tenant(table, TenantCreate(id="t_outra", name="Outra"), utc_now)[1].key
    return World(invoke, caller(invoke), table, aws_env, fake, raw, bia, outra)


def expected(days: list[str], ad_list: list[FakeAd]) -> dict[str, int]:
    return {f"{day}#{ad.ad_id}": daily_spend_cents(ad.ad_id, day) for day in days for ad in ad_list}


def without_import_time(items: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {sk: {name: value for name, value in item.items() if name != "imported_at"} for sk, item in items.items()}


# -- importing ----------------------------------------------------------------------------------------


def test_a_run_stores_each_ads_spend_per_day_as_meta_reports_it(world: World) -> None:
    assert world.add(BIA_ACCOUNT).status == 201
    report = world.run()
    assert report == {"accounts": 1, "rows": 12, "removed": 0, "outcomes": {"ok": 1}, "stopped_by_budget": False}
    days = world.days(BIA_ACCOUNT)
    assert len(days) == 4 and days[-1] == world.account(BIA_ACCOUNT)["imported_through"]
    ad_list = world.graph.ad_accounts[BIA_ACCOUNT].ads
    items = world.spend()
    assert {sk: item["spend_cents"] for sk, item in items.items()} == expected(days, ad_list)
    ad, day = ad_list[1], days[0]
    item = items[f"{day}#{ad.ad_id}"]
    assert item == {
        "pk": "SPEND#t_bia",
        "sk": f"{day}#{ad.ad_id}",
        "type": "spend",
        "tenant_id": "t_bia",
        "day": day,
        "account_id": BIA_ACCOUNT,
        "campaign_id": ad.campaign_id,
        "campaign_name": "Campanha VIP",
        "adset_id": ad.adset_id,
        "adset_name": "Conjunto 1",
        "ad_id": ad.ad_id,
        "ad_name": "Anúncio 1",
        "spend_cents": daily_spend_cents(ad.ad_id, day),
        "impressions": daily_impressions(ad.ad_id, day),
        "clicks": daily_link_clicks(ad.ad_id, day),
        "currency": "BRL",
        "imported_at": item["imported_at"],
    }
    [read] = [request for request in world.graph.marketing_requests if request["kind"] == "insights"]
    assert read["token_in"] == "header" and "access_token" not in read["params"]  # never in a URL
    assert json.loads(read["params"]["time_range"]) == {"since": days[0], "until": days[-1]}
    assert (read["params"]["level"], read["params"]["time_increment"]) == ("ad", "1")
    account = world.account(BIA_ACCOUNT)
    assert account["last_import"]["outcome"] == "ok" and account["last_import"]["rows"] == 12
    assert account["gsi2sk"] == f"{account['last_import']['at']}#t_bia#{BIA_ACCOUNT}"  # to the back of the queue
    shown = world.api("GET", f"/api/v1/ad-accounts/act_{BIA_ACCOUNT}", key=world.bia).body
    assert shown["status"] == "active" and shown["last_import"]["outcome"] == "ok"


def test_runs_are_idempotent_and_take_metas_revisions(world: World) -> None:
    world.add(BIA_ACCOUNT)
    world.run()
    first = without_import_time(world.spend())
    world.run()
    assert without_import_time(world.spend()) == first  # the same items, written over
    days, ad_list = world.days(BIA_ACCOUNT), world.graph.ad_accounts[BIA_ACCOUNT].ads
    world.graph.revise(ad_list[0].ad_id, days[1], "12.34")  # Meta revised yesterday's spend
    world.graph.revise(ad_list[2].ad_id, days[0], None)  # and no longer reports this one
    report = world.run()
    assert report["rows"] == 11 and report["removed"] == 1
    after = without_import_time(world.spend())
    assert after[f"{days[1]}#{ad_list[0].ad_id}"]["spend_cents"] == 1234
    assert f"{days[0]}#{ad_list[2].ad_id}" not in after
    unchanged = {sk for sk in first if sk not in {f"{days[1]}#{ad_list[0].ad_id}", f"{days[0]}#{ad_list[2].ad_id}"}}
    assert all(after[sk] == first[sk] for sk in unchanged)


def test_every_page_is_followed_to_the_last(world: World) -> None:
    world.add(BIG_ACCOUNT)
    report = world.run()
    assert report["rows"] == 130 * 4 and report["outcomes"] == {"ok": 1}
    reads = [request for request in world.graph.marketing_requests if request["kind"] == "insights"]
    assert len(reads) == 2 and "after" not in reads[0]["params"] and reads[1]["params"]["after"]
    assert reads[1]["token_in"] == "header" and "access_token" not in reads[1]["params"]
    assert len(world.spend()) == 520


def test_throttling_stops_one_account_and_the_next_run_resumes_it(world: World) -> None:
    world.add(BIA_ACCOUNT)
    world.add(OUTRA_ACCOUNT, OTHER_TOKEN, key=world.outra)
    world.graph.fail_marketing(Fault(status=400, code=80004, is_transient=True, message="too many calls"))
    report = world.run()
    assert report["outcomes"] == {"ok": 1, "throttled": 1}  # the other account still imported
    throttled = [digits for digits, tenant in ((BIA_ACCOUNT, "t_bia"), (OUTRA_ACCOUNT, "t_outra"))
                 if world.account(digits, tenant)["last_import"]["outcome"] == "throttled"]  # fmt: skip
    [digits] = throttled
    tenant = "t_bia" if digits == BIA_ACCOUNT else "t_outra"
    account = world.account(digits, tenant)
    assert "code 80004" in account["last_import"]["error"] and account["gsi2pk"] == "ADACCOUNTS"
    assert "imported_through" not in account and world.spend(tenant) == {}
    assert world.run()["outcomes"] == {"ok": 2}
    assert len(world.spend(tenant)) == len(world.graph.ad_accounts[digits].ads) * 4


def test_a_failure_on_a_later_page_keeps_the_pages_before(world: World) -> None:
    world.add(BIG_ACCOUNT)
    world.graph.fail_marketing(Fault(status=400, code=17, subcode=2446079, is_transient=True), after=1)
    report = world.run()
    assert report["outcomes"] == {"throttled": 1} and report["rows"] == 500
    assert len(world.spend()) == 500 and "imported_through" not in world.account(BIG_ACCOUNT)
    assert world.run()["outcomes"] == {"ok": 1} and len(world.spend()) == 520


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=500, code=2, message="Service temporarily unavailable"),
        Fault(status=400, code=100, subcode=1504018, is_transient=False, message="Your request timed out"),
    ],
)
def test_meta_failing_is_tried_again_next_run(world: World, fault: Fault) -> None:
    world.add(BIA_ACCOUNT)
    world.graph.fail_marketing(fault)
    assert world.run()["outcomes"] == {"error": 1}
    assert world.account(BIA_ACCOUNT)["status"] == "active" and world.spend() == {}
    assert world.run()["outcomes"] == {"ok": 1} and len(world.spend()) == 12


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=400, code=190, subcode=463, is_transient=False, message="Session has expired"),
        Fault(status=403, code=200, is_transient=False, message="Permissions error"),
        Fault(status=400, code=100, subcode=33, is_transient=False, message="Unsupported get request"),
    ],
)
def test_a_refused_token_marks_the_account_and_takes_it_out_of_the_import(
    world: World, logs: Records, fault: Fault
) -> None:
    world.add(BIA_ACCOUNT)
    world.graph.fail_marketing(fault)
    assert world.run()["outcomes"] == {"token_invalid": 1}
    account = world.account(BIA_ACCOUNT)
    assert account["status"] == "token_invalid" and f"code {fault.code}" in account["status_reason"]
    assert "gsi2pk" not in account and "gsi2sk" not in account
    shown = world.api("GET", "/api/v1/ad-accounts", key=world.bia).body["items"]
    assert [(item["status"], item["last_import"]["outcome"]) for item in shown] == [("token_invalid", "token_invalid")]
    anomalies = [record for record in logs.records if getattr(record, "anomaly", None) == "ad_account_token_invalid"]
    assert len(anomalies) == 1
    logs.check((TOKEN,))  # the token in no log line, no traceback
    reads = world.graph.marketing_count()
    assert world.run()["accounts"] == 0 and world.graph.marketing_count() == reads  # not asked again


def test_the_same_meta_account_of_two_tenants_is_imported_for_each(world: World) -> None:
    world.graph.ad_accounts[BIA_ACCOUNT].tokens = {TOKEN, OTHER_TOKEN}  # an agency and its client
    assert world.add(BIA_ACCOUNT).status == 201
    assert world.add(BIA_ACCOUNT, OTHER_TOKEN, key=world.outra).status == 201
    assert world.run()["outcomes"] == {"ok": 2}
    bia, outra = world.spend("t_bia"), world.spend("t_outra")
    assert len(bia) == 12 and without_import_time(bia).keys() == without_import_time(outra).keys()
    assert all(item["tenant_id"] == "t_outra" for item in outra.values())


# -- Meta's answers are untrusted -----------------------------------------------------------------------

TODAY = datetime.now(ZoneInfo("America/Sao_Paulo")).date().isoformat()  # rows of a day the import asks for

ROW = {
    "ad_id": "20210000000", "ad_name": "A", "adset_id": "2021000090", "adset_name": "S", "campaign_id": "20210008",
    "campaign_name": "C", "spend": "10.00", "impressions": "100", "inline_link_clicks": "3",
    "date_start": TODAY, "date_stop": TODAY, "account_currency": "BRL",
}  # fmt: skip
ROW_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**20), st.floats(allow_nan=True), st.text(max_size=30),
    st.sampled_from(["1e3", "-1.00", "NaN", "0.005", "99999999999999999.99", "2026-02-30", "act_1", ""]),
    st.lists(st.integers(), max_size=2),
)  # fmt: skip
HOSTILE_ROWS = st.one_of(
    st.just(ROW),
    st.builds(lambda ad: {**ROW, "ad_id": ad}, st.from_regex(r"\A[0-9]{1,32}\Z")),
    st.dictionaries(st.sampled_from(sorted(ROW)), ROW_VALUES, max_size=8),
    st.builds(lambda key, value: {**ROW, key: value}, st.sampled_from(sorted(ROW)), ROW_VALUES),
    ROW_VALUES,
)
HOSTILE_PAGES = st.one_of(
    st.builds(lambda rows: {"data": rows}, st.lists(HOSTILE_ROWS, max_size=4)),
    st.builds(
        lambda rows, following: {"data": rows, "paging": {"next": following}},
        st.lists(HOSTILE_ROWS, max_size=2),
        st.sampled_from(["https://evil.example/v26.0/act_111222333/insights?after=x", "ftp://x", "", 7, None]),
    ),
    st.builds(
        lambda error: {"error": error},
        st.dictionaries(
            st.sampled_from(["code", "error_subcode", "is_transient", "message", "fbtrace_id"]), ROW_VALUES, max_size=4
        ),
    ),
)
ANSWERS = st.one_of(
    st.tuples(st.sampled_from([200, 400, 401, 403, 429, 500]), HOSTILE_BYTES),
    st.tuples(st.sampled_from([200, 400, 500]), HOSTILE_PAGES.map(lambda page: json.dumps(page).encode())),
    st.tuples(st.just(200), st.lists(HOSTILE_ROWS, max_size=4).map(lambda rows: json.dumps({"data": rows}).encode())),
)


@given(answer=ANSWERS)
@route(tests=1)
def test_hostile_answers_never_fail_the_run_and_store_only_valid_rows(
    world: World, logs: Records, answer: tuple[int, bytes]
) -> None:
    if world.saved is None:
        assert world.add(BIA_ACCOUNT).status == 201
        world.saved = world.account(BIA_ACCOUNT)
    world.table.put(world.saved)  # each example from the account as added
    for sk in world.spend():
        world.table.delete("SPEND#t_bia", sk)
    world.raw.append(answer)
    report = world.run()
    world.raw.clear()
    account = world.account(BIA_ACCOUNT)
    assert report["accounts"] == 1 and account["last_import"]["outcome"] in {
        "ok", "partial", "throttled", "error", "token_invalid"
    }  # fmt: skip
    window = set(world.days(BIA_ACCOUNT))
    event(f"{account['last_import']['outcome']}, {'rows stored' if world.spend() else 'nothing stored'}")
    for item in world.spend().values():
        assert item["day"] in window and isinstance(item["spend_cents"], int) and item["spend_cents"] >= 0
        assert item["ad_id"].isdigit() and item["tenant_id"] == "t_bia"
    logs.check((TOKEN,))


# -- the local stack: the CLI adds the demo's ad account, the schedule imports it -----------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from local.server import start_stack

    with start_stack(port=0, schedule_speed=None) as started:
        yield started


def test_the_local_stack_imports_the_demo_ad_account_added_with_the_cli(stack: Any, tmp_path: Path) -> None:
    from funil_cli.main import app
    from typer.testing import CliRunner

    from local.fakes.meta_graph import DEMO_AD_ACCOUNT_ID, DEMO_ADS

    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        seed = http.get("/_local/seed").json()
        env = {"FUNIL_CONFIG": str(tmp_path / "config.toml"), "FUNIL_API_URL": seed["api_url"]}
        env |= {"FUNIL_API_KEY": seed["api_key"], "FUNIL_LANG": "en", "FUNIL_DEBUG": None}
        runner = CliRunner()
        added = runner.invoke(
            app, ["--json", "ad-accounts", "add", f"act_{DEMO_AD_ACCOUNT_ID}", "--token", TOKEN], env=env
        )
        assert added.exit_code == 0, added.stderr
        assert json.loads(added.stdout)["name"] == "Loja Demo - anúncios"
        ran = http.post(f"/_local/schedules/{FUNCTION}")
        assert ran.status_code == 200 and ran.json()["result"]["outcomes"] == {"ok": 1}
        items = http.get("/_local/items", params={"prefix": "SPEND#"}).json()
        assert {item["ad_id"] for item in items} == {ad.ad_id for ad in DEMO_ADS}
        assert all(item["spend_cents"] == daily_spend_cents(item["ad_id"], item["day"]) for item in items)
        listed = runner.invoke(app, ["--json", "ad-accounts", "list"], env=env)
        assert listed.exit_code == 0, listed.stderr
        [shown] = json.loads(listed.stdout)["items"]
        assert shown["last_import"]["rows"] == len(items) and shown["status"] == "active"
        removed = runner.invoke(app, ["ad-accounts", "remove", f"act_{DEMO_AD_ACCOUNT_ID}"], env=env)
        assert removed.exit_code == 0, removed.stderr
        kept = http.get("/_local/items", params={"prefix": "SPEND#"}).json()
        assert sorted(item["sk"] for item in kept) == sorted(item["sk"] for item in items)  # the spend stays
