"""The seller's notifications through the real handlers on moto, the Bot API being the fake over HTTP.

Admin chats are registered by ``/admin <code>`` (TelegramWebhookFunction, real-shaped updates) with a
code from the operator's API (AdminApiFunction); notices come as SQS events to NotificationsFunction
(copies of Purchase and Refund messages, alert notices); reports come from TimersFunction, their
numbers from counters written by AnalyticsStreamFunction (``events/dynamodb_stream_funnel.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from funil.clock import iso, utc_now
from funil.operator.api_keys import create_key
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import given
from hypothesis import strategies as st

from local import aws
from local.fakes.telegram_api import FakeTelegramApi, RunningFake, TelegramFault
from local.handlers import LambdaContext, handler_globals, load_handler
from local.template import load
from tests.admin_api import Answer, caller, cli_through_handler, table_state
from tests.conftest import load_event, modules_after_import
from tests.integration import test_hostile_input as hostile
from tests.integration.test_hostile_input import Records, route
from tests.unit.bot.telegram_harness import TgEnv, make_env

logs = hostile.logs  # the fixture: every log record of the test, checked with Records.check

ADMIN, OTHER_ADMIN, STRANGER = 7770101, 7770102, 7770103  # Telegram users (a private chat's id is its user's)
PAYMENT = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PUBLIC = "https://funil.example.com"


@dataclass
class World:
    tg: TgEnv
    api: Callable[..., Answer]
    invoke: Callable[..., Any]
    key: str
    _notifier: Any = None

    def code(self, key: str | None = None) -> str:
        answer = self.api("POST", "/api/v1/notifications/codes", key=key or self.key)
        assert answer.status == 201, answer.body
        assert answer.body["command"] == f"/admin {answer.body['code']}"
        return str(answer.body["code"])

    def say(self, user_id: int, text: str, bot_id: str | None = None) -> tuple[int, dict[str, Any]]:
        return self.tg.post(self.tg.message(user_id, text), bot_id)

    def register(self, user_id: int = ADMIN, bot_id: str | None = None) -> str:
        status, body = self.say(user_id, f"/admin {self.code()}", bot_id)
        assert (status, body["outcome"]) == (200, "admin_chat_registered"), body
        return self.last_text(user_id, bot_id)

    def to_chat(self, chat_id: int, bot_id: str | None = None) -> list[str]:
        return [str(m["text"]) for m in self.tg.sent("sendMessage", bot_id) if str(m["chat_id"]) == str(chat_id)]

    def last_text(self, chat_id: int, bot_id: str | None = None) -> str:
        return self.to_chat(chat_id, bot_id)[-1]

    def chats(self, key: str | None = None) -> list[dict[str, Any]]:
        answer = self.api("GET", "/api/v1/notifications/chats", key=key or self.key)
        assert answer.status == 200
        return list(answer.body["items"])

    def notifier(self) -> Any:
        """NotificationsFunction's handler (one container for the test)."""
        if self._notifier is None:
            self._notifier = load_handler(load().functions["NotificationsFunction"], fresh=True)
        return self._notifier

    def notify(self, *bodies: str) -> dict[str, Any]:
        function = load().functions["NotificationsFunction"]
        result: dict[str, Any] = self.notifier()(sqs_event(*bodies), LambdaContext(function, "notify"))
        return result

    def put_payment(self, payment_id: str = PAYMENT, **fields: Any) -> dict[str, Any]:
        paid = datetime.now(UTC) - timedelta(minutes=5)
        item = {
            "pk": f"PAYMENT#{payment_id}", "sk": "PAYMENT", "type": "payment", "payment_id": payment_id,
            "tenant_id": self.tg.tenant, "bot_id": self.tg.bot_a, "telegram_user_id": 5550001,
            "offer_id": "vip", "offer_name": "Grupo VIP <Ouro>", "amount_cents": 4990, "currency": "BRL",
            "method": "pix", "gateway_id": "gw_demo", "status": "paid", "created_at": iso(paid - timedelta(minutes=1)),
            "paid_at": iso(paid), "confirmed_at": iso(paid),
            "attribution": {
                "clicked_at": iso(paid - timedelta(hours=2, minutes=5)), "link_slug": "demo",
                "ad": {"campaign_name": "Black Friday", "adset_name": "Lookalike 1%", "ad_name": "Video 3"},
            },
            **fields,
        }  # fmt: skip
        self.tg.table.put(item)
        return item


def sqs_event(*bodies: str) -> dict[str, Any]:
    """Lambda's SQS event of NotificationsQueue (events/sqs_conversions.json's shape)."""
    template = load_event("sqs_conversions.json")["Records"][1]
    records = []
    for index, body in enumerate(bodies):
        record = json.loads(json.dumps(template))
        record["messageId"] = f"n{index}-{abs(hash(body)) % 10**8}"
        record["receiptHandle"] = f"rh{index}"
        record["body"] = body
        record["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:NotificationsQueue"
        kind = json.loads(body).get("kind") if body.startswith("{") else None
        record["messageAttributes"]["kind"]["stringValue"] = str(kind or "alert")
        records.append(record)
    return {"Records": records}


def purchase(payment_id: str = PAYMENT, tenant_id: str = "t_demo") -> str:
    return json.dumps(
        {
            "version": 1, "kind": "Purchase", "event_id": f"purchase_{payment_id}", "tenant_id": tenant_id,
            "pixel_id": "px_demo", "occurred_at": "2026-11-22T18:00:00Z", "refs": {"payment_id": payment_id},
        }
    )  # fmt: skip


def refund(step: int = 0, payment_id: str = PAYMENT) -> str:
    event_id = f"refund_{payment_id}" + (f"_{step + 1}" if step else "")
    refs: dict[str, Any] = {"payment_id": payment_id, **({"refund_step": step} if step else {})}
    return json.dumps(
        {
            "version": 1, "kind": "Refund", "event_id": event_id, "tenant_id": "t_demo", "pixel_id": "px_demo",
            "occurred_at": "2026-11-22T19:00:00Z", "refs": refs,
        }
    )  # fmt: skip


def alert(state: str, tenant_id: str = "t_demo") -> str:
    return json.dumps(
        {
            "version": 1, "type": "alert", "tenant_id": tenant_id, "incident_id": "gw_demo-failing-1",
            "kind": "gateway_failing", "state": state, "subject": "gw_demo", "detail": "3 falhas seguidas",
            "occurred_at": "2026-11-22T18:00:00Z",
        }
    )  # fmt: skip


@pytest.fixture
def world(
    aws_env: aws.Resources,
    table: Any,
    invoke: Callable[..., Any],
    telegram_api: FakeTelegramApi,
    telegram_server: RunningFake,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram_server.base_url)
    tg = make_env(aws_env, table, telegram_api, telegram_server.base_url)
    key = create_key(table, tg.tenant, "notifications", utc_now).key
    return World(tg, caller(invoke), invoke, key)


def other_tenant_key(world: World) -> str:
    return create_tenant(world.tg.table, TenantCreate(id="t_other", name="Outro"), utc_now)[1].key


def chat_items(world: World) -> list[dict[str, Any]]:
    """The codes and admin chats as stored (moto's own store), in a stable order."""
    found = [json.loads(item) for item in sorted(table_state(world.tg.resources))]
    return [item for item in found if item["pk"]["S"].startswith(("NOTIFY#", "NOTIFYCODE#"))]


# -- registration ----------------------------------------------------------------------------------


def test_a_code_registers_the_private_chat_with_the_default_kinds(world: World) -> None:
    answer = world.register(ADMIN)

    from local.seed import DEMO_TENANT_NAME

    assert "Pronto" in answer and DEMO_TENANT_NAME in answer
    [chat] = world.chats()
    assert chat["chat_id"] == ADMIN and chat["bot_id"] == world.tg.bot_a and chat["status"] == "active"
    assert chat["kinds"] == {"sale": True, "refund": True, "daily": True, "weekly": False, "alerts": True}
    assert chat["report_hour"] == 8
    stored = world.tg.table.get("NOTIFY#t_demo", f"CHAT#{ADMIN}", consistent=True)
    assert stored["timer"] == "notify_report" and stored["gsi2pk"].startswith("DUE#")  # its first report is due


def test_a_code_registers_one_chat_once(world: World) -> None:
    code = world.code()
    assert world.say(ADMIN, f"/admin {code}")[1]["outcome"] == "admin_chat_registered"
    before = chat_items(world)

    status, body = world.say(OTHER_ADMIN, f"/admin {code}")

    assert (status, body["outcome"]) == (200, "admin_code_refused")
    assert "Código inválido" in world.last_text(OTHER_ADMIN)
    assert chat_items(world) == before
    assert [chat["chat_id"] for chat in world.chats()] == [ADMIN]


def test_a_code_typed_by_hand_in_lowercase_with_a_dash_works(world: World) -> None:
    code = world.code()
    status, body = world.say(ADMIN, f"/admin {code[:5].lower()}-{code[5:].lower()}")
    assert (status, body["outcome"]) == (200, "admin_chat_registered")


def test_an_expired_code_is_refused_and_changes_nothing(world: World) -> None:
    from funil.notifications.registration import create_code

    code = create_code(world.tg.table, "t_demo", utc_now() - timedelta(minutes=16), key_id=None)["code"]
    before = chat_items(world)

    assert world.say(ADMIN, f"/admin {code}")[1]["outcome"] == "admin_code_refused"
    assert chat_items(world) == before


def test_another_tenants_code_is_refused_and_not_spent(world: World) -> None:
    other_key = other_tenant_key(world)
    code = world.code(other_key)
    before = chat_items(world)

    assert world.say(ADMIN, f"/admin {code}")[1]["outcome"] == "admin_code_refused"
    assert chat_items(world) == before  # the code still works for its own tenant's bots
    assert world.chats() == [] and world.chats(other_key) == []


@given(text=st.text(max_size=80))
@route(1)
def test_any_admin_text_without_a_valid_code_is_answered_and_changes_nothing(
    world: World, logs: Records, text: str
) -> None:
    world.code()  # a live code exists: it must not be guessed into
    before = chat_items(world)
    status, body = world.say(STRANGER, f"/admin {text}")
    assert status == 200
    assert body["outcome"] in ("admin_code_refused", "menu", "malformed", "ignored")
    assert chat_items(world) == before
    logs.check()


# -- the operator's settings -------------------------------------------------------------------------


def test_kinds_and_report_hour_are_set_and_the_chat_removed(world: World) -> None:
    world.register(ADMIN)
    path = f"/api/v1/notifications/chats/{ADMIN}"

    answer = world.api("PATCH", path, {"kinds": {"weekly": True, "sale": False}, "report_hour": 21}, key=world.key)

    assert answer.status == 200, answer.body
    assert answer.body["kinds"] == {"sale": False, "refund": True, "daily": True, "weekly": True, "alerts": True}
    assert answer.body["report_hour"] == 21
    due = world.tg.table.get("NOTIFY#t_demo", f"CHAT#{ADMIN}", consistent=True)["gsi2sk"]
    assert datetime.fromisoformat(due.split("#")[0].replace("Z", "+00:00")).hour == 0  # 21h Brasília = 00h UTC
    assert world.api("DELETE", path, key=world.key).status == 200
    assert world.chats() == []
    assert world.api("DELETE", path, key=world.key).status == 404


chat_changes = st.one_of(
    st.dictionaries(
        st.sampled_from(["kinds", "report_hour", "other"]), st.none() | st.integers() | st.text(max_size=5)
    ),
    st.fixed_dictionaries(
        {"kinds": st.dictionaries(st.text(max_size=8), st.none() | st.booleans() | st.integers() | st.text(max_size=3))}
    ),
    st.fixed_dictionaries({"report_hour": st.integers(-5, 30) | st.floats(allow_nan=True) | st.booleans()}),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
)


@given(body=chat_changes, chat=st.sampled_from([str(ADMIN), "0", "-1", "abc", str(2**60), "1e3"]))
@route(1)
def test_operator_input_to_a_chat_is_checked_before_anything_changes(
    world: World, logs: Records, body: Any, chat: str
) -> None:
    if not world.chats():
        world.register(ADMIN)
    before = table_state(world.tg.resources)
    answer = world.api("PATCH", f"/api/v1/notifications/chats/{chat}", body, key=world.key)
    assert answer.status in (200, 400, 404, 422), answer.body
    if answer.status != 200:
        assert table_state(world.tg.resources) == before
    logs.check()


def test_another_tenants_key_sees_and_changes_none_of_the_chats(world: World) -> None:
    world.register(ADMIN)
    other_key = other_tenant_key(world)
    path = f"/api/v1/notifications/chats/{ADMIN}"

    assert world.chats(other_key) == []
    assert world.api("PATCH", path, {"report_hour": 3}, key=other_key).status == 404
    assert world.api("DELETE", path, key=other_key).status == 404
    assert world.chats()[0]["report_hour"] == 8


# -- notices -----------------------------------------------------------------------------------------


def test_a_sale_is_told_once_with_its_offer_amount_gateway_ad_and_time_to_sale(world: World) -> None:
    world.register(ADMIN)
    world.put_payment()

    first = world.notify(purchase(), purchase())  # the same message twice in one batch
    again = world.notify(purchase())  # and redelivered

    assert first == {"batchItemFailures": []} and again == {"batchItemFailures": []}
    [text] = [t for t in world.to_chat(ADMIN) if "Nova venda" in t]
    assert "Grupo VIP &lt;Ouro&gt;" in text and "R$ 49,90" in text and "Pagamento: PIX · " in text
    assert "Campanha: Black Friday" in text and "Conjunto: Lookalike 1%" in text and "Anúncio: Video 3" in text
    assert "Do clique à venda: 2 h 05 min" in text


def test_each_refund_step_is_told_once_with_its_part(world: World) -> None:
    world.register(ADMIN)
    refunded = iso(datetime.now(UTC))
    world.put_payment(
        status="refunded",
        refunds=[{"total_cents": 1000, "at": refunded}, {"at": refunded}],
        refunded_at=refunded,
        refund_reason="refund",
    )

    world.notify(refund(0), refund(1), refund(0))
    world.notify(refund(1))

    texts = [t for t in world.to_chat(ADMIN) if "Reembolso" in t]
    assert len(texts) == 2
    assert "Reembolso parcial" in texts[0] and "R$ 10,00" in texts[0]
    assert "Reembolso total</b> (#2)" in texts[1] and "R$ 39,90" in texts[1]


def test_an_alert_is_told_when_it_opens_and_when_it_resolves_once_each(world: World) -> None:
    world.register(ADMIN)

    world.notify(alert("open"), alert("open"))
    world.notify(alert("resolved"), alert("open"))

    texts = [t for t in world.to_chat(ADMIN) if "gw_demo" in t]
    assert len(texts) == 2
    assert texts[0].startswith("🚨") and "Gateway de pagamento falhando" in texts[0] and "3 falhas" in texts[0]
    assert texts[1].startswith("✅ <b>Resolvido</b>")


def test_a_kind_turned_off_is_not_told_and_the_others_still_are(world: World) -> None:
    world.register(ADMIN)
    world.register(OTHER_ADMIN)
    off = world.api("PATCH", f"/api/v1/notifications/chats/{ADMIN}", {"kinds": {"sale": False}}, key=world.key)
    assert off.status == 200
    world.put_payment()

    world.notify(purchase(), alert("open"))

    assert not [t for t in world.to_chat(ADMIN) if "Nova venda" in t]
    assert [t for t in world.to_chat(ADMIN) if "Alerta" in t]
    assert len([t for t in world.to_chat(OTHER_ADMIN) if "Nova venda" in t]) == 1


def test_notices_reach_only_the_tenants_own_chats(world: World) -> None:
    world.register(ADMIN)
    world.put_payment()
    world.put_payment("a" * 32, tenant_id="t_other")

    # another tenant's alert; a message naming another tenant for our payment; our message for theirs
    world.notify(alert("open", tenant_id="t_other"), purchase(tenant_id="t_other"), purchase("a" * 32))

    assert [t for t in world.to_chat(ADMIN) if "Pronto" not in t] == []


def test_a_chat_that_blocked_the_bot_is_marked_and_skipped(world: World) -> None:
    world.register(ADMIN)
    world.put_payment()
    world.tg.fake.block(ADMIN)

    world.notify(purchase())
    [chat] = world.chats()
    world.tg.fake.clear()
    world.notify(alert("open"))

    assert chat["status"] == "blocked" and chat["blocked_at"]
    assert world.to_chat(ADMIN) == []  # nothing tried after the 403


def test_a_429_puts_the_message_back_after_retry_after_and_sends_once(world: World) -> None:
    world.register(ADMIN)
    world.register(OTHER_ADMIN)
    world.put_payment()
    world.tg.fake.rate_limit(7, chat_id=OTHER_ADMIN, method="sendMessage", times=1)
    delayed: list[tuple[str, int]] = []
    module = handler_globals(world.notifier())
    module["QUEUE"].delay = lambda receipt, seconds: delayed.append((receipt, seconds))

    failed = world.notify(purchase())
    retried = world.notify(purchase())

    assert failed == {"batchItemFailures": [{"itemIdentifier": sqs_event(purchase())["Records"][0]["messageId"]}]}
    assert delayed == [("rh0", 7)]
    assert retried == {"batchItemFailures": []}
    assert len([t for t in world.to_chat(ADMIN) if "Nova venda" in t]) == 1
    assert len([t for t in world.to_chat(OTHER_ADMIN) if "Nova venda" in t]) == 1


def test_an_unreadable_message_is_dropped_not_retried(world: World, logs: Records) -> None:
    world.register(ADMIN)
    before = len(world.to_chat(ADMIN))
    assert world.notify("not json", json.dumps({"kind": "Lead"}), json.dumps([1])) == {"batchItemFailures": []}
    assert len(world.to_chat(ADMIN)) == before
    logs.check()


# -- reports -----------------------------------------------------------------------------------------


def test_a_notice_not_sent_because_aws_failed_before_telegram_is_sent_on_the_retry(world: World) -> None:
    world.register(ADMIN)
    world.put_payment()
    deps = handler_globals(world.notifier())["DEPS"]
    load_bot = deps.bot

    def throttled(bot_id: str) -> Any:
        raise RuntimeError("ProvisionedThroughputExceededException")

    deps.bot = throttled
    failed = world.notify(purchase())
    deps.bot = load_bot
    retried = world.notify(purchase())

    assert failed["batchItemFailures"] and retried == {"batchItemFailures": []}
    assert len([t for t in world.to_chat(ADMIN) if "Nova venda" in t]) == 1


STREAM = load_event("dynamodb_stream_funnel.json")


def counted_day() -> date:
    from funil.analytics.facts import business_day

    seconds = STREAM["Records"][0]["dynamodb"]["ApproximateCreationDateTime"]
    return date.fromisoformat(business_day(datetime.fromtimestamp(seconds, UTC)))


def run_timers_at(world: World, now: datetime) -> dict[str, Any]:
    """TimersFunction with its clock at ``now``, every admin chat due by then."""
    from funil import timers

    for chat in world.chats():
        timers.schedule(world.tg.table, ("NOTIFY#t_demo", f"CHAT#{chat['chat_id']}"), "notify_report", now)
    function = load().functions["TimersFunction"]
    handler = load_handler(function, fresh=True)
    handler_globals(handler)["DEPS"].now = lambda: now
    result: dict[str, Any] = handler(load_event("timers_schedule.json"), LambdaContext(function, "timers"))
    return result


def brasilia_noon(day: date) -> datetime:
    return datetime.combine(day, time(15, 0), UTC)  # 12:00 in Brasília (UTC-3)


def test_the_daily_report_shows_yesterdays_counters_as_the_dashboard_reads_them(world: World) -> None:
    from funil.analytics.stats import StatsQuery, read_stats

    assert world.invoke("AnalyticsStreamFunction", {"Records": STREAM["Records"]}) == {}
    day = counted_day()
    world.register(ADMIN)
    world.register(OTHER_ADMIN)
    world.api("PATCH", f"/api/v1/notifications/chats/{OTHER_ADMIN}", {"kinds": {"daily": False}}, key=world.key)
    now = brasilia_noon(day + timedelta(days=1))

    result = run_timers_at(world, now)
    run_timers_at(world, now)  # a run that repeats sends nothing twice

    assert result["counts"] == {"notify_report_rescheduled": 2}
    [report] = [t for t in world.to_chat(ADMIN) if "Relatório do dia" in t]
    totals = read_stats(world.tg.table, "t_demo", StatsQuery(start=day, end=day)).totals
    assert totals.sales == 1  # the example's sale (then refunded)
    for label, value in (
        ("Cliques", totals.clicks), ("Leads", totals.leads), ("Checkouts", totals.checkouts), ("Vendas", totals.sales)
    ):  # fmt: skip
        assert f"{label}: {value}\n" in report
    from funil.bot.texts import brl

    assert f"Receita: <b>{brl(totals.revenue_cents)}</b>" in report
    assert "Investimento: —" in report and "ROAS: —" in report  # no ad account: spend unknown, not zero
    assert f"({day:%d/%m})" in report
    assert not [t for t in world.to_chat(OTHER_ADMIN) if "Relatório" in t]
    chat = world.tg.table.get("NOTIFY#t_demo", f"CHAT#{ADMIN}", consistent=True)
    assert chat["gsi2sk"].startswith(iso(now + timedelta(hours=20)))  # next 8h Brasília: 11:00 UTC tomorrow


def test_a_blocked_chat_has_no_report_timer_until_it_registers_again(world: World) -> None:
    world.register(ADMIN)
    world.put_payment()
    world.tg.fake.block(ADMIN)
    world.notify(purchase())  # the 403 marks the chat blocked
    world.tg.fake.clear()
    now = brasilia_noon(counted_day() + timedelta(days=1))

    run_timers_at(world, now)

    chat = world.tg.table.get("NOTIFY#t_demo", f"CHAT#{ADMIN}", consistent=True)
    assert chat["status"] == "blocked" and "gsi2pk" not in chat  # no longer due
    assert world.to_chat(ADMIN) == []  # no report tried
    assert world.say(ADMIN, f"/admin {world.code()}")[1]["outcome"] == "admin_chat_moved"  # registered again
    chat = world.tg.table.get("NOTIFY#t_demo", f"CHAT#{ADMIN}", consistent=True)
    assert chat["status"] == "active" and chat["gsi2pk"].startswith("DUE#")


def test_a_report_telegram_could_not_take_is_tried_again_later_that_day_not_given_up(world: World) -> None:
    assert world.invoke("AnalyticsStreamFunction", {"Records": STREAM["Records"]}) == {}
    day = counted_day()
    world.register(ADMIN)
    now = brasilia_noon(day + timedelta(days=1))
    world.tg.fake.fail(TelegramFault(502, "Bad Gateway", method="sendMessage", times=None))
    for attempt in range(6):  # more failures than the timers allow a failing handler
        run_timers_at(world, now + attempt * timedelta(minutes=15))
    chat = world.tg.table.get("NOTIFY#t_demo", f"CHAT#{ADMIN}", consistent=True)
    assert "timer_failed" not in chat and chat["gsi2sk"].startswith(iso(now + 6 * timedelta(minutes=15)))
    assert not [t for t in world.to_chat(ADMIN) if "Relatório do dia" in t]

    world.tg.fake.faults.clear()
    run_timers_at(world, now + 6 * timedelta(minutes=15))
    run_timers_at(world, now + 7 * timedelta(minutes=15))
    assert len([t for t in world.to_chat(ADMIN) if "Relatório do dia" in t]) == 1


def test_the_daily_report_shows_the_imported_spend_and_roas_and_the_top_campaigns(world: World) -> None:
    from funil import keys
    from funil.analytics.stats import StatsQuery, read_stats
    from funil.bot.texts import brl
    from funil.notifications.texts import roas

    assert world.invoke("AnalyticsStreamFunction", {"Records": STREAM["Records"]}) == {}
    day = counted_day()
    pk, sk = keys.spend("t_demo", day.isoformat(), "120200000000003")
    world.tg.table.put(
        {"pk": pk, "sk": sk, "type": "spend", "tenant_id": "t_demo", "day": day.isoformat(), "account_id": "1001",
         "campaign_id": "120200000000001", "campaign_name": "Black Friday", "ad_id": "120200000000003",
         "spend_cents": 2500, "impressions": 900, "clicks": 30, "currency": "BRL", "imported_at": iso(utc_now())}
    )  # fmt: skip
    world.register(ADMIN)

    run_timers_at(world, brasilia_noon(day + timedelta(days=1)))

    [report] = [t for t in world.to_chat(ADMIN) if "Relatório do dia" in t]
    answer = read_stats(world.tg.table, "t_demo", StatsQuery(start=day, end=day, by="campaign"))
    assert answer.totals.spend_cents == 2500
    assert f"Investimento: {brl(2500)}" in report and f"ROAS: {roas(answer.totals.roas)}" in report
    top = [row for row in answer.rows if row.sales]
    assert top and f"1. {top[0].key or '(sem campanha)'}: {top[0].sales} vendas" in report


def test_the_weekly_summary_comes_on_mondays_to_the_chats_that_want_it(world: World) -> None:
    assert world.invoke("AnalyticsStreamFunction", {"Records": STREAM["Records"]}) == {}
    day = counted_day()
    world.register(ADMIN)
    world.api("PATCH", f"/api/v1/notifications/chats/{ADMIN}", {"kinds": {"weekly": True}}, key=world.key)
    monday = day + timedelta(days=7 - day.weekday())

    run_timers_at(world, brasilia_noon(monday - timedelta(days=1)))  # Sunday: the daily report only
    run_timers_at(world, brasilia_noon(monday))

    [weekly] = [t for t in world.to_chat(ADMIN) if "Resumo da semana" in t]
    assert f"({monday - timedelta(days=7):%d/%m} a {monday - timedelta(days=1):%d/%m})" in weekly
    assert "Vendas: 1\n" in weekly
    assert len([t for t in world.to_chat(ADMIN) if "Relatório do dia" in t]) == 2


def test_the_timers_know_the_report_kind(aws_env: aws.Resources) -> None:
    handler = load_handler(load().functions["TimersFunction"], fresh=True)
    assert "notify_report" in handler_globals(handler)["HANDLERS"]


def test_a_removed_chat_ends_its_timer(world: World) -> None:
    world.register(ADMIN)
    from funil import timers

    key = ("NOTIFY#t_demo", f"CHAT#{ADMIN}")
    timers.schedule(world.tg.table, key, "notify_report", utc_now() - timedelta(minutes=1))
    assert world.api("DELETE", f"/api/v1/notifications/chats/{ADMIN}", key=world.key).status == 200
    assert world.tg.table.get(*key, consistent=True) is None
    assert run_timers_at(world, utc_now())["counts"] == {}


# -- the CLI -----------------------------------------------------------------------------------------


@pytest.fixture
def funil(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Callable[..., Any]:
    """``funil("notifications", …)``: the CLI in-process, its HTTP answered by the AdminApiFunction handler."""
    return cli_through_handler(world.invoke, world.key, monkeypatch, tmp_path)


def test_the_cli_makes_a_code_lists_sets_and_removes_chats(world: World, funil: Callable[..., Any]) -> None:
    made = funil("--json", "notifications", "code")
    assert made.exit_code == 0, made.stderr
    code = json.loads(made.stdout)["code"]
    assert f"/admin {code}" in made.stderr
    assert world.say(ADMIN, f"/admin {code}")[1]["outcome"] == "admin_chat_registered"

    listed = funil("--json", "notifications", "chats")
    assert [chat["chat_id"] for chat in json.loads(listed.stdout)["items"]] == [ADMIN]
    changed = funil("--json", "notifications", "set", str(ADMIN), "--on", "weekly", "--off", "sale", "--hour", "7")
    assert changed.exit_code == 0, changed.stderr
    assert json.loads(changed.stdout)["kinds"]["weekly"] is True and json.loads(changed.stdout)["report_hour"] == 7
    before = table_state(world.tg.resources)
    for wrong in (("--on", "everything"), ("--hour", "24"), ()):
        refused = funil("notifications", "set", str(ADMIN), *wrong)
        assert refused.exit_code != 0
    assert table_state(world.tg.resources) == before
    assert funil("notifications", "remove", str(ADMIN)).exit_code == 0
    assert world.chats() == []


def test_the_telegram_webhook_loads_without_the_notifications_code(aws_env: aws.Resources) -> None:
    """The webhook's cold start stays as it was: ``funil.notifications`` is imported on ``/admin`` only."""
    assert modules_after_import(aws_env, "TelegramWebhookFunction", "funil.notifications") == []
