"""The demo in the local stack (``local.seed`` defines it), created once the fakes are mounted.

First an operator key, exactly as ``funil bootstrap`` makes it (``create_operator_key`` on the
table: the first key cannot come from the API). Then, when the stack has every fake the operator's
API checks the demo against (the Bot API, the Graph API, the sandbox: the default extensions), the
demo goes **through the API**, as a seller's setup would: ``POST /api/v1/tenants`` with the
operator's key, then its pixel, bots, gateway, offers and link with the new tenant's key, each an
HTTP request to the stack's own server, answered by the real AdminApiFunction; getMe, setWebhook,
the pixel's test event, the gateway's test call and webhook registration reach the fakes. The demo's
two bots were first made at the local @BotFather, with the demo's fixed tokens.

A stack started with only some of the fakes (tests that isolate one) cannot check the demo with the
outside world, so it gets the same demo **written directly** (``local.seed.seed_demo``, as handler
tests do) and the fakes it has are told what the API would have told them: the bots' webhooks are
set at the fake Bot API, the gateway's URL registered with the sandbox.

Either way the demo seller's admin chat (``DEMO_ADMIN_CHAT``) is then registered the way a seller
does it: a code from ``POST /api/v1/notifications/codes``, then ``/admin <code>`` sent to the demo's
first bot in that chat (an update through the real webhook), so the demo's sales are told there.
``POST /_local/seed {"admin_chat_id": N}`` registers another chat the same way.

Either way ``/_local/seed`` then shows the demo with ``api_url``, ``api_key`` (the demo tenant's)
and ``operator_key``, and the bots' tokens and webhook secrets as the fake Bot API knows them.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from local.sandbox_local import API_PREFIX as SANDBOX_API
from local.seed import (
    DEMO_ADMIN_CHAT,
    DEMO_BOTS,
    DEMO_PIXEL_ACCESS_TOKEN,
    DEMO_TENANT,
    SandboxCredentials,
    Seed,
    demo_gateway_request,
    demo_requests,
    demo_seed,
    demo_tenant_request,
    demo_token,
    name_gateway,
    seed_demo,
    seed_sandbox_gateway,
)

if TYPE_CHECKING:
    from funil.adapters.dynamo import Table

    from local.server import LocalRequest, LocalResponse, LocalStack

log = logging.getLogger("local.demo")

API_PREFIX = "/api/v1"
OPERATOR_KEY_NAME = "local stack"
TIMEOUT_SECONDS = 60.0  # a first request loads AdminApiFunction; creating a bot waits on the fake Bot API


class DemoSetupFailed(RuntimeError):
    """The operator's API refused a request of the demo: the stack cannot start as documented."""


def create_demo(stack: LocalStack) -> Seed:
    """The demo, through the API when every fake is mounted, else written directly (see above)."""
    from funil.adapters.dynamo import Table
    from funil.clock import utc_now
    from funil.operator.api_keys import create_operator_key

    table = Table(stack.resources.tables["AppTable"])
    operator = create_operator_key(table, OPERATOR_KEY_NAME, utc_now)
    if stack.telegram is not None and stack.graph is not None and stack.sandbox is not None:
        seed = through_the_api(stack, operator.key)
    else:
        seed = written_directly(stack, table)
    seed.api_url = stack.base_url
    seed.operator_key = operator.key
    if stack.telegram is not None:
        register_admin_chat(stack, seed, DEMO_ADMIN_CHAT)
    if stack.destinations is not None:  # the sale events also go to the local UTMify, TikTok, GA4, webhook
        from local.destinations_local import configure_demo

        key_id = stack.resources.keys["SecretsKey"]
        seed.destinations = configure_demo(table, key_id, seed.tenant_id, stack.base_url)
    return seed


def register_admin_chat(stack: LocalStack, seed: Seed, chat_id: int) -> None:
    """A code from the operator's API, then ``/admin <code>`` from ``chat_id`` to the demo's first bot."""
    import time

    with httpx.Client(base_url=stack.base_url + API_PREFIX, timeout=TIMEOUT_SECONDS) as http:
        code = _post(http, "/notifications/codes", {}, str(seed.api_key))["code"]
    person = {"id": chat_id, "is_bot": False, "first_name": "Admin", "language_code": "pt-br"}
    text = f"/admin {code}"
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Admin"},
        "from": person,
        "text": text,
        "entities": [{"offset": 0, "length": len("/admin"), "type": "bot_command"}],
    }
    status, answer = stack.telegram.inject(str(seed.bots[0]["id"]), {"message": message})
    if status != 200 or "admin_chat_" not in answer.get("body", "") or "refused" in answer["body"]:
        raise DemoSetupFailed(f"/admin for the demo's admin chat answered {status}: {answer.get('body')}")
    seed.admin_chat_id = chat_id


def through_the_api(stack: LocalStack, operator_key: str) -> Seed:
    telegram, sandbox = stack.telegram, stack.sandbox
    for index, (_, username, _) in enumerate(DEMO_BOTS):
        if demo_token(index) not in telegram.fake.bots:  # what the demo's seller did at @BotFather
            telegram.botfather(username, demo_token(index))
    account = sandbox.fake  # its first account is the demo's
    gateway = demo_gateway_request(stack.base_url + SANDBOX_API, account.api_key, account.webhook_secret)
    with httpx.Client(base_url=stack.base_url + API_PREFIX, timeout=TIMEOUT_SECONDS) as http:
        created = _post(http, "/tenants", demo_tenant_request(), operator_key)
        api_key = str(created["api_key"]["key"])
        for path, body in demo_requests(gateway):
            _post(http, path, body, api_key)
    known = telegram.credentials  # as the fake Bot API recorded them in setWebhook
    missing = [bot_id for bot_id, _, _ in DEMO_BOTS if bot_id not in known]
    if missing:
        raise DemoSetupFailed(f"the fake Bot API has no webhook for {', '.join(missing)}")
    seed = demo_seed({bot_id: known[bot_id] for bot_id, _, _ in DEMO_BOTS})
    name_gateway(seed, str(gateway["base_url"]))
    seed.api_key = api_key
    return seed


def _post(http: httpx.Client, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    answer = http.post(path, json=body, headers={"authorization": f"Bearer {key}"})
    if answer.status_code != 201:
        # The API's answer names the problem and never carries a secret (docs/operator-api.md).
        raise DemoSetupFailed(f"POST {API_PREFIX}{path} for the demo answered {answer.status_code}: {answer.text}")
    payload: dict[str, Any] = answer.json()
    return payload


def written_directly(stack: LocalStack, table: Table) -> Seed:
    from funil.clock import utc_now
    from funil.operator.api_keys import create_key
    from funil.operator.tenants import FIRST_KEY_NAME

    key_id = stack.resources.keys["SecretsKey"]
    seed = seed_demo(table, key_id, pixel_access_token=DEMO_PIXEL_ACCESS_TOKEN)
    seed.api_key = create_key(table, DEMO_TENANT, FIRST_KEY_NAME, utc_now).key
    if stack.telegram is not None:
        for bot in seed.bots:
            token, secret = str(bot["token"]), str(bot["webhook_secret"])
            if token not in stack.telegram.fake.bots:
                stack.telegram.botfather(str(bot["username"]), token)
            stack.telegram.set_webhook(token, str(bot["id"]), secret)
    if stack.sandbox is not None:
        account = stack.sandbox.fake
        seed_sandbox_gateway(
            table,
            key_id,
            stack.base_url + SANDBOX_API,
            seed,
            payments=stack.sandbox.payments_deps(),
            credentials=SandboxCredentials(account.api_key, account.webhook_secret, secrets.token_urlsafe(24)),
        )
    log.info("the demo was written directly: this stack lacks some of the fakes the operator's API checks it with")
    return seed


def admin_chat_route(stack: LocalStack) -> Callable[[LocalRequest], LocalResponse]:
    """``POST /_local/seed {"admin_chat_id": N}``: that private chat registers as the demo's admin chat."""
    from local.server import LocalResponse

    def route(request: LocalRequest) -> LocalResponse:
        if stack.seed is None or stack.telegram is None:
            return LocalResponse.json({"error": "the demo or the fake Bot API is not ready"}, 503)
        try:
            chat_id = json.loads(request.body or "{}").get("admin_chat_id")
        except (ValueError, AttributeError):
            chat_id = None
        if not isinstance(chat_id, int) or isinstance(chat_id, bool) or not 0 < chat_id < 2**52:
            return LocalResponse.json({"error": "give admin_chat_id, a positive Telegram user id"}, 400)
        try:
            register_admin_chat(stack, stack.seed, chat_id)
        except DemoSetupFailed as error:
            return LocalResponse.json({"error": str(error)}, 502)
        return LocalResponse.json(stack.seed.as_json())

    return route
