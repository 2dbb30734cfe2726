"""The `funil` CLI against the real local stack: template.yaml's AdminApiFunction behind the dev server, on moto.

The stack runs in this process, so `funil bootstrap --table AppTable` writes into the stack's own
moto table, exactly as it writes into a deployed stack's table with the deployer's credentials.
Onboarding a second seller uses the CLI alone, plus the two stand-ins for what a seller does
outside Funil: the local @BotFather (``POST /_local/telegram/bots``) and the sandbox gateway's
dashboard (``POST /_local/sandbox/accounts``); the sale then goes through the link it made.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from funil_cli.main import app
from typer.testing import CliRunner, Result

from local.server import LocalStack, start_stack

Cli = Callable[..., Result]

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
BIA_META_PIXEL = "2233445566778899"
BIA_META_TOKEN = "EAAGbiaLocalConversionsToken0123456789"  # of Meta's shape: the local Graph API takes it
BIA_VIP_CHAT = -1002000000002
BUYER = {"id": 5550101, "is_bot": False, "first_name": "Carla", "language_code": "pt-br"}
WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with start_stack(port=0, schedule_speed=None) as started:
        yield started


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def seed(http: httpx.Client) -> dict[str, Any]:
    return dict(http.get("/_local/seed").json())


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The CLI with a config file of this test's own and nothing from the machine's environment."""
    env = {"FUNIL_CONFIG": str(tmp_path / "config.toml"), "FUNIL_API_URL": None, "FUNIL_API_KEY": None}
    env |= {"FUNIL_LANG": "en", "FUNIL_DEBUG": None}

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=env)

    return run


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.stderr
    return result


def as_json(result: Result) -> Any:
    return json.loads(ok(result).stdout)


def refused(result: Result, status: int) -> str:
    assert result.exit_code == 1, result.stdout
    assert result.stderr.startswith(f"error: the API answered {status}: "), result.stderr
    assert "Traceback" not in result.stderr
    return str(result.stderr)


def eventually(condition: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Poll ``condition`` until it is truthy (its value is returned), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_operator_creates_a_tenant_whose_key_then_lists_its_keys(stack: LocalStack, cli: Cli) -> None:
    table = stack.resources.tables["AppTable"]
    operator_key = json.loads(ok(cli("--json", "bootstrap", "--table", table)).stdout)["operator_key"]["key"]

    ok(cli("login", "--url", stack.base_url, "--key", operator_key))
    created = json.loads(ok(cli("--json", "tenants", "create", "Loja da Ana", "--id", "t_cli_ana")).stdout)
    assert created["tenant"]["id"] == "t_cli_ana"
    tenant_key = created["api_key"]["key"]
    assert "t_cli_ana" in ok(cli("tenants", "list")).stdout

    ok(cli("login", "--url", stack.base_url, "--key", tenant_key))
    listed = json.loads(ok(cli("--json", "keys", "list")).stdout)
    assert [key["id"] for key in listed["items"]] == [created["api_key"]["id"]]
    assert ok(cli("keys", "list")).stdout.count(created["api_key"]["id"]) == 1

    refused_key = cli("--api-key", "fnl_not_a_key_of_this_deployment", "keys", "list")
    assert refused_key.exit_code == 1
    assert refused_key.stderr.strip() == (
        "error: the API answered 401: unknown or revoked API key; check the key (funil login)"
    )
    forbidden = cli("tenants", "list")  # a tenant's key on the operator's route
    assert forbidden.exit_code == 1
    assert forbidden.stderr.startswith("error: the API answered 403: ")


def test_the_seeds_operator_key_creates_a_tenant(stack: LocalStack, cli: Cli, seed: dict[str, Any]) -> None:
    result = ok(cli("--api-url", stack.base_url, "--api-key", seed["operator_key"], "--json", "tenants", "create", "B"))
    assert json.loads(result.stdout)["api_key"]["key"].startswith("fnl_")


# --- the demo, made through the operator's API ------------------------------------------------------


def test_the_seeds_api_key_is_the_demo_tenants(stack: LocalStack, cli: Cli, seed: dict[str, Any]) -> None:
    assert seed["api_url"] == stack.base_url
    as_demo = ("--api-url", seed["api_url"], "--api-key", seed["api_key"], "--json")
    bots = as_json(cli(*as_demo, "bots", "list"))["items"]
    assert [(bot["id"], bot["username"]) for bot in bots] == [
        ("bot_demo_a", "FunilDemoABot"),
        ("bot_demo_b", "FunilDemoBBot"),
    ]
    (link,) = as_json(cli(*as_demo, "links", "list"))["items"]
    assert (link["slug"], link["url"], link["pixel_id"]) == ("demo", f"{stack.base_url}/go/demo", "px_demo")
    assert link["bots"] == [{"id": "bot_demo_a", "weight": 3}, {"id": "bot_demo_b", "weight": 1}]
    offers = as_json(cli(*as_demo, "offers", "list"))["items"]
    assert {(offer["id"], offer["price_cents"], tuple(offer["bot_ids"])) for offer in offers} == {
        ("grupo_vip", 1990, ("bot_demo_a", "bot_demo_b")),
        ("curso", 9700, ("bot_demo_a", "bot_demo_b")),
        ("grupo_vip_7d", 990, ("bot_demo_a", "bot_demo_b")),
        ("mentoria", 19700, ("bot_demo_a", "bot_demo_b")),
        ("checklist", 1490, ("bot_demo_a", "bot_demo_b")),
    }
    (gateway,) = as_json(cli(*as_demo, "gateways", "list"))["items"]
    assert (gateway["id"], gateway["kind"]) == ("gw_sandbox_demo", "sandbox")
    (pixel,) = as_json(cli(*as_demo, "pixels", "list"))["items"]
    assert (pixel["id"], pixel["meta_pixel_id"], pixel["access_token_set"]) == ("px_demo", "1234567890123456", True)


def test_the_demo_went_through_the_outside_world_as_a_sellers_setup_does(
    stack: LocalStack, http: httpx.Client, seed: dict[str, Any]
) -> None:
    from local.seed import DEMO_META_PIXEL_ID, demo_offers

    # Telegram: getMe proved each token, setWebhook gave it our route and the secret the seed shows.
    for bot in seed["bots"]:
        calls = stack.telegram.fake.detailed(bot["token"].split(":", 1)[0])
        assert [call["method"] for call in calls[:2]] == ["getMe", "setWebhook"]
        hook = calls[1]["params"]
        assert (hook["url"], hook["secret_token"]) == (f"{stack.base_url}/tg/{bot['id']}", bot["webhook_secret"])
    # Meta: the pixel's token was proven with one test event before the pixel was stored.
    checks = [e for e in stack.graph.events(DEMO_META_PIXEL_ID) if e["event_name"] == "FunilConnectionCheck"]
    assert len(checks) == 1
    # The sandbox: the test call, then our webhook URL registered for the demo's account.
    assert re.fullmatch(
        rf"{re.escape(stack.base_url)}/pay/gw_sandbox_demo/[A-Za-z0-9_-]+", stack.sandbox.fake.webhook_url
    )
    # The items are those the direct seed writes for handler tests: one definition of the demo.
    stored = {(i["bot_id"], i["offer_id"]): i for i in http.get("/_local/items", params={"prefix": "BOT#"}).json()
              if i.get("type") == "offer"}  # fmt: skip
    for bot in seed["bots"]:
        for offer in demo_offers(bot["id"]):
            expected = offer.to_item()
            assert {name: stored[(bot["id"], offer.offer_id)].get(name) for name in expected} == expected


# --- the local @BotFather and the sandbox's dashboard --------------------------------------------


def test_botfather_refuses_a_bad_or_taken_username_and_the_api_an_unknown_token(
    http: httpx.Client, cli: Cli, seed: dict[str, Any]
) -> None:
    assert http.post("/_local/telegram/bots", json={"username": "no"}).status_code == 400
    assert http.post("/_local/telegram/bots", json={"username": "NotEndingRight"}).status_code == 400
    assert http.post("/_local/telegram/bots", json={"name": "x"}).status_code == 400
    assert http.post("/_local/telegram/bots", json={"username": "funildemoabot"}).status_code == 409
    made = http.post("/_local/telegram/bots", json={"username": "Outra_Lojabot"})
    assert made.status_code == 201
    assert re.fullmatch(r"\d{10}:TEST-funil-local-[A-Za-z0-9_-]{22}", made.json()["token"])

    # A token BotFather never gave is refused by the fake Bot API (401), so by the API (422 on token).
    stranger = "7999999999:TEST-funil-local-nobody-gave-this-token"
    as_demo = ("--api-url", seed["api_url"], "--api-key", seed["api_key"])
    assert "token" in refused(cli(*as_demo, "bots", "add", "--token", stranger), 422)


def test_a_pixel_token_meta_would_refuse_is_422_on_access_token(cli: Cli, seed: dict[str, Any]) -> None:
    as_demo = ("--api-url", seed["api_url"], "--api-key", seed["api_key"])
    error = refused(cli(*as_demo, "pixels", "add", "3344556677889900", "--token", "not-a-meta-token-at-all"), 422)
    assert "access_token" in error


def test_sandbox_accounts_see_only_their_own_charges(stack: LocalStack, http: httpx.Client) -> None:
    first, second = (http.post("/_local/sandbox/accounts").json() for _ in range(2))
    assert first["api_key"] != second["api_key"] and first["webhook_secret"] != second["webhook_secret"]
    api = "/_local/sandbox/api"
    assert first["base_url"] == second["base_url"] == stack.base_url + api

    def as_account(account: dict[str, Any]) -> dict[str, str]:
        return {"authorization": f"Bearer {account['api_key']}"}

    charge = http.post(
        f"{api}/v1/charges", json={"reference": "b" * 32, "amount_cents": 500}, headers=as_account(first)
    )
    assert charge.status_code == 201
    assert http.get(f"{api}/v1/charges/{charge.json()['id']}", headers=as_account(second)).status_code == 404
    assert http.get(f"{api}/v1/charges", headers=as_account(second)).json() == {"charges": []}
    assert [c["id"] for c in http.get(f"{api}/v1/charges", headers=as_account(first)).json()["charges"]] == [
        charge.json()["id"]
    ]
    assert http.get(f"{api}/v1/charges", headers={"authorization": "Bearer nobody"}).status_code == 401
    assert http.post("/_local/sandbox/accounts", json={"api_key": "mine"}).status_code == 400


# --- a second seller, onboarded with the CLI alone, and a sale through its link ----------------------


def _inject(http: httpx.Client, bot_id: str, update: dict[str, Any]) -> None:
    answer = http.post(f"/_local/telegram/{bot_id}/updates", json=update)
    assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text


def _calls(http: httpx.Client, bot_id: str, chat: int) -> list[dict[str, Any]]:
    return list(http.get(f"/_local/telegram/{bot_id}/calls", params={"chat": str(chat)}).json())


def test_a_second_seller_onboarded_with_the_cli_sells_through_its_link(
    stack: LocalStack, http: httpx.Client, cli: Cli, seed: dict[str, Any]
) -> None:
    # The operator creates the tenant with the seed's operator key; the seller logs in with its key.
    created = as_json(cli("--api-url", seed["api_url"], "--api-key", seed["operator_key"], "--json",
                          "tenants", "create", "Loja da Bia"))  # fmt: skip
    tenant_id, bia_key = created["tenant"]["id"], created["api_key"]["key"]
    ok(cli("login", "--url", seed["api_url"], "--key", bia_key))

    # Outside Funil: a bot at @BotFather, an account at the gateway (the local stand-ins).
    botfather = http.post("/_local/telegram/bots", json={"username": "LojaDaBiaBot"})
    assert botfather.status_code == 201
    account = http.post("/_local/sandbox/accounts")
    assert account.status_code == 201

    pixel = as_json(cli("--json", "pixels", "add", BIA_META_PIXEL, "--token", BIA_META_TOKEN))
    assert (pixel["meta_pixel_id"], pixel["test_event"]["events_received"]) == (BIA_META_PIXEL, 1)
    bot = as_json(cli("--json", "bots", "add", "--token", botfather.json()["token"]))
    assert bot["username"] == "LojaDaBiaBot" and bot["health"]["status"] == "healthy"
    gateway = as_json(
        cli("--json", "gateways", "add", "sandbox", "--base-url", account.json()["base_url"],
            "--credential", f"api_key={account.json()['api_key']}",
            "--credential", f"webhook_secret={account.json()['webhook_secret']}")
    )  # fmt: skip
    assert gateway["webhook_url"].startswith(f"{stack.base_url}/pay/{gateway['id']}/")
    offer = as_json(
        cli("--json", "offers", "add", "vip_bia", "--title", "Grupo VIP da Bia", "--price", "29,90",
            "--invite-chat", str(BIA_VIP_CHAT), "--button", "Entrar no VIP da Bia")
    )  # fmt: skip
    assert (offer["bot_ids"], offer["price_cents"]) == ([bot["id"]], 2990)
    link = as_json(cli("--json", "links", "create", "loja", "--bot", "@LojaDaBiaBot:1", "--pixel", pixel["id"]))
    assert (link["url"], link["bots"]) == (f"{stack.base_url}/go/loja", [{"id": bot["id"], "weight": 1}])
    assert "LojaDaBiaBot" in ok(cli("bots", "list")).stdout  # the human table too

    # The ad click on the seller's link, from a phone: the bridge page names the bot's /start token.
    page = http.get("/go/loja", params={"fbclid": "IwAR0lojaDaBia"}, headers={"user-agent": PHONE})
    assert page.status_code == 200
    token = re.search(r"start=([A-Za-z0-9_-]{22})", page.text).group(1)  # type: ignore[union-attr]
    (click,) = http.get("/_local/items", params={"prefix": f"CLICK#{token}"}).json()
    assert click["b"] == bot["id"]

    # /start <token> in the seller's bot: its offer's PIX button.
    chat = {"id": BUYER["id"], "type": "private", "first_name": BUYER["first_name"]}
    now = int(time.time())
    _inject(http, bot["id"], {"message": {"message_id": 1, "date": now, "chat": chat, "from": BUYER,
                                          "text": f"/start {token}"}})  # fmt: skip
    buttons = [
        button["callback_data"]
        for call in _calls(http, bot["id"], BUYER["id"])
        for row in (call["params"].get("reply_markup") or {}).get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    ]
    assert "b:vip_bia" in buttons
    tap = {"id": "cb-bia-1", "from": BUYER, "chat_instance": "7", "data": "b:vip_bia",
           "message": {"message_id": 2, "date": now, "chat": chat, "text": "Ofertas"}}  # fmt: skip
    _inject(http, bot["id"], {"callback_query": tap})
    (pending,) = http.get(f"/_local/telegram/{bot['id']}/pending", params={"chat": str(BUYER["id"])}).json()
    payment_id = pending["payment_id"]
    (charge,) = [c for c in http.get("/_local/sandbox/charges").json() if c["reference"] == payment_id]
    assert charge["webhook_url"] == gateway["webhook_url"]  # the seller's account, the seller's URL

    # The buyer pays at the seller's sandbox account: its signed webhook confirms the payment.
    paid = http.post(f"/_local/sandbox/pay/{payment_id}").json()
    assert (paid["webhook_status"], paid["payment_status"]) == (200, "paid")

    def delivered() -> list[dict[str, Any]]:
        return [
            call
            for call in _calls(http, bot["id"], BUYER["id"])
            if call["method"] == "sendMessage" and "Entrar no VIP da Bia" in json.dumps(call, ensure_ascii=False)
        ]

    (delivery,) = eventually(delivered, "the invite link's delivery")
    assert "https://t.me/+" in json.dumps(delivery)
    invites = [c for c in _calls(http, bot["id"], BIA_VIP_CHAT) if c["method"] == "createChatInviteLink"]
    assert [invite["params"]["member_limit"] for invite in invites] == [1]

    def events() -> list[str] | None:
        names = sorted(e["event_name"] for e in http.get("/_local/capi", params={"token": token}).json())
        return names if len(names) >= 4 and stack.drain(5) else None

    assert eventually(events, "the click's four events") == ["InitiateCheckout", "Lead", "PageView", "Purchase"]
    at_bia = http.get("/_local/capi", params={"token": token, "pixel": BIA_META_PIXEL}).json()
    assert sorted(event["event_name"] for event in at_bia) == ["InitiateCheckout", "Lead", "PageView", "Purchase"]
    assert http.get("/_local/telegram/violations").json() == []

    # Each tenant's key sees its own things only; another's is as missing as nothing at all.
    assert [b["id"] for b in as_json(cli("--json", "bots", "list"))["items"]] == [bot["id"]]
    assert [lnk["slug"] for lnk in as_json(cli("--json", "links", "list"))["items"]] == ["loja"]
    assert [o["id"] for o in as_json(cli("--json", "offers", "list"))["items"]] == ["vip_bia"]
    assert [g["id"] for g in as_json(cli("--json", "gateways", "list"))["items"]] == [gateway["id"]]
    refused(cli("links", "show", "demo"), 404)
    refused(cli("bots", "show", "bot_demo_a"), 404)
    as_demo = ("--api-key", seed["api_key"], "--json")
    assert [b["id"] for b in as_json(cli(*as_demo, "bots", "list"))["items"]] == ["bot_demo_a", "bot_demo_b"]
    assert [lnk["slug"] for lnk in as_json(cli(*as_demo, "links", "list"))["items"]] == ["demo"]
    assert "vip_bia" not in {o["id"] for o in as_json(cli(*as_demo, "offers", "list"))["items"]}
    refused(cli("--api-key", seed["api_key"], "bots", "show", bot["id"]), 404)
    refused(cli("--api-key", seed["api_key"], "links", "show", "loja"), 404)
    assert tenant_id != seed["tenant_id"]
