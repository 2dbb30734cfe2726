"""Unpaid PIX follow-ups (funil.bot.follow_ups): through the webhook, then timers.run_due with a fake clock.

The demo's ``grupo_vip`` reminds 10 minutes before its PIX expires and follows up 30 minutes after,
with its downsell ``grupo_vip_7d``; the fake Bot API records what the buyer got.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from funil import keys, timers
from funil.clock import parse_iso
from hypothesis import event, given
from hypothesis import strategies as st

from local.handlers import LambdaContext, handler_globals, load_handler
from local.template import load
from tests.conftest import load_event
from tests.integration import test_hostile_input as hostile
from tests.integration.test_hostile_input import Records, route
from tests.unit.bot.telegram_harness import GATEWAY_URL_SECRET, TgEnv

logs = hostile.logs  # the fixture: every log record of the test, checked with Records.check

MARIA, JOAO = 5550301, 5550302
TOKEN = "TokFollow0123456789abcde"


# -- the world's helpers (also used by the upsell and order bump tests) ------------------------------


def bought(tg: TgEnv, data: str = "b:grupo_vip", user_id: int = MARIA, token: str | None = TOKEN) -> dict[str, Any]:
    """A lead from an ad click taps a buy button; returns the payment it made."""
    if token:
        tg.click(token)
    tg.start(user_id, token)
    status, body = tg.callback(user_id, data)
    assert status == 200 and body["outcome"].endswith("_created"), body
    return newest(tg, user_id)


def newest(tg: TgEnv, user_id: int = MARIA) -> dict[str, Any]:
    return max(
        (payment for payment in tg.payments(user_id) if not payment.get("bundle_of")),
        key=lambda payment: str(payment["created_at"]),
    )


def run_timers(tg: TgEnv, at: datetime) -> dict[str, int]:
    """TimersFunction's work at ``at``: the follow-ups with the webhook's collaborators on that clock."""
    from funil.adapters.first_use import built
    from funil.bot import follow_ups

    deps = handler_globals(tg.handler)["DEPS"]
    clock: Callable[[], datetime] = lambda: at  # noqa: E731 - the fake clock
    at_deps = dataclasses.replace(deps, now=clock, payments=dataclasses.replace(built(deps.payments), now=clock))
    leases = iter(range(100_000))
    return timers.run_due(
        tg.table,
        {"follow_up": partial(follow_ups.handle, at_deps)},
        clock,
        budget_seconds=60,
        new_lease_id=lambda: f"lease{next(leases)}",
    )


def follow_up(tg: TgEnv, payment_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = tg.table.get(*keys.follow_up(payment_id), consistent=True)
    return item


def messages(tg: TgEnv, user_id: int = MARIA) -> list[dict[str, Any]]:
    return [call for call in tg.sent("sendMessage") if call["chat_id"] == user_id]


def buttons(call: dict[str, Any]) -> list[str]:
    rows = call.get("reply_markup", {}).get("inline_keyboard", [])
    return [button.get("callback_data") or "copy" for row in rows for button in row]


def gateway_webhook(tg: TgEnv) -> Callable[[dict[str, Any], str], dict[str, Any]]:
    """The gateway's signed webhook for a charge, through POST /pay/{gateway}/{secret} (the real handler)."""
    import httpx

    function = load().functions["GatewayWebhookFunction"]
    handler = load_handler(function, fresh=True)
    handler_globals(handler)["DEPS"].http = httpx.Client(transport=httpx.MockTransport(tg.sandbox.handle))

    def post(charge: dict[str, Any], event_type: str) -> dict[str, Any]:
        headers, body = tg.sandbox.signed_webhook(charge, event_type)
        event = load_event("gateway_webhook_post.json")
        event["pathParameters"] = {"gateway_id": "gw_demo", "secret": GATEWAY_URL_SECRET}
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/pay/gw_demo/{GATEWAY_URL_SECRET}"
        event["headers"] = {**{k: v for k, v in event["headers"].items() if k != "sandbox-signature"}, **headers}
        event["body"] = body.decode()
        answer = handler(event, LambdaContext(function, "test"))
        assert answer["statusCode"] == 200, answer
        return dict(json.loads(answer["body"]))

    return post


def expiry(payment: dict[str, Any]) -> datetime:
    return parse_iso(str(payment["charge_expires_at"]))


# -- scheduling ---------------------------------------------------------------------------------------


def test_a_new_pix_schedules_its_reminder_and_follow_up(tg: TgEnv) -> None:
    payment = bought(tg)
    item = follow_up(tg, payment["payment_id"])
    assert item is not None
    ends = expiry(payment)
    assert {name: parse_iso(at) for name, at in item["steps"].items()} == {
        "reminder": ends - timedelta(minutes=10),
        "expired": ends + timedelta(minutes=30),
    }
    assert item["timer"] == "follow_up" and item["gsi2pk"].startswith("DUE#")
    assert item["gsi2sk"] == keys.due_index(item["pk"], item["sk"], item["steps"]["reminder"])["gsi2sk"]
    assert "telegram_user_id" not in item and "bot_id" not in item  # the buyer is read from the payment
    # The same charge shown again schedules nothing new; an offer without follow-ups has none.
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "pix_reused"
    assert follow_up(tg, payment["payment_id"]) == item


def test_an_offer_without_follow_ups_has_none(tg: TgEnv) -> None:
    tg.table.update(
        f"BOT#{tg.bot_a}", "OFFER#grupo_vip", "REMOVE pix_reminder_minutes, pix_follow_up_minutes", {":x": 1},
        condition="attribute_exists(pk) OR :x = :x",
    )  # fmt: skip
    payment = bought(tg)
    assert follow_up(tg, payment["payment_id"]) is None


# -- the reminder, then the follow-up with the downsell ------------------------------------------


def test_reminder_then_expired_with_the_downsell(tg: TgEnv) -> None:
    payment = bought(tg)
    payment_id, ends = payment["payment_id"], expiry(payment)
    before = len(messages(tg))
    assert run_timers(tg, ends - timedelta(minutes=11)) == {}  # not yet due
    assert run_timers(tg, ends - timedelta(minutes=10)) == {"follow_up_rescheduled": 1}
    [reminder] = messages(tg)[before:]
    assert "expira em <b>10 minutos</b>" in reminder["text"] and "/parar" in reminder["text"]
    assert "Grupo VIP (30 dias)" in reminder["text"] and "R$ 19,90" in reminder["text"]
    rows = reminder["reply_markup"]["inline_keyboard"]
    assert rows[0][0]["copy_text"] == {"text": payment["brcode"]}
    assert rows[1][0]["callback_data"] == f"c:{payment_id}"
    assert run_timers(tg, ends) == {}  # nothing between the two steps

    # 30 minutes after expiry: the charge is re-read (still unpaid: the payment expires), then the message.
    assert run_timers(tg, ends + timedelta(minutes=30)) == {"follow_up_done": 1}
    assert tg.payment(payment_id)["status"] == "expired"
    [expired] = messages(tg)[before + 1 :]
    assert "expirou" in expired["text"] and "/parar" in expired["text"]
    assert "Grupo VIP (7 dias)" in expired["text"] and "R$ 9,90" in expired["text"]
    assert buttons(expired) == ["b:grupo_vip", "b:grupo_vip_7d"]
    item = follow_up(tg, payment_id)
    assert item is not None and set(item["sent"]) == {"reminder", "expired"} and "gsi2pk" not in item
    assert run_timers(tg, ends + timedelta(days=1)) == {}
    assert len(messages(tg)) == before + 2

    # The downsell's button is a checkout like any other (an unlisted offer, sold after another).
    assert tg.callback(MARIA, "b:grupo_vip_7d")[1]["outcome"] == "pix_created"
    assert newest(tg)["offer_id"] == "grupo_vip_7d" and newest(tg)["amount_cents"] == 990


def test_a_late_run_skips_the_stale_reminder(tg: TgEnv) -> None:
    payment = bought(tg)
    assert run_timers(tg, expiry(payment) + timedelta(hours=1)) == {"follow_up_done": 1}
    [sent] = [call for call in messages(tg) if "/parar" in call["text"]]
    assert "expirou" in sent["text"]
    item = follow_up(tg, payment["payment_id"])
    assert item is not None and set(item["sent"]) == {"expired"} and set(item["skipped"]) == {"reminder"}


def test_a_charge_the_gateway_expired_early_skips_the_reminder_only(tg: TgEnv) -> None:
    payment = bought(tg)
    tg.sandbox.expire(payment["payment_id"])
    assert run_timers(tg, expiry(payment) - timedelta(minutes=10)) == {"follow_up_rescheduled": 1}
    assert tg.payment(payment["payment_id"])["status"] == "expired"
    assert not any("/parar" in call["text"] for call in messages(tg))
    assert run_timers(tg, expiry(payment) + timedelta(minutes=30)) == {"follow_up_done": 1}
    assert "expirou" in messages(tg)[-1]["text"]
    item = follow_up(tg, payment["payment_id"])
    assert item is not None and item["skipped"] == {"reminder": "not_payable"} and set(item["sent"]) == {"expired"}


# -- what stops them ----------------------------------------------------------------------------------


def test_nothing_after_payment_even_before_the_webhook(tg: TgEnv) -> None:
    payment = bought(tg)
    before = len(messages(tg))
    tg.sandbox.pay(payment["payment_id"])  # paid at the bank; no webhook yet
    assert run_timers(tg, expiry(payment) - timedelta(minutes=10)) == {"follow_up_done": 1}
    assert tg.payment(payment["payment_id"])["status"] == "paid"  # confirmed by the follow-up's check
    assert messages(tg)[before:] == []
    item = follow_up(tg, payment["payment_id"])
    assert item is not None and item["stopped"] == "payment_paid" and "gsi2pk" not in item
    assert run_timers(tg, expiry(payment) + timedelta(hours=1)) == {}


def test_nothing_after_the_webhook_confirmed_it(tg: TgEnv) -> None:
    payment = bought(tg)
    charge = tg.sandbox.pay(payment["payment_id"])
    assert gateway_webhook(tg)(charge, "charge.paid")["results"] == ["confirmed"]
    before = len(messages(tg))
    assert run_timers(tg, expiry(payment) + timedelta(hours=1)) == {"follow_up_done": 1}
    assert messages(tg)[before:] == []


def test_parar_stops_them_and_voltar_brings_them_back(tg: TgEnv) -> None:
    payment = bought(tg)
    assert tg.post(tg.message(MARIA, "/parar"))[1]["outcome"] == "opted_out"
    opted_out_at = tg.lead(MARIA)["opted_out_at"]
    assert "/voltar" in messages(tg)[-1]["text"]
    tg.start(MARIA, None)  # a /start does not undo it
    assert tg.lead(MARIA)["opted_out_at"] == opted_out_at
    before = len(messages(tg))
    assert run_timers(tg, expiry(payment) - timedelta(minutes=10)) == {"follow_up_done": 1}
    assert messages(tg)[before:] == []
    assert follow_up(tg, payment["payment_id"])["stopped"] == "opted_out"  # type: ignore[index]

    assert tg.post(tg.message(MARIA, "/voltar"))[1]["outcome"] == "opted_in"
    assert "opted_out_at" not in tg.lead(MARIA)
    second = bought(tg, "b:curso", token=None)
    assert run_timers(tg, expiry(second) - timedelta(minutes=10)) == {"follow_up_rescheduled": 1}
    assert "expira em" in messages(tg)[-1]["text"]


def test_parar_from_someone_never_seen_makes_an_organic_lead_opted_out(tg: TgEnv) -> None:
    assert tg.post(tg.message(JOAO, "/parar"))[1]["outcome"] == "opted_out"
    lead = tg.lead(JOAO)
    assert lead is not None and lead["opted_out_at"] and lead["attributed"] is False


def test_a_blocked_bot_stops_them_and_marks_the_lead(tg: TgEnv) -> None:
    payment = bought(tg)
    tg.fake.block(MARIA, bot=tg.bot_a, times=None)
    assert run_timers(tg, expiry(payment) - timedelta(minutes=10)) == {"follow_up_done": 1}
    lead = tg.lead(MARIA)
    assert lead is not None and lead["reachable"] is False
    item = follow_up(tg, payment["payment_id"])
    assert item is not None and item["stopped"] == "unreachable" and "gsi2pk" not in item
    assert run_timers(tg, expiry(payment) + timedelta(hours=1)) == {}
    assert tg.table.get(f"BOT#{tg.bot_a}", "BOT")["health"]["status"] == "healthy"


def test_a_revoked_token_stops_them_and_marks_the_bot(tg: TgEnv) -> None:
    payment = bought(tg)
    tg.fake.revoke_token(str(tg.bot(0)["token"]))
    assert run_timers(tg, expiry(payment) - timedelta(minutes=10)) == {"follow_up_done": 1}
    assert follow_up(tg, payment["payment_id"])["stopped"] == "bot_token_invalid"  # type: ignore[index]
    assert tg.table.get(f"BOT#{tg.bot_a}", "BOT")["health"]["status"] == "token_invalid"


def test_a_newer_charge_for_the_offer_stops_the_old_ones(tg: TgEnv) -> None:
    first = bought(tg)
    tg.table.update(f"PAYMENT#{first['payment_id']}", "PAYMENT", "SET charge_expires_at = :t",
                    {":t": "2020-01-01T00:00:00.000Z"})  # fmt: skip
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "pix_created"
    second = newest(tg)
    assert second["payment_id"] != first["payment_id"]
    at = expiry(second) - timedelta(minutes=10)
    assert run_timers(tg, at) == {"follow_up_done": 1, "follow_up_rescheduled": 1}
    assert follow_up(tg, first["payment_id"])["stopped"] == "newer_charge"  # type: ignore[index]
    assert [call["reply_markup"]["inline_keyboard"][1][0]["callback_data"] for call in messages(tg)
            if "expira em" in call["text"]] == [f"c:{second['payment_id']}"]  # fmt: skip


def test_telegram_busy_retries_the_step_after_the_lease(tg: TgEnv) -> None:
    payment = bought(tg)
    at = expiry(payment) - timedelta(minutes=10)
    tg.fake.rate_limit(3, bot=tg.bot_a, method="sendMessage")
    assert run_timers(tg, at) == {"failed": 1}
    item = follow_up(tg, payment["payment_id"])
    assert item is not None and item["sent"] == {}  # unmarked: the retry sends it
    assert run_timers(tg, at + timers.LEASE) == {"follow_up_rescheduled": 1}
    assert len([call for call in messages(tg) if "expira em" in call["text"]]) == 1


# -- "Não, obrigado": the downsell --------------------------------------------------------------------


def test_no_thanks_under_the_pix_shows_the_downsell(tg: TgEnv) -> None:
    bought(tg)
    [photo] = tg.sent("sendPhoto")
    assert buttons(photo)[-1] == "n:grupo_vip"
    before = len(messages(tg))
    assert tg.callback(MARIA, "n:grupo_vip")[1]["outcome"] == "declined_downsell_shown"
    [shown] = messages(tg)[before:]
    assert "Grupo VIP (7 dias)" in shown["text"] and "R$ 9,90" in shown["text"]
    assert buttons(shown) == ["b:grupo_vip_7d"]
    assert all(len(data.encode()) <= 64 for data in buttons(photo) + buttons(shown))


def test_an_offer_without_a_downsell_has_no_no_thanks(tg: TgEnv) -> None:
    bought(tg, "b:curso")
    [photo] = tg.sent("sendPhoto")
    assert not any(data.startswith("n:") for data in buttons(photo))
    assert tg.callback(MARIA, "n:curso")[1]["outcome"] == "declined"
    assert tg.callback(MARIA, "n:nope")[1]["outcome"] == "callback_unknown"


# -- hostile callback data ------------------------------------------------------------------------------

ACTIONS = ("b", "s", "c", "n", "bb", "bn", "", "x", "b:b", "bb:")
OFFERS = ("grupo_vip", "curso", "grupo_vip_7d", "mentoria", "checklist", "nope", "", "../x", "a" * 41, "0" * 32)
CALLBACK_DATA = st.one_of(
    st.builds(lambda action, offer: f"{action}:{offer}", st.sampled_from(ACTIONS), st.sampled_from(OFFERS)),
    st.builds(lambda action, rest: f"{action}:{rest}", st.sampled_from(ACTIONS), st.text(max_size=80)),
    st.text(max_size=80),
)


@given(data=CALLBACK_DATA)
@route(tests=1)
def test_any_callback_data_is_answered_never_5xx(tg: TgEnv, logs: Records, data: str) -> None:
    status, body = tg.callback(JOAO, data)
    event(f"outcome {body.get('outcome')}")
    assert status == 200, (data, body)
    assert "Traceback" not in json.dumps(body)
    logs.check()
