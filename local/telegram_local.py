"""The Telegram side of the local stack: the fake Bot API over HTTP, update injection, a web chat.

``register(stack)`` (a local.server extension) mounts:

- ``GET|POST /_local/tgapi/bot<token>/<method>``: the fake Bot API (local/fakes/telegram_api.py);
  the handlers reach it because TELEGRAM_API_BASE_URL is ``<stack>/_local/tgapi`` (python-telegram-bot
  appends ``/bot<token>/<method>``);
- ``GET /_local/telegram/{bot_id}/calls``: the Bot API calls of that bot as a JSON list of
  ``{"method", "params"}``, oldest first (``?detail=1`` adds ``ok``, ``result``, ``description``;
  ``?chat=<id>`` keeps the calls to one chat);
- ``POST /_local/telegram/{bot_id}/updates``: an Update (JSON) delivered through the real webhook
  route ``POST /tg/{bot_id}`` with the bot's secret header; ``update_id`` assigned when absent;
  answers ``{"update_id", "status", "body"}`` with the webhook's status;
- ``POST /_local/telegram/{bot_id}/faults``: ``{"kind": "block"|"rate_limit"|"revoke"|"error", "chat_id",
  "retry_after", "times"}``;
- ``GET /_local/telegram/{bot_id}/files/{n}``: a file uploaded to the fake (sendPhoto's QR PNG);
- ``GET /_local/telegram/{bot_id}/pending?chat=<user>``: that buyer's pending payments on that bot
  (the chat page's "pay in the sandbox" button);
- ``POST /_local/telegram/{bot_id}/join``: ``{"invite_link", "user"}`` — the buyer opens an invite
  link: a join-request link sends the bot a ``chat_join_request`` update;
- ``GET /_local/chat/{bot_id}``: a web chat with the bot (pt-BR, no external resources): Start with
  a token (``?start=``), messages, photos, inline buttons, PIX paid through the sandbox, the delivery;
  a reply keyboard under the input (``remove_keyboard`` hides it, ``one_time_keyboard`` after a tap):
  a ``request_contact`` button sends ``message.contact`` with the test user's own ``user_id`` and a
  fictitious number made from that id, as Telegram would; a token minted for another bot is named on
  the page with a link to that bot's chat;
- ``GET /_local/chat?start=<token>``: the chat of the bot the click's token belongs to (a redirect);
- ``GET /_local/telegram``: the bots with their chat page and calls URLs;
  ``GET /_local/telegram/violations``: the calls that broke the Bot API spec;
- ``DELETE /_local/telegram``: forget calls, violations and faults (bots and webhooks stay);
- ``POST /_local/telegram/bots``: ``{"username": "LojaDaBiaBot"}`` → ``201 {"token", "username", "id"}``:
  the local @BotFather (a seller creates a bot there before adding it to Funil); a username that
  breaks BotFather's rules is a 400, one taken a 409.

The fake knows only the tokens BotFather gave (``strict_tokens``: any other is 401 Unauthorized,
so the operator's API refuses it as it would a mistyped one). A bot is reachable here (its calls,
updates, chat page) once its webhook is set, as at Telegram: ``credentials`` are read from what the
fake recorded in ``setWebhook`` (a URL ``…/tg/<bot id>`` and its ``secret_token``), never from the
table. The demo's bots get there like any other: through ``POST /api/v1/bots`` (``local.demo``).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from local.fakes.telegram_api import TOKEN_RE, FakeBot, FakeTelegramApi, TelegramFault, UsernameTaken

if TYPE_CHECKING:
    from local.server import LocalRequest, LocalResponse, LocalStack

log = logging.getLogger("local.telegram")

TGAPI_PREFIX = "/_local/tgapi"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
CHAT_PAGE = Path(__file__).with_name("chat_page.html")


WEBHOOK_PATH_RE = re.compile(r"^/tg/(?P<bot_id>[A-Za-z0-9_-]{1,64})$")


def webhook_bot_id(url: object) -> str | None:
    """The Funil bot id of a webhook URL Funil gives Telegram (``<PUBLIC_BASE_URL>/tg/<bot id>``)."""
    if not isinstance(url, str):
        return None
    found = WEBHOOK_PATH_RE.match(urlsplit(url).path)
    return found.group("bot_id") if found else None


class TelegramLocal:
    """What the routes share: the fake, the bots' credentials as Telegram knows them, update ids."""

    def __init__(self, stack: LocalStack, fake: FakeTelegramApi) -> None:
        self.stack = stack
        self.fake = fake
        self._update_ids = itertools.count(int(time.time()) % 100_000 * 1000)
        self._lock = threading.Lock()

    def next_update_id(self) -> int:
        with self._lock:
            return next(self._update_ids)

    # -- credentials ------------------------------------------------------------------------------

    @property
    def credentials(self) -> dict[str, tuple[str, str]]:
        """Bot id → (token, webhook secret): every bot whose webhook was set to a ``/tg/<bot id>``
        URL, with the ``secret_token`` it was set with (a later setWebhook for the same bot, after a
        token was replaced, wins). Each such bot is named by its Funil id in the fake's records."""
        found: dict[str, tuple[str, str]] = {}
        with self.fake._lock:
            for token, hook in self.fake.webhooks.items():
                bot_id, secret = webhook_bot_id(hook.get("url")), hook.get("secret_token")
                if bot_id is None or not isinstance(secret, str):
                    continue
                found.pop(bot_id, None)  # re-inserted last: the most recent webhook for this bot
                found[bot_id] = (token, secret)
                bot = self.fake.bots.get(token)
                if bot is not None and bot.label != bot_id:
                    bot.label = bot_id  # its calls and faults are then named by the Funil id
        return found

    def botfather(self, username: str, token: str | None = None) -> FakeBot:
        """@BotFather's /newbot (ValueError in BotFather's words for a bad or taken username)."""
        return self.fake.new_bot(username, token)

    def set_webhook(self, token: str, bot_id: str, secret: str) -> None:
        """What ``POST /api/v1/bots`` has Telegram do, for a bot written straight into the table."""
        url = f"{os.environ.get('PUBLIC_BASE_URL') or self.stack.base_url}/tg/{bot_id}"
        answer = self.fake.call(token, "setWebhook", {"url": url, "secret_token": secret})
        if answer.status != 200:
            raise RuntimeError(f"the fake Bot API refused setWebhook for {bot_id}: {answer.payload}")

    def calls_of(self, bot_id: str) -> list[dict[str, Any]]:
        """The bot's calls with their outcome, those made before its webhook named it included."""
        known = self.credentials.get(bot_id)
        match = TOKEN_RE.match(known[0]) if known else None
        return self.fake.detailed(match.group("id") if match else bot_id)

    # -- updates ----------------------------------------------------------------------------------

    def inject(self, bot_id: str, update: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Deliver ``update`` to the real webhook route, as Telegram does."""
        from local.apigw import ClientRequest

        known = self.credentials.get(bot_id)
        if known is None:
            return 404, {"error": "unknown bot"}
        update = dict(update)
        update.setdefault("update_id", self.next_update_id())
        _, secret = known
        body = json.dumps(update, ensure_ascii=False).encode()
        request = ClientRequest(
            method="POST",
            target=f"/tg/{bot_id}",
            protocol="HTTP/1.1",
            headers=[
                ("host", self.stack.base_url.split("//", 1)[-1]),
                ("content-type", "application/json"),
                (SECRET_HEADER, secret),
                ("user-agent", "TelegramBot (like TwitterBot)"),
            ],
            body=body,
            source_ip="91.108.6.1",  # Telegram's webhook range
            scheme="https",
            port=self.stack.port,
        )
        status, _headers, answer = self.stack.handle(request)
        return status, {"update_id": update["update_id"], "status": status, "body": answer.decode("utf-8", "replace")}

    def join(self, bot_id: str, invite_link: str, user: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The buyer opens an invite link the bot created."""
        created = [
            call
            for call in self.calls_of(bot_id)
            if call["method"] == "createChatInviteLink" and call["ok"] and call["result"]["invite_link"] == invite_link
        ]
        if not created:
            return 404, {"error": "no such invite link from this bot"}
        link = created[-1]["result"]
        chat_id = created[-1]["params"].get("chat_id")
        if not link.get("creates_join_request"):
            return 200, {"joined": True, "chat_id": chat_id}
        chat = {"id": chat_id, "type": "supergroup", "title": "Grupo VIP"}
        update = {
            "chat_join_request": {
                "chat": chat,
                "from": user,
                "user_chat_id": user.get("id"),
                "date": int(time.time()),
                "invite_link": link,
            }
        }
        status, payload = self.inject(bot_id, update)
        return status, {"joined": False, "requested": True, **payload}


def _pending_payments(stack: LocalStack, bot_id: str, chat: str | None) -> list[dict[str, Any]]:
    from local.server import _scan

    payments = [
        item
        for item in _scan(stack.resources.tables["AppTable"], "PAYMENT#")
        if item.get("sk") == "PAYMENT"
        and item.get("bot_id") == bot_id
        and item.get("status") == "pending"
        and not item.get("bundle_of")  # an order bump's part is paid by its main payment's charge
    ]
    if chat is not None:
        payments = [item for item in payments if str(item.get("telegram_user_id")) == chat]
    payments.sort(key=lambda item: str(item.get("created_at", "")), reverse=True)
    return [
        {key: item.get(key) for key in ("payment_id", "offer_id", "amount_cents", "currency", "created_at", "method")}
        for item in payments
    ]


def _chat_of(call: dict[str, Any]) -> str | None:
    params = call.get("params") or {}
    for name in ("chat_id", "user_id"):
        if name in params:
            return str(params[name])
    return None


def register(stack: LocalStack, fake: FakeTelegramApi | None = None) -> FakeTelegramApi:  # noqa: PLR0915 - routes
    from local.server import LocalResponse

    # Strict: only the tokens BotFather gave (POST /_local/telegram/bots, the demo's) are valid.
    telegram = TelegramLocal(stack, fake or FakeTelegramApi(strict_tokens=True))
    api = telegram.fake

    def bot_api(request: LocalRequest) -> LocalResponse:
        query = urlencode(request.query, doseq=True)
        result = api.serve(request.method, request.path, query, request.headers, request.body)
        if request.path.lower().endswith("webhook"):
            telegram.credentials  # noqa: B018 - names the bot by its Funil id from its next call on
        return LocalResponse(result.status, result.body, {"content-type": "application/json"})

    def botfather(request: LocalRequest) -> LocalResponse:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or set(body) - {"username"} or not isinstance(body.get("username"), str):
            return LocalResponse.json({"error": 'body: {"username": "<name>Bot"}'}, 400)
        try:
            bot = telegram.botfather(body["username"])
        except UsernameTaken as error:
            return LocalResponse.json({"error": str(error)}, 409)
        except ValueError as error:
            return LocalResponse.json({"error": str(error)}, 400)
        return LocalResponse.json({"token": bot.token, "username": bot.username, "id": bot.user_id}, 201)

    def calls(request: LocalRequest) -> LocalResponse:
        bot_id = request.path_params["bot_id"]
        chat = request.arg("chat")
        detailed = [call for call in telegram.calls_of(bot_id) if chat is None or _chat_of(call) == chat]
        if request.arg("detail") in {"1", "true"}:
            listed = [
                {key: call.get(key) for key in ("method", "params", "ok", "status", "result", "description", "at")}
                for call in detailed
            ]
        else:
            listed = [{"method": call["method"], "params": call["params"]} for call in detailed]
        return LocalResponse.json(listed)

    def violations(_: LocalRequest) -> LocalResponse:
        return LocalResponse.json(list(api.violations))

    def updates(request: LocalRequest) -> LocalResponse:
        try:
            update = request.json()
        except ValueError:
            return LocalResponse.json({"error": "body must be a JSON Update"}, 400)
        if not isinstance(update, dict):
            return LocalResponse.json({"error": "body must be a JSON Update"}, 400)
        status, payload = telegram.inject(request.path_params["bot_id"], update)
        return LocalResponse.json(payload, 404 if status == 404 and "error" in payload else 200)

    def faults(request: LocalRequest) -> LocalResponse:
        bot_id = request.path_params["bot_id"]
        try:
            spec = request.json() or {}
        except ValueError:
            return LocalResponse.json({"error": "body must be JSON"}, 400)
        kind = spec.get("kind") if isinstance(spec, dict) else None
        if kind == "block" and spec.get("chat_id") is not None:
            api.block(spec["chat_id"], bot=bot_id, times=spec.get("times"))
        elif kind == "rate_limit":
            api.rate_limit(
                int(spec.get("retry_after", 5)), bot=bot_id, chat_id=spec.get("chat_id"), times=spec.get("times", 1)
            )
        elif kind == "revoke" and bot_id in (known := telegram.credentials):
            api.revoke_token(known[bot_id][0])
        elif kind == "error" and isinstance(spec.get("status"), int):
            api.fail(
                TelegramFault(spec["status"], str(spec.get("description", "Error")), bot_id, times=spec.get("times", 1))
            )
        else:
            return LocalResponse.json(
                {"error": "kind: block (chat_id) | rate_limit (retry_after) | revoke | error"}, 400
            )
        return LocalResponse.json({"faults": len(api.faults), "revoked": len(api.revoked)}, 201)

    def file(request: LocalRequest) -> LocalResponse:
        try:
            index = int(request.path_params["n"])
        except ValueError:
            return LocalResponse.json({"error": "not found"}, 404)
        uploaded = api.file(index)
        if uploaded is None:
            return LocalResponse.json({"error": "not found"}, 404)
        content_type = (
            uploaded.content_type if uploaded.content_type.startswith("image/") else "application/octet-stream"
        )
        return LocalResponse(200, uploaded.data, {"content-type": content_type, "cache-control": "no-store"})

    def pending(request: LocalRequest) -> LocalResponse:
        return LocalResponse.json(_pending_payments(stack, request.path_params["bot_id"], request.arg("chat")))

    def join(request: LocalRequest) -> LocalResponse:
        try:
            body = request.json() or {}
        except ValueError:
            return LocalResponse.json({"error": "body must be JSON"}, 400)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("invite_link"), str)
            or not isinstance(body.get("user"), dict)
        ):
            return LocalResponse.json({"error": "invite_link and user required"}, 400)
        status, payload = telegram.join(request.path_params["bot_id"], body["invite_link"], body["user"])
        return LocalResponse.json(payload, status)

    def token_bot(token: str | None) -> str | None:
        """The bot a click's token was minted for (the link's rotation chose it), if the click exists."""
        from funil import keys
        from funil.adapters.dynamo import Table
        from funil.click.fields import click_fields

        if not token or not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
            return None
        stored = Table(stack.resources.tables["AppTable"]).get(*keys.click(token))
        click = click_fields(stored) if stored else {}
        return str(click["bot_id"]) if click.get("bot_id") else None

    def chat_for_token(request: LocalRequest) -> LocalResponse:
        token = request.arg("start")
        bot_id = token_bot(token)
        if bot_id is None or bot_id not in telegram.credentials:
            return LocalResponse.html(
                "<!doctype html><meta charset=utf-8><title>Token desconhecido</title><h1>Token desconhecido</h1>"
                '<p>Nenhum clique com esse token. Os bots: <a href="/_local/telegram">/_local/telegram</a>',
                404,
            )
        return LocalResponse(302, b"", {"location": f"/_local/chat/{bot_id}?{urlencode({'start': token})}"})

    def chat_page(request: LocalRequest) -> LocalResponse:
        bot_id = request.path_params["bot_id"]
        known = telegram.credentials
        if bot_id not in known:
            return LocalResponse.html(
                "<!doctype html><meta charset=utf-8><title>Bot desconhecido</title><h1>Bot desconhecido</h1>", 404
            )
        username = api.bots[known[bot_id][0]].username
        page = CHAT_PAGE.read_text(encoding="utf-8")
        settings: dict[str, Any] = {"botId": bot_id, "username": username}
        owner = token_bot(request.arg("start"))
        if owner is not None and owner != bot_id and owner in known:
            # Telegram would hand this token to another bot: say which, and link its chat.
            settings["tokenBot"] = {"id": owner, "username": api.bots[known[owner][0]].username}
        config = json.dumps(settings).replace("<", "\\u003c")
        response = LocalResponse.html(page.replace("/*__CONFIG__*/null", config))
        response.headers["cache-control"] = "no-store"
        return response

    def bots(_: LocalRequest) -> LocalResponse:
        listed = []
        for bot_id, (token, _secret) in telegram.credentials.items():
            listed.append(
                {
                    "bot_id": bot_id,
                    "username": api.bots[token].username,
                    "chat": f"{stack.base_url}/_local/chat/{bot_id}",
                    "calls": f"{stack.base_url}/_local/telegram/{bot_id}/calls",
                }
            )
        return LocalResponse.json(listed)

    def reset(_: LocalRequest) -> LocalResponse:
        api.clear()
        return LocalResponse(204)

    stack.add_route("ANY", TGAPI_PREFIX + "/{method+}", bot_api)
    stack.add_route("GET", "/_local/telegram", bots)
    stack.add_route("POST", "/_local/telegram/bots", botfather)
    stack.add_route("GET", "/_local/telegram/violations", violations)
    stack.add_route("DELETE", "/_local/telegram", reset)
    stack.add_route("GET", "/_local/telegram/{bot_id}/calls", calls)
    stack.add_route("POST", "/_local/telegram/{bot_id}/updates", updates)
    stack.add_route("POST", "/_local/telegram/{bot_id}/faults", faults)
    stack.add_route("GET", "/_local/telegram/{bot_id}/files/{n}", file)
    stack.add_route("GET", "/_local/telegram/{bot_id}/pending", pending)
    stack.add_route("POST", "/_local/telegram/{bot_id}/join", join)
    stack.add_route("GET", "/_local/chat", chat_for_token)
    stack.add_route("GET", "/_local/chat/{bot_id}", chat_page)
    stack.set_env("TELEGRAM_API_BASE_URL", stack.base_url + TGAPI_PREFIX)
    stack.set_env("PUBLIC_BASE_URL", stack.base_url)
    stack.telegram = telegram
    return api
