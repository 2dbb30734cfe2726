"""Access that expires and renews (funil.access): the delivery grants it, the timers remind and remove.

The real handlers on moto: the delivery queue's consumer (functions/delivery) with SQS events, the
timers (``funil.timers.run_due`` with TimersFunction's own handlers and a fake clock, and the
function itself with a scheduled event), the Telegram webhook for a renewal bought in the chat. The
fake Bot API, over HTTP, records and checks every call against the spec.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from funil import keys, timers
from funil.access.models import brasilia_date
from funil.clock import iso, parse_iso

from local.handlers import LambdaContext, handler_globals, load_handler
from local.seed import DEMO_VIP_CHAT
from local.template import load
from tests.conftest import load_event
from tests.unit.bot.telegram_harness import TgEnv

OFFER = "grupo_vip"  # the demo's "Grupo VIP (30 dias)": access_days 30, reminders 3 and 1 days before
BUYER = 5551001
DAY = timedelta(days=1)


@dataclass
class Access:
    """The webhook's world (``tg``) plus the delivery consumer and the timers, loaded fresh."""

    tg: TgEnv
    delivery: Any
    timers_handler: Any
    start: datetime  # when the buyer first paid
    since: int = 0  # the Bot API calls before the test's own (the leads' /start)

    @property
    def table(self) -> Any:
        return self.tg.table

    def pay(self, paid_at: datetime, buyer: int = BUYER, offer: str = OFFER) -> str:
        """A paid payment of the offer, as the gateway's confirmation leaves it."""
        payment_id = uuid.uuid4().hex
        self.table.put(
            {
                "pk": f"PAYMENT#{payment_id}", "sk": "PAYMENT", "type": "payment", "tenant_id": self.tg.tenant,
                "payment_id": payment_id, "bot_id": self.tg.bot_a, "telegram_user_id": buyer, "offer_id": offer,
                "offer_name": "Grupo VIP (30 dias)", "amount_cents": 1990, "currency": "BRL", "status": "paid",
                "paid_at": iso(paid_at), "delivery_token": f"Tok{payment_id[:24]}", "pixel_id": self.tg.seed.pixel_id,
            }
        )  # fmt: skip
        return payment_id

    def deliver(self, *payment_ids: str) -> dict[str, Any]:
        template = load_event("sqs_delivery.json")["Records"][0]
        records = []
        for index, payment_id in enumerate(payment_ids):
            record = json.loads(json.dumps(template))
            record["messageId"], record["receiptHandle"] = f"m{index}-{payment_id[:8]}", f"rh{index}"
            record["body"] = json.dumps({"version": 1, "payment_id": payment_id, "tenant_id": self.tg.tenant})
            records.append(record)
        result: dict[str, Any] = self.delivery(
            {"Records": records}, LambdaContext(load().functions["DeliveryFunction"], "test")
        )
        return result

    def run(self, at: datetime) -> dict[str, int]:
        """TimersFunction's due work at ``at`` (its own handlers and table)."""
        module = handler_globals(self.timers_handler)
        leases = iter(range(100_000))
        return timers.run_due(
            module["DEPS"].table,
            module["HANDLERS"],
            lambda: at,
            budget_seconds=60,
            new_lease_id=lambda: f"lease{next(leases)}",
        )

    def item(self, buyer: int = BUYER, offer: str = OFFER) -> dict[str, Any]:
        found: dict[str, Any] = self.table.get(*keys.access(self.tg.bot_a, buyer, offer), consistent=True)
        return found

    def due_at(self, buyer: int = BUYER) -> datetime | None:
        item = self.item(buyer)
        return parse_iso(item["gsi2sk"].split("#", 1)[0]) if item.get("gsi2sk") else None

    def sent(self, method: str) -> list[dict[str, Any]]:
        """Parameters of the test's successful calls of ``method``, oldest first."""
        return [call["params"] for call in self.tg.fake.calls[self.since :] if call["method"] == method and call["ok"]]

    def to(self, buyer: int = BUYER) -> list[dict[str, Any]]:
        """The messages the buyer received (successful sendMessage calls), oldest first."""
        return [call for call in self.sent("sendMessage") if call["chat_id"] == buyer]

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Every call of ``method`` (refused ones too)."""
        return [call for call in self.tg.fake.calls[self.since :] if call["method"] == method]


@pytest.fixture
def access(tg: TgEnv) -> Access:
    delivery = load_handler(load().functions["DeliveryFunction"], fresh=True)
    handler_globals(delivery)["DEPS"].delay_retry = lambda handle, seconds: None
    timers_handler = load_handler(load().functions["TimersFunction"], fresh=True)
    for buyer in (BUYER, BUYER + 1):
        tg.start(buyer)  # the buyers are leads of the bot
    tg.drain()
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    return Access(tg, delivery, timers_handler, start, since=len(tg.fake.calls))


def _buttons(message: dict[str, Any]) -> list[str]:
    return [button["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for button in row]


def test_a_30_day_access_is_reminded_3_and_1_days_before_then_removed(access: Access) -> None:
    paid_at = access.start
    first = access.pay(paid_at)
    assert access.deliver(first) == {"batchItemFailures": []}
    ends_at = paid_at + 30 * DAY

    item = access.item()
    assert (item["status"], item["ends_at"], item["starts_at"]) == ("active", iso(ends_at), iso(paid_at))
    assert (item["chat_id"], item["offer_id"], item["tenant_id"]) == (DEMO_VIP_CHAT, OFFER, access.tg.tenant)
    assert item["payment_ids"] == [first] and item["timer"] == "access"
    assert access.due_at() == ends_at - 3 * DAY
    (delivered,) = access.to()
    assert "t.me/+" in delivered["text"] and f"vale até {brasilia_date(ends_at)}" in delivered["text"]

    assert access.run(paid_at + 26 * DAY) == {}  # nothing due yet
    assert access.run(paid_at + 27 * DAY) == {"access_rescheduled": 1}
    reminder = access.to()[-1]
    assert "termina em 3 dias" in reminder["text"] and brasilia_date(ends_at) in reminder["text"]
    assert _buttons(reminder) == [f"b:{OFFER}", f"s:{OFFER}"]  # PIX, and Stars: the offer has a Stars price
    assert access.due_at() == ends_at - DAY
    assert access.run(paid_at + 27 * DAY) == {}  # the same minute again: sent once

    assert access.run(paid_at + 29 * DAY) == {"access_rescheduled": 1}
    assert "termina amanhã" in access.to()[-1]["text"] and _buttons(access.to()[-1]) == [f"b:{OFFER}", f"s:{OFFER}"]
    assert access.due_at() == ends_at
    assert access.calls("banChatMember") == []

    assert access.run(ends_at) == {"access_done": 1}
    (ban,) = access.sent("banChatMember")
    (unban,) = access.sent("unbanChatMember")
    assert ban == {"chat_id": DEMO_VIP_CHAT, "user_id": BUYER}
    assert unban == {"chat_id": DEMO_VIP_CHAT, "user_id": BUYER, "only_if_banned": True}
    ended = access.to()[-1]
    assert "Seu acesso terminou" in ended["text"] and _buttons(ended) == [f"b:{OFFER}", f"s:{OFFER}"]
    assert len(access.to()) == 4  # the delivery, two reminders, the end
    item = access.item()
    assert item["status"] == "ended" and item["removal"] == "removed" and "gsi2pk" not in item
    assert access.tg.lead(BUYER)["access_expired_offer_ids"] == [OFFER]  # type: ignore[index]
    assert access.run(ends_at + 5 * DAY) == {}  # done for good


def test_a_renewal_before_the_end_extends_from_the_old_end_and_the_reminders_follow(access: Access) -> None:
    first = access.pay(access.start)
    access.deliver(first)
    renewal = access.pay(access.start + 25 * DAY)
    assert access.deliver(renewal) == {"batchItemFailures": []}
    new_end = access.start + 60 * DAY  # from the old end (day 30), not from the renewal's day 25

    item = access.item()
    assert item["ends_at"] == iso(new_end) and item["starts_at"] == iso(access.start)
    assert sorted(item["payment_ids"]) == sorted([first, renewal]) and item["last_grant"] == "renewed"
    assert access.due_at() == new_end - 3 * DAY
    assert len(access.sent("createChatInviteLink")) == 1  # the renewal keeps the buyer in: no new link
    renewed = access.to()[-1]
    assert f"Acesso renovado até {brasilia_date(new_end)}" in renewed["text"] and "t.me/+" not in renewed["text"]
    assert "reply_markup" not in renewed

    assert access.run(access.start + 30 * DAY) == {}  # the old end passes: nothing happens
    assert access.calls("banChatMember") == []
    assert access.run(new_end - 3 * DAY) == {"access_rescheduled": 1}
    assert brasilia_date(new_end) in access.to()[-1]["text"]
    assert access.run(new_end - DAY) == {"access_rescheduled": 1}
    assert access.run(new_end) == {"access_done": 1}
    assert len(access.sent("banChatMember")) == 1


def test_a_renewal_after_a_reminder_resets_the_reminders_for_the_new_end(access: Access) -> None:
    access.deliver(access.pay(access.start))
    access.run(access.start + 27 * DAY)  # the 3-day reminder of the first end
    access.deliver(access.pay(access.start + 28 * DAY))
    new_end = access.start + 60 * DAY
    assert "reminded" not in access.item() and access.due_at() == new_end - 3 * DAY
    assert access.run(new_end - 3 * DAY) == {"access_rescheduled": 1}
    reminders = [message for message in access.to() if "termina em 3 dias" in message["text"]]
    assert [brasilia_date(access.start + 30 * DAY) in reminders[0]["text"], len(reminders)] == [True, 2]
    assert brasilia_date(new_end) in reminders[1]["text"]


def test_a_renewal_after_the_end_is_a_fresh_period_with_a_new_invite_link(access: Access) -> None:
    access.deliver(access.pay(access.start))
    access.run(access.start + 30 * DAY)
    assert access.item()["status"] == "ended"
    back_at = access.start + 32 * DAY
    assert access.deliver(access.pay(back_at)) == {"batchItemFailures": []}

    links = [
        call["result"]["invite_link"] for call in access.tg.fake.detailed() if call["method"] == "createChatInviteLink"
    ]
    assert len(links) == 2 and links[0] != links[1]  # a fresh link: the old one let them in once already
    welcome_back = access.to()[-1]
    assert links[1] in welcome_back["text"] and f"vale até {brasilia_date(back_at + 30 * DAY)}" in welcome_back["text"]
    item = access.item()
    assert (item["status"], item["last_grant"]) == ("active", "restarted")
    assert (item["starts_at"], item["ends_at"]) == (iso(back_at), iso(back_at + 30 * DAY))
    assert "removed_at" not in item and "end_notified_at" not in item
    assert access.due_at() == back_at + 27 * DAY
    assert "access_expired_offer_ids" not in access.tg.lead(BUYER)  # type: ignore[operator]
    access.run(back_at + 30 * DAY)
    assert len(access.sent("banChatMember")) == 2  # the second period ends too


def test_a_renewal_paid_before_the_end_but_delivered_after_it_still_counts_from_the_old_end(access: Access) -> None:
    access.deliver(access.pay(access.start))
    late = access.pay(access.start + 29 * DAY)  # paid on day 29; the gateway's word came after day 30
    access.run(access.start + 30 * DAY)
    access.deliver(late)
    item = access.item()
    assert (item["last_grant"], item["ends_at"]) == ("restarted", iso(access.start + 60 * DAY))
    assert len(access.sent("createChatInviteLink")) == 2  # removed meanwhile: a new link to come back


def test_the_same_payment_extends_the_access_once(access: Access) -> None:
    access.deliver(access.pay(access.start))
    renewal = access.pay(access.start + 25 * DAY)
    # The first attempt counts the payment, then Telegram refuses the message (429): retried.
    access.tg.fake.rate_limit(3, chat_id=BUYER, method="sendMessage")
    assert access.deliver(renewal) == {"batchItemFailures": [{"itemIdentifier": f"m0-{renewal[:8]}"}]}
    assert access.deliver(renewal, renewal) == {"batchItemFailures": []}  # the retry, and a redelivery
    item = access.item()
    assert item["ends_at"] == iso(access.start + 60 * DAY) and len(item["payment_ids"]) == 2
    renewed = [message for message in access.to() if "Acesso renovado" in message["text"]]
    assert len(renewed) == 1 and brasilia_date(access.start + 60 * DAY) in renewed[0]["text"]


def test_a_buyer_who_blocked_the_bot_is_still_removed(access: Access) -> None:
    access.deliver(access.pay(access.start))
    access.tg.fake.block(BUYER, times=None)
    assert access.run(access.start + 27 * DAY) == {"access_rescheduled": 1}  # the reminder: 403, noted
    assert access.tg.lead(BUYER)["reachable"] is False  # type: ignore[index]
    assert access.run(access.start + 30 * DAY) == {"access_done": 1}
    assert len(access.sent("banChatMember")) == 1 and len(access.sent("unbanChatMember")) == 1
    item = access.item()
    assert item["status"] == "ended" and item["removal"] == "removed"
    assert access.tg.lead(BUYER)["unreachable_reason"] == "blocked_bot"  # type: ignore[index]


def test_a_run_that_fails_half_way_is_retried_without_sending_twice(access: Access) -> None:
    access.deliver(access.pay(access.start))
    reminder_at = access.start + 27 * DAY
    access.tg.fake.rate_limit(5, chat_id=BUYER, method="sendMessage")  # the reminder: not delivered
    assert access.run(reminder_at) == {"failed": 1}
    assert "reminded" not in access.item()  # undone: Telegram did not take it
    assert access.run(reminder_at + timers.LEASE) == {"access_rescheduled": 1}
    assert len([m for m in access.to() if "termina em 3 dias" in m["text"]]) == 1

    end = access.start + 30 * DAY
    access.tg.fake.rate_limit(5, method="unbanChatMember")  # banned, not yet unbanned: the run fails
    assert access.run(end) == {"failed": 1}
    assert access.item()["status"] == "ended" and "removed_at" not in access.item()
    assert access.run(end + timers.LEASE) == {"access_done": 1}  # ban + unban again: safe to repeat
    assert len(access.sent("banChatMember")) == 2 and len(access.sent("unbanChatMember")) == 1
    assert len([m for m in access.to() if "Seu acesso terminou" in m["text"]]) == 1


def test_a_reminder_telegram_keeps_refusing_is_dropped_not_the_end(access: Access) -> None:
    access.deliver(access.pay(access.start))
    access.tg.fake.rate_limit(5, chat_id=BUYER, method="sendMessage", times=None)
    at = access.start + 27 * DAY
    for _ in range(timers.MAX_ATTEMPTS - 1):
        assert access.run(at) == {"failed": 1}
        at += timers.LEASE
    assert access.run(at) == {"access_rescheduled": 1}  # the last attempt: dropped, the next one is due
    assert access.item()["reminded"] == [3] and access.due_at() == access.start + 29 * DAY
    assert len(access.to()) == 1  # only the delivery ever got through


def test_a_revoked_token_is_retried_then_given_up(access: Access) -> None:
    access.deliver(access.pay(access.start))
    access.tg.fake.revoke_token(access.tg.seed.bots[0]["token"])
    at = access.start + 30 * DAY
    for _ in range(timers.MAX_ATTEMPTS):
        assert access.run(at) == {"failed": 1}
        at += timers.LEASE
    assert access.run(at) == {"given_up": 1}
    assert access.item()["timer_failed"] is True
    assert access.table.get(f"BOT#{access.tg.bot_a}", "BOT")["health"]["status"] == "token_invalid"


def test_another_access_to_the_same_chat_keeps_the_buyer_in(access: Access) -> None:
    """Two offers open the same group: the end of one does not remove a buyer the other still covers."""
    offer = dict(access.table.get(f"BOT#{access.tg.bot_a}", f"OFFER#{OFFER}"))
    access.table.put({**offer, "sk": "OFFER#vip_anual", "offer_id": "vip_anual", "access_days": 365})
    access.deliver(access.pay(access.start), access.pay(access.start, offer="vip_anual"))
    assert access.run(access.start + 30 * DAY) == {"access_done": 1}
    assert access.calls("banChatMember") == []
    assert access.item()["removal"] == "kept_by_another_access"


def test_the_timers_function_ends_and_reminds_on_its_schedule(access: Access) -> None:
    """The function itself, on the real clock, with EventBridge's scheduled event."""
    now = datetime.now(UTC)
    access.deliver(access.pay(now - 30 * DAY - timedelta(minutes=1)))  # ended a minute ago
    access.deliver(access.pay(now - 27 * DAY - timedelta(minutes=1), buyer=BUYER + 1))  # 3 days left
    result = access.timers_handler(
        load_event("timers_schedule.json"), LambdaContext(load().functions["TimersFunction"], "t")
    )
    assert result == {"counts": {"access_done": 1, "access_rescheduled": 1}}
    assert access.sent("banChatMember") == [{"chat_id": DEMO_VIP_CHAT, "user_id": BUYER}]
    assert "termina em 3 dias" in access.to(BUYER + 1)[-1]["text"]
    assert access.item()["status"] == "ended" and access.item(BUYER + 1)["status"] == "active"


def test_a_renewal_bought_in_the_chat_is_a_purchase_of_its_own_with_the_lead_click(access: Access) -> None:
    """Two purchases of the 30-day offer through the bot: two Purchases, each with the click's fbc and utm."""
    from funil.conversions.builder import BuildSettings, build_event
    from funil.conversions.sources import SourceLoader
    from funil.messages import ConversionMessage

    tg, buyer, token = access.tg, BUYER + 2, "TokRenew0123456789012345"
    click = tg.click(token)
    tg.start(buyer, token)
    tg.drain()

    def buy() -> tuple[str, dict[str, Any]]:
        assert tg.callback(buyer, f"b:{OFFER}")[1]["outcome"] == "pix_created"
        payment_id = next(p["payment_id"] for p in tg.payments(buyer) if p["status"] == "pending")
        tg.sandbox.pay(payment_id)
        assert tg.callback(buyer, f"c:{payment_id}")[1]["outcome"] == "check_paid"
        purchase = next(body for body in tg.drain() if body["kind"] == "Purchase")
        assert tg.drain("DeliveryQueue") == [{"version": 1, "payment_id": payment_id, "tenant_id": tg.tenant}]
        assert access.deliver(payment_id) == {"batchItemFailures": []}
        return payment_id, purchase

    first, first_purchase = buy()
    renewal, renewal_purchase = buy()
    assert renewal != first
    assert (first_purchase["event_id"], renewal_purchase["event_id"]) == (f"purchase_{first}", f"purchase_{renewal}")
    paid = tg.payment(renewal)
    assert paid["attribution"]["fbc"] == click["fbc"] and paid["attribution"]["utm"] == click["utm"]
    message = ConversionMessage.model_validate(renewal_purchase)
    now = datetime.now(UTC)
    (sources,) = SourceLoader(tg.table).load([message], now)
    built = build_event(message, sources, BuildSettings("https://funil.example"), now)
    assert built.event is not None and built.event["event_id"] == f"purchase_{renewal}"
    assert built.event["user_data"]["fbc"] == click["fbc"]
    assert built.event["custom_data"]["value"] == 19.9

    first_paid = parse_iso(tg.payment(first)["paid_at"])
    item = access.item(buyer)
    assert item["ends_at"] == iso(first_paid + 60 * DAY) and item["last_grant"] == "renewed"
    assert "Acesso renovado até" in access.to(buyer)[-1]["text"]
