"""The demo of a local stack started with only some of the fakes: the same demo, written directly.

One stack per process at a time (one moto), so this module starts its own, apart from the others;
the demo made through the operator's API, with every fake, is tested in test_cli_local.py.
"""

from __future__ import annotations

import httpx

from local.server import start_stack


def test_a_stack_with_only_some_fakes_gets_the_same_demo_written_directly() -> None:
    from local import telegram_local
    from local.capi_local import register

    with start_stack(port=0, extensions=[register, telegram_local.register], schedule_speed=None) as partial:
        assert partial.sandbox is None  # no sandbox: the API could not prove the demo's gateway
        shown = httpx.get(f"{partial.base_url}/_local/seed", timeout=10).json()
        assert shown["operator_key"].startswith("fnl_") and shown["gateway_id"] is None
        answer = httpx.get(
            f"{partial.base_url}/api/v1/bots", headers={"authorization": f"Bearer {shown['api_key']}"}, timeout=30
        )
        assert [bot["id"] for bot in answer.json()["items"]] == ["bot_demo_a", "bot_demo_b"]
        # The fake Bot API was told the webhooks the API would have set: the chat routes work.
        assert partial.telegram.credentials == {
            bot["id"]: (bot["token"], bot["webhook_secret"]) for bot in shown["bots"]
        }
        started = httpx.post(
            f"{partial.base_url}/_local/telegram/bot_demo_a/updates", json={"message": {"text": "/start"}}, timeout=30
        )
        assert started.json()["status"] == 200
