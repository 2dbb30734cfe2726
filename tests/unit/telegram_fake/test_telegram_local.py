"""local/telegram_local.py on a running local stack: the fake over HTTP, calls, updates, the chat page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.fakes.telegram_api import FakeTelegramApi


def _extensions() -> list[Any]:
    from local import server, telegram_local

    extensions = server.default_extensions()
    if "local.telegram_local:register" not in server.DEFAULT_EXTENSIONS:
        extensions.append(telegram_local.register)
    return extensions


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from local.server import start_stack

    running = start_stack(host="127.0.0.1", port=0, extensions=_extensions(), preload=False)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def fake(stack: Any) -> Iterator[FakeTelegramApi]:
    api: FakeTelegramApi = stack.telegram.fake
    api.clear()
    yield api
    assert api.violations == []


def test_bots_get_local_credentials_and_the_handlers_the_base_url(stack: Any, fake: FakeTelegramApi) -> None:
    import os

    assert os.environ["TELEGRAM_API_BASE_URL"] == stack.base_url + "/_local/tgapi"
    bot_id = stack.seed.bots[0]["id"]
    token, secret = stack.telegram.credentials[bot_id]
    assert len(secret) >= 32
    me = httpx.get(f"{stack.base_url}/_local/tgapi/bot{token}/getMe").json()
    assert me["ok"] and me["result"]["username"] == stack.seed.bots[0]["username"]
    item = next(i for i in httpx.get(stack.base_url + "/_local/items?prefix=BOT%23").json() if i["bot_id"] == bot_id)
    assert token not in json.dumps(item) and item["token_ciphertext"]  # stored encrypted only


def test_calls_are_listed_oldest_first_per_bot(stack: Any, fake: FakeTelegramApi) -> None:
    bot_a, bot_b = (bot["id"] for bot in stack.seed.bots[:2])
    token_a = stack.telegram.credentials[bot_a][0]
    url = f"{stack.base_url}/_local/tgapi/bot{token_a}/sendMessage"
    httpx.post(url, data={"chat_id": "42", "text": "primeira"})
    httpx.post(
        url,
        json={
            "chat_id": 42,
            "text": "segunda",
            "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]},
        },
    )
    calls = httpx.get(f"{stack.base_url}/_local/telegram/{bot_a}/calls").json()
    assert calls == [
        {"method": "sendMessage", "params": {"chat_id": 42, "text": "primeira"}},
        {
            "method": "sendMessage",
            "params": {
                "chat_id": 42,
                "text": "segunda",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]},
            },
        },
    ]
    assert httpx.get(f"{stack.base_url}/_local/telegram/{bot_b}/calls").json() == []
    detailed = httpx.get(f"{stack.base_url}/_local/telegram/{bot_a}/calls?detail=1").json()
    assert detailed[1]["ok"] and detailed[1]["result"]["message_id"] == 2


def test_uploaded_photos_are_served_back(stack: Any, fake: FakeTelegramApi) -> None:
    bot_a = stack.seed.bots[0]["id"]
    token = stack.telegram.credentials[bot_a][0]
    png = b"\x89PNG\r\n\x1a\n" + b"1" * 20
    answer = httpx.post(
        f"{stack.base_url}/_local/tgapi/bot{token}/sendPhoto",
        data={"chat_id": "42", "caption": "QR"},
        files={"photo": ("qr.png", png, "image/png")},
    ).json()
    assert answer["ok"]
    params = httpx.get(f"{stack.base_url}/_local/telegram/{bot_a}/calls").json()[-1]["params"]
    served = httpx.get(f"{stack.base_url}/_local/telegram/{bot_a}/files/{params['photo']['file_index']}")
    assert served.status_code == 200 and served.content == png and served.headers["content-type"] == "image/png"
    assert httpx.get(f"{stack.base_url}/_local/telegram/{bot_a}/files/999").status_code == 404


def test_faults_over_http(stack: Any, fake: FakeTelegramApi) -> None:
    bot_a = stack.seed.bots[0]["id"]
    token = stack.telegram.credentials[bot_a][0]
    assert (
        httpx.post(
            f"{stack.base_url}/_local/telegram/{bot_a}/faults", json={"kind": "rate_limit", "retry_after": 9}
        ).status_code
        == 201
    )
    limited = httpx.post(f"{stack.base_url}/_local/tgapi/bot{token}/sendMessage", data={"chat_id": "1", "text": "x"})
    assert limited.status_code == 429 and limited.json()["parameters"] == {"retry_after": 9}
    httpx.post(f"{stack.base_url}/_local/telegram/{bot_a}/faults", json={"kind": "block", "chat_id": 77})
    blocked = httpx.post(f"{stack.base_url}/_local/tgapi/bot{token}/sendMessage", data={"chat_id": "77", "text": "x"})
    assert blocked.status_code == 403 and blocked.json()["description"] == "Forbidden: bot was blocked by the user"


def test_updates_go_through_the_webhook_route_with_the_secret(
    stack: Any, fake: FakeTelegramApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot_a = stack.seed.bots[0]["id"]
    seen: list[Any] = []
    original = stack.handle

    def spy(request: Any) -> Any:
        seen.append(request)
        return original(request)

    monkeypatch.setattr(stack, "handle", spy)
    answer = httpx.post(
        f"{stack.base_url}/_local/telegram/{bot_a}/updates", json={"message": {"text": "/start"}}
    ).json()
    webhook = [request for request in seen if request.target == f"/tg/{bot_a}"]
    assert len(webhook) == 1
    headers = {name.lower(): value for name, value in webhook[0].headers}
    assert headers["x-telegram-bot-api-secret-token"] == stack.telegram.credentials[bot_a][1]
    body = json.loads(webhook[0].body)
    assert isinstance(body["update_id"], int) and body["update_id"] == answer["update_id"]
    assert body["message"] == {"text": "/start"}
    given = httpx.post(f"{stack.base_url}/_local/telegram/{bot_a}/updates", json={"update_id": 5, "message": {}}).json()
    assert given["update_id"] == 5
    assert httpx.post(f"{stack.base_url}/_local/telegram/nope/updates", json={}).status_code == 404


def test_the_chat_page_is_self_contained_pt_br(stack: Any, fake: FakeTelegramApi) -> None:
    bot_a = stack.seed.bots[0]["id"]
    page = httpx.get(f"{stack.base_url}/_local/chat/{bot_a}?start=abc")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert 'lang="pt-BR"' in html and "Iniciar" in html
    assert json.dumps({"botId": bot_a, "username": stack.seed.bots[0]["username"]}) in html
    # no external resources: every src/href is relative or a data: URI; fetches go to /_local only
    assert "http://" not in html.replace("https?:\\/\\/", "") and 'src="http' not in html
    assert httpx.get(f"{stack.base_url}/_local/chat/unknown").status_code == 404


def test_the_bots_are_listed_with_their_chat_pages(stack: Any, fake: FakeTelegramApi) -> None:
    listed = httpx.get(f"{stack.base_url}/_local/telegram").json()
    assert [bot["bot_id"] for bot in listed] == [bot["id"] for bot in stack.seed.bots]
    assert listed[0]["chat"] == f"{stack.base_url}/_local/chat/{stack.seed.bots[0]['id']}"
    assert httpx.get(listed[0]["chat"]).status_code == 200
    assert httpx.get(f"{stack.base_url}/_local/telegram/violations").json() == []
