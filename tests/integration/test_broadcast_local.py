"""A broadcast in the local stack, over HTTP as a tester does it: the operator's API schedules it,
``POST /_local/schedules/TimersFunction`` starts it, the stack's SQS poller runs BroadcastsFunction
(the template maps BroadcastQueue to it), the fake Bot API with Telegram's flood control on records
the sends."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.server import LocalStack, start_stack
from tests.integration.broadcast_world import lead_item, max_in_one_second, write_leads
from tests.telegram_fixtures import no_new_violations

LEADS = 120
FIRST = 770_000_000


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with start_stack(port=0, schedule_speed=None) as started:
        yield started


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


def test_a_broadcast_reaches_each_lead_once_within_the_rate_and_marks_who_blocked_the_bot(
    stack: LocalStack, client: httpx.Client
) -> None:
    fake: Any = stack.telegram.fake  # type: ignore[attr-defined]
    seed = client.get("/_local/seed").json()
    bot_id, tenant_id, key = seed["bots"][0]["id"], seed["tenant_id"], seed["api_key"]
    users = [FIRST + index for index in range(LEADS)]
    write_leads(
        stack.resources,
        (lead_item(user, index, bot_id=bot_id, tenant_id=tenant_id) for index, user in enumerate(users)),
    )
    blocked = users[7]
    fake.block(blocked, bot=bot_id)
    fake.enforce_rate_limits()
    try:
        with no_new_violations(fake):
            created = client.post(
                "/api/v1/broadcasts",
                json={"bot_id": bot_id, "text": "<b>Só hoje</b>", "offer_ids": ["curso"], "segment": {"kind": "all"}},
                headers={"authorization": f"Bearer {key}"},
            )
            assert created.status_code == 201, created.text
            broadcast_id = created.json()["id"]
            assert client.post("/_local/schedules/TimersFunction").status_code == 200
            deadline = time.monotonic() + 120
            shown: dict[str, Any] = {}
            while time.monotonic() < deadline:
                shown = client.get(
                    f"/api/v1/broadcasts/{broadcast_id}", headers={"authorization": f"Bearer {key}"}
                ).json()
                if shown["status"] == "done":
                    break
                time.sleep(0.5)
    finally:
        fake.enforce_rate_limits(False)
    assert shown["status"] == "done", shown
    assert shown["counts"] == {
        "matched": LEADS, "sent": LEADS - 1, "failed": 0, "blocked": 1, "skipped": 0, "unknown": 0,
    }  # fmt: skip
    calls = [
        call
        for call in fake.detailed(bot_id)
        if call["method"] == "sendMessage" and int(call["params"]["chat_id"]) >= FIRST
    ]
    sent = Counter(int(call["params"]["chat_id"]) for call in calls if call["ok"])
    assert set(sent) == set(users) - {blocked} and set(sent.values()) == {1}
    assert [call for call in calls if call["status"] == 429] == []
    assert max_in_one_second([call["at"] for call in calls]) <= 30
    (lead,) = client.get("/_local/items", params={"prefix": f"LEAD#{bot_id}#{blocked}"}).json()
    assert lead["reachable"] is False
