"""functions/broadcasts through its handler with real-shaped SQS events, on moto and the fake Bot API.

The fake Bot API runs over HTTP with Telegram's flood control on (30 messages a second per bot, one
per chat) and stamps every call with the fake clock the sender paces on; every call is held to the
Bot API spec (the telegram_api fixture fails a test on any violation).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from funil import keys
from funil.broadcasts import manage
from funil.broadcasts.models import BroadcastCreate
from funil.clock import iso

from local import aws
from local.fakes.telegram_api import FakeTelegramApi, RunningFake
from tests.integration.broadcast_world import (
    BOT,
    FIRST_USER,
    TENANT,
    FakeClock,
    add_bot,
    context,
    lead_item,
    load_sender,
    max_in_one_second,
    sqs_event,
    take_queue,
    write_leads,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(telegram_api: FakeTelegramApi) -> FakeClock:
    made = FakeClock()
    telegram_api.now = made.time
    telegram_api.enforce_rate_limits()
    return made


@pytest.fixture
def sender(
    aws_env: aws.Resources, table: Any, telegram_api: FakeTelegramApi, telegram_server: RunningFake, clock: FakeClock
) -> Any:
    add_bot(table, aws_env, telegram_api)
    return load_sender(clock)


def create(table: Any, **body: Any) -> str:
    request = BroadcastCreate.model_validate({"bot_id": BOT, "text": "<b>Promo</b> de Natal", **body})
    return str(manage.create_broadcast(table, TENANT, request, NOW)["id"])


def start(table: Any, aws_env: aws.Resources, broadcast_id: str) -> list[str]:
    """What the timer does at send_at: one message on the broadcast queue."""
    from funil.adapters.sqs import Queue

    item = table.get(*keys.broadcast(broadcast_id))
    assert manage.start_due(table, Queue(aws_env.queues["BroadcastQueue"]), item, NOW) is None
    return take_queue(aws_env)


def run(sender: Any, bodies: list[str], remaining: float | None = None) -> dict[str, Any]:
    result: dict[str, Any] = sender.lambda_handler(sqs_event(*bodies), context(remaining))
    assert result == {"batchItemFailures": []}
    return result


def broadcast(table: Any, broadcast_id: str) -> dict[str, Any]:
    found = table.get(*keys.broadcast(broadcast_id), consistent=True)
    assert found is not None
    return found


def messages_to(fake: FakeTelegramApi, method: str = "sendMessage") -> Counter[int]:
    return Counter(int(params["chat_id"]) for params in fake.sent(method, BOT))


def until_done(sender: Any, aws_env: aws.Resources, bodies: list[str], remaining: float | None = None) -> int:
    """Run the handler on each message put back until none is left; the number of runs."""
    runs = 0
    while bodies:
        run(sender, bodies, remaining)
        runs += 1
        bodies = take_queue(aws_env)
        assert runs < 400, "the broadcast never finished"
    return runs


# -- 2,000 leads --------------------------------------------------------------------------------


def test_a_2000_lead_segment_gets_one_message_each_within_the_rate_across_restarts(
    sender: Any, table: Any, aws_env: aws.Resources, telegram_api: FakeTelegramApi, clock: FakeClock
) -> None:
    users = [FIRST_USER + index for index in range(2000)]
    opted_out = set(users[100:120])
    unreachable = set(users[200:230])
    blocking = set(users[300:325])  # block the bot now: 403 on the send
    write_leads(
        aws_env,
        (
            lead_item(
                user,
                index,
                **({"opted_out_at": "2026-11-20T10:00:00.000Z"} if user in opted_out else {}),
                **({"reachable": False, "unreachable_reason": "blocked"} if user in unreachable else {}),
            )
            for index, user in enumerate(users)
        ),
    )
    for user in blocking:
        telegram_api.block(user, bot=BOT)
    broadcast_id = create(table, segment={"kind": "all"}, offer_ids=["vip"])
    bodies = start(table, aws_env, broadcast_id)
    assert [json.loads(body) for body in bodies] == [{"broadcast_id": broadcast_id}]

    # A tiny time budget: each run sends a few and puts its message back; then runs with all the time.
    run(sender, bodies, remaining=18)
    first = sum(messages_to(telegram_api).values())
    assert 0 < first < 2000
    assert broadcast(table, broadcast_id)["status"] == "sending"
    bodies = take_queue(aws_env)
    assert [json.loads(body) for body in bodies] == [{"broadcast_id": broadcast_id}]
    for _ in range(3):
        run(sender, bodies, remaining=18)
        bodies = take_queue(aws_env)
    until_done(sender, aws_env, bodies)

    sent = messages_to(telegram_api)
    expected = set(users) - opted_out - unreachable - blocking
    assert set(sent) == expected and set(sent.values()) == {1}  # once each, nobody else
    assert all(
        params["parse_mode"] == "HTML" and params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b:vip"
        for params in telegram_api.sent("sendMessage", BOT)
    )
    for user in blocking:
        lead = table.get(f"LEAD#{BOT}#{user}", "LEAD")
        assert lead["reachable"] is False and lead["unreachable_reason"]
        assert table.get(*keys.broadcast_recipient(broadcast_id, user))["status"] == "blocked"
    done = broadcast(table, broadcast_id)
    assert done["status"] == "done" and "cursor" not in done and done.get("finished_at")
    assert done["counts"] == {"matched": 2000, "sent": 1925, "failed": 0, "blocked": 55, "skipped": 20, "unknown": 0}

    calls = [call for call in telegram_api.detailed(BOT) if call["method"] == "sendMessage"]
    assert [call for call in calls if call["status"] == 429] == []
    assert max_in_one_second([call["at"] for call in calls]) <= 30
    assert telegram_api.violations == []


# -- one person at a time -----------------------------------------------------------------------


def test_a_429_waits_retry_after_and_sends_that_person_once(
    sender: Any, table: Any, aws_env: aws.Resources, telegram_api: FakeTelegramApi, clock: FakeClock
) -> None:
    users = [FIRST_USER + index for index in range(5)]
    write_leads(aws_env, (lead_item(user, index) for index, user in enumerate(users)))
    telegram_api.rate_limit(7, bot=BOT, chat_id=users[2], times=2)
    broadcast_id = create(table, segment={"kind": "all"})
    until_done(sender, aws_env, start(table, aws_env, broadcast_id))
    assert messages_to(telegram_api) == dict.fromkeys(users, 1)
    assert clock.slept.count(7) == 2
    assert broadcast(table, broadcast_id)["counts"]["sent"] == 5


def test_a_person_claimed_by_a_run_that_died_is_counted_unknown_and_never_sent(
    sender: Any, table: Any, aws_env: aws.Resources, telegram_api: FakeTelegramApi
) -> None:
    users = [FIRST_USER + index for index in range(4)]
    write_leads(aws_env, (lead_item(user, index) for index, user in enumerate(users)))
    broadcast_id = create(table, segment={"kind": "all"})
    bodies = start(table, aws_env, broadcast_id)
    # A run that claimed users[1], sent users[0] and died before recording anything else.
    table.update(*keys.broadcast(broadcast_id), "SET #s = :sending", {":sending": "sending"}, names={"#s": "status"})
    table.put({**_claim(broadcast_id, users[0]), "status": "sent"})
    table.put(_claim(broadcast_id, users[1]))
    until_done(sender, aws_env, bodies)
    assert messages_to(telegram_api) == {users[2]: 1, users[3]: 1}
    counts = broadcast(table, broadcast_id)["counts"]
    assert (counts["matched"], counts["sent"], counts["unknown"]) == (4, 3, 1)
    assert table.get(*keys.broadcast_recipient(broadcast_id, users[1]))["status"] == "unknown"


def _claim(broadcast_id: str, user: int) -> dict[str, Any]:
    pk, sk = keys.broadcast_recipient(broadcast_id, user)
    return {"pk": pk, "sk": sk, "type": "broadcast_recipient", "status": "claimed", "run_id": "dead"}


def test_a_photo_goes_with_its_caption_and_buttons_and_failures_are_counted(
    sender: Any, table: Any, aws_env: aws.Resources, telegram_api: FakeTelegramApi
) -> None:
    from local.fakes.telegram_api import TelegramFault

    users = [FIRST_USER + index for index in range(3)]
    write_leads(aws_env, (lead_item(user, index) for index, user in enumerate(users)))
    telegram_api.fail(TelegramFault(400, "Bad Request: chat not found", BOT, str(users[1]), times=1))
    broadcast_id = create(
        table,
        text="Só hoje: <i>20% off</i> &amp; bônus",
        photo_url="https://cdn.example/natal.jpg",
        offer_ids=["vip", "curso"],
        segment={"kind": "all"},
    )
    until_done(sender, aws_env, start(table, aws_env, broadcast_id))
    photos = telegram_api.sent("sendPhoto", BOT)
    assert sorted(int(params["chat_id"]) for params in photos) == [users[0], users[2]]
    assert photos[0]["photo"] == "https://cdn.example/natal.jpg" and photos[0]["caption"].startswith("Só hoje")
    buttons = photos[0]["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in buttons] == ["b:vip", "b:curso"]
    counts = broadcast(table, broadcast_id)["counts"]
    assert (counts["sent"], counts["failed"]) == (2, 1)


def test_segments_take_their_leads_only(
    sender: Any, table: Any, aws_env: aws.Resources, telegram_api: FakeTelegramApi
) -> None:
    touch = {"at": "2026-11-01T10:00:00.000Z", "attributed": True, "reason": "click"}
    leads = [
        lead_item(FIRST_USER + 0, 0),
        lead_item(FIRST_USER + 1, 1, bought_offer_ids={"vip"}, last_paid_at="2026-11-10T10:00:00.000Z"),
        lead_item(FIRST_USER + 2, 2, bought_offer_ids={"curso"}, access_expired_offer_ids={"vip"}),
        lead_item(FIRST_USER + 3, 3, first_touch={**touch, "utm": {"utm_campaign": "Natal"}}),
        lead_item(FIRST_USER + 4, 4, first_touch={**touch, "ad": {"campaign_id": "120210", "campaign_name": "BF"}}),
        lead_item(FIRST_USER + 5, 5, tenant_id="t_outro"),  # not the bot's tenant: never
    ]
    write_leads(aws_env, leads)
    segments = {
        "never_bought": {"kind": "never_bought"},
        "bought_vip": {"kind": "bought_offer", "offer_id": "vip"},
        "expired_vip": {"kind": "access_expired", "offer_id": "vip"},
        "expired_any": {"kind": "access_expired"},
        "natal": {"kind": "first_touch_campaign", "campaign": "natal"},
        "ad_id": {"kind": "first_touch_campaign", "campaign": "120210"},
        "ad_name": {"kind": "first_touch_campaign", "campaign": "BF"},
    }
    reached: dict[str, set[int]] = {}
    for name, segment in segments.items():
        telegram_api.clear()
        telegram_api.enforce_rate_limits()
        broadcast_id = create(table, segment=segment)
        until_done(sender, aws_env, start(table, aws_env, broadcast_id))
        reached[name] = {user - FIRST_USER for user in messages_to(telegram_api)}
        assert broadcast(table, broadcast_id)["counts"]["matched"] == len(reached[name])
    assert reached == {
        "never_bought": {0, 3, 4},
        "bought_vip": {1},
        "expired_vip": {2},
        "expired_any": {2},
        "natal": {3},
        "ad_id": {4},
        "ad_name": {4},
    }


def test_a_cancel_stops_the_run_at_its_next_page_and_a_late_message_sends_nothing(
    sender: Any, table: Any, aws_env: aws.Resources, telegram_api: FakeTelegramApi
) -> None:
    users = [FIRST_USER + index for index in range(60)]
    write_leads(aws_env, (lead_item(user, index) for index, user in enumerate(users)))
    sender.DEPS.page_size = 10
    broadcast_id = create(table, segment={"kind": "all"})
    bodies = start(table, aws_env, broadcast_id)
    run(sender, bodies, remaining=18)  # ~2 s of sends at 25 a second: a few pages, then put back
    reached = sum(messages_to(telegram_api).values())
    assert 10 <= reached < 60
    manage.cancel_broadcast(table, TENANT, broadcast_id, NOW)
    until_done(sender, aws_env, take_queue(aws_env) + bodies)  # the one put back, and a duplicate
    assert sum(messages_to(telegram_api).values()) == reached
    assert broadcast(table, broadcast_id)["status"] == "cancelled"


def test_another_run_holding_the_bot_puts_the_message_back_for_later(
    sender: Any, table: Any, aws_env: aws.Resources, telegram_api: FakeTelegramApi
) -> None:
    write_leads(aws_env, [lead_item(FIRST_USER, 0)])
    broadcast_id = create(table, segment={"kind": "all"})
    bodies = start(table, aws_env, broadcast_id)
    pk, sk = keys.bot_send_lease(BOT)
    until = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    table.put({"pk": pk, "sk": sk, "type": "bot_send_lease", "run_id": "other", "until": until})
    run(sender, bodies)
    assert messages_to(telegram_api) == {}
    assert take_queue(aws_env) == [] and delayed(aws_env) == 1  # back on the queue, 30 s from now
    table.update(pk, sk, "SET #u = :past", {":past": until - 3600}, names={"#u": "until"})  # that run died
    until_done(sender, aws_env, bodies)
    assert messages_to(telegram_api) == {FIRST_USER: 1}


def delayed(resources: aws.Resources) -> int:
    import boto3

    answer = boto3.client("sqs", region_name=aws.REGION).get_queue_attributes(
        QueueUrl=resources.queues["BroadcastQueue"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )
    return int(answer["Attributes"]["ApproximateNumberOfMessagesDelayed"])


def test_a_message_that_is_not_a_broadcast_is_dropped(sender: Any, table: Any, aws_env: aws.Resources) -> None:
    before = len(list(table.query("pk = :pk", {":pk": keys.bot_send_lease(BOT)[0]})))
    for body in ["", "null", "[1]", '{"broadcast_id": 5}', '{"broadcast_id": "../x"}', "\udcff"]:
        run(sender, [body])
    run(sender, [json.dumps({"broadcast_id": "0123456789abcdef"})])  # unknown: nothing to do
    assert take_queue(aws_env) == []
    assert len(list(table.query("pk = :pk", {":pk": keys.bot_send_lease(BOT)[0]}))) == before


def test_the_timer_puts_a_due_broadcast_on_the_queue_and_a_cancelled_one_never(
    table: Any, aws_env: aws.Resources, telegram_api: FakeTelegramApi
) -> None:
    from funil import timers
    from funil.adapters.sqs import Queue

    add_bot(table, aws_env, telegram_api)
    due_id = create(table, segment={"kind": "all"}, send_at=iso(NOW + timedelta(hours=1)))
    cancelled_id = create(table, segment={"kind": "all"}, send_at=iso(NOW + timedelta(hours=1)))
    manage.cancel_broadcast(table, TENANT, cancelled_id, NOW)
    handlers = {
        "broadcast": lambda item, now: manage.start_due(table, Queue(aws_env.queues["BroadcastQueue"]), item, now)
    }
    early = timers.run_due(table, handlers, lambda: NOW, budget_seconds=30, new_lease_id=lambda: "lease")
    assert early == {} and take_queue(aws_env) == []
    later = NOW + timedelta(hours=1, seconds=1)
    counts = timers.run_due(table, handlers, lambda: later, budget_seconds=30, new_lease_id=lambda: "lease")
    assert counts == {"broadcast_done": 1}
    assert [json.loads(body) for body in take_queue(aws_env)] == [{"broadcast_id": due_id}]
    assert "gsi2pk" not in broadcast(table, due_id) and broadcast(table, due_id)["status"] == "scheduled"
