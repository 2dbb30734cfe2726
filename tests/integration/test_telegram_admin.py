"""A bot's admins and ``/painel``: the admin ids set through the operator's API (and the CLI), the
sign-in link the bot sends an admin, and that link signing in once through the dashboard.

Everything runs through the real handlers on moto: AdminApiFunction, TelegramWebhookFunction (real-
shaped updates; its Bot API calls go over HTTP to the fake, which checks each against the Bot API
spec) and DashboardFunction (``POST /app/login``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from funil.clock import to_epoch_s, utc_now
from funil.dashboard.sessions import session_key
from funil.operator.api_keys import create_key
from funil.operator.login_links import login_link_key, token_hash
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import event, given
from hypothesis import strategies as st
from typer.testing import Result

from local import aws
from local.fakes.telegram_api import FakeTelegramApi, RunningFake
from local.handlers import handler_globals
from tests.admin_api import Answer, caller, cli_through_handler, table_state
from tests.integration import test_hostile_input as hostile
from tests.integration.test_dashboard_api import COOKIE_RE, PUBLIC, Reply, dashboard_caller, link_token
from tests.integration.test_hostile_input import Records, route
from tests.telegram_fixtures import TOKEN_A
from tests.unit.bot.telegram_harness import TgEnv, make_env

logs = hostile.logs  # the fixture: every log record of the test, checked with Records.check

BIA, JOAO, ANA = 5550101, 5550102, 5550103  # Telegram users: two admins-to-be, a buyer
LINK_TEXT = "uma única vez"


@dataclass
class World:
    tg: TgEnv  # the webhook, the seeded tenant t_demo and its two bots
    api: Callable[..., Answer]
    app: Callable[..., Reply]
    invoke: Callable[..., Any]
    key: str  # t_demo's API key

    def set_admins(self, ids: Any, bot_id: str | None = None) -> Answer:
        answer = self.api("PATCH", f"/api/v1/bots/{bot_id or self.tg.bot_a}", {"admin_telegram_ids": ids}, key=self.key)
        self.tg_deps().forget_bot(bot_id or self.tg.bot_a)  # as BOT_CACHE_SECONDS passing would
        return answer

    def tg_deps(self) -> Any:
        return handler_globals(self.tg.handler)["DEPS"]

    def say(self, user_id: int, text: str, *, bot_id: str | None = None, **chat: Any) -> tuple[int, dict[str, Any]]:
        update = self.tg.message(user_id, text)
        update["message"]["chat"].update(chat)
        return self.tg.post(update, bot_id)

    def login_items(self) -> list[dict[str, Any]]:
        found = [json.loads(item) for item in table_state(self.tg.resources)]
        return [item for item in found if item["pk"]["S"].startswith("LOGIN#")]

    def replies(self, bot_id: str | None = None) -> list[dict[str, Any]]:
        return self.tg.sent("sendMessage", bot_id)


def new_world(
    aws_env: aws.Resources,
    table: Any,
    invoke: Callable[..., Any],
    telegram_api: FakeTelegramApi,
    telegram_server: RunningFake,
    monkeypatch: pytest.MonkeyPatch,
    public_base_url: str,
) -> World:
    # After aws_env wrote the template's values, before any handler loads (each reads it at import).
    monkeypatch.setenv("PUBLIC_BASE_URL", public_base_url)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram_server.base_url)
    tg = make_env(aws_env, table, telegram_api, telegram_server.base_url)
    key = create_key(table, tg.tenant, "painel", utc_now).key
    return World(tg, caller(invoke), dashboard_caller(invoke), invoke, key)


@pytest.fixture
def world(
    aws_env: aws.Resources,
    table: Any,
    invoke: Callable[..., Any],
    telegram_api: FakeTelegramApi,
    telegram_server: RunningFake,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    return new_world(aws_env, table, invoke, telegram_api, telegram_server, monkeypatch, PUBLIC)


def link_of(reply: dict[str, Any]) -> str:
    """The sign-in link of the bot's message: its one URL button's (the text never carries it)."""
    [[button]] = reply["reply_markup"]["inline_keyboard"]
    assert button["text"] == "📊 Abrir o painel" and set(button) == {"text", "url"}
    assert button["url"] not in reply["text"]
    return str(button["url"])


# -- the admin ids through the operator's API --------------------------------------------------------


def test_admin_ids_are_set_shown_and_cleared(world: World) -> None:
    bot = f"/api/v1/bots/{world.tg.bot_a}"
    assert world.api("GET", bot, key=world.key).body["admin_telegram_ids"] == []
    answer = world.set_admins([BIA, JOAO, BIA])
    assert answer.status == 200 and answer.body["admin_telegram_ids"] == [BIA, JOAO]  # once each, in order
    assert world.api("GET", bot, key=world.key).body["admin_telegram_ids"] == [BIA, JOAO]
    listed = world.api("GET", "/api/v1/bots", key=world.key).body["items"]
    assert {item["id"]: item["admin_telegram_ids"] for item in listed} == {
        world.tg.bot_a: [BIA, JOAO],
        world.tg.bot_b: [],
    }
    assert world.tg.table.get(f"BOT#{world.tg.bot_a}", "BOT")["admin_telegram_ids"] == [BIA, JOAO]
    other = world.api("PATCH", bot, {"welcome_text": "Oi!"}, key=world.key)
    assert other.body["admin_telegram_ids"] == [BIA, JOAO]  # a PATCH without them keeps them
    for cleared in ([], None):
        world.set_admins([ANA])
        answer = world.set_admins(cleared)
        assert answer.status == 200 and answer.body["admin_telegram_ids"] == []
        assert "admin_telegram_ids" not in world.tg.table.get(f"BOT#{world.tg.bot_a}", "BOT")


@pytest.mark.parametrize(
    ("ids", "field"),
    [
        ([0], "admin_telegram_ids.0"),
        ([BIA, -5], "admin_telegram_ids.1"),
        ([True], "admin_telegram_ids.0"),
        ([1.5], "admin_telegram_ids.0"),
        ([float(BIA)], "admin_telegram_ids.0"),
        ([str(BIA)], "admin_telegram_ids.0"),
        ([2**63], "admin_telegram_ids.0"),
        (list(range(1, 12)), "admin_telegram_ids"),
        (BIA, "admin_telegram_ids"),
        ({"id": BIA}, "admin_telegram_ids"),
    ],
)
def test_bad_admin_ids_are_422_and_change_nothing(world: World, ids: Any, field: str) -> None:
    world.set_admins([ANA])
    before = table_state(world.tg.resources)
    answer = world.set_admins(ids)
    assert answer.status == 422 and answer.error_fields == [field], answer.body
    assert table_state(world.tg.resources) == before


def test_another_tenants_bot_is_404_and_unchanged(world: World) -> None:
    outra = create_tenant(world.tg.table, TenantCreate(id="t_outra", name="Outra"), utc_now)[1].key
    before = table_state(world.tg.resources)
    answer = world.api("PATCH", f"/api/v1/bots/{world.tg.bot_a}", {"admin_telegram_ids": [BIA]}, key=outra)
    assert answer.status == 404
    assert table_state(world.tg.resources) == before


def test_a_bot_added_with_admins(world: World) -> None:
    world.tg.fake.register_bot(TOKEN_A, "bot_bia", "loja_bia_bot")
    answer = world.api(
        "POST", "/api/v1/bots", {"token": TOKEN_A, "admin_telegram_ids": [BIA, BIA, JOAO]}, key=world.key
    )
    assert answer.status == 201 and answer.body["admin_telegram_ids"] == [BIA, JOAO]
    assert world.tg.table.get(f"BOT#{answer.body['id']}", "BOT")["admin_telegram_ids"] == [BIA, JOAO]
    before = table_state(world.tg.resources)
    refused = world.api("POST", "/api/v1/bots", {"token": TOKEN_A, "id": "x", "admin_telegram_ids": [0]}, key=world.key)
    assert refused.status == 422 and refused.error_fields == ["admin_telegram_ids.0"]
    assert table_state(world.tg.resources) == before
    without = world.tg.table.get(f"BOT#{world.tg.bot_b}", "BOT")
    assert "admin_telegram_ids" not in without  # a bot nobody gave admins has no attribute


def test_the_openapi_document_describes_the_admin_ids(world: World) -> None:
    schemas = world.api("GET", "/api/v1/openapi.json").body["components"]["schemas"]
    for model in ("BotCreate", "BotUpdate"):
        field = schemas[model]["properties"]["admin_telegram_ids"]
        [array] = [option for option in field["anyOf"] if option.get("type") == "array"]
        assert array["maxItems"] == 10 and array["items"]["type"] == "integer"
        assert "/painel" in field["description"]


# -- /painel in the bot ----------------------------------------------------------------------------


def test_an_admins_painel_gets_a_link_that_signs_in_once(world: World) -> None:
    world.set_admins([BIA])
    before = to_epoch_s(utc_now())
    assert world.say(BIA, "/painel") == (200, {"ok": True, "outcome": "dashboard_link"})
    [reply] = world.replies()
    assert reply["chat_id"] == BIA and reply["parse_mode"] == "HTML"
    assert LINK_TEXT in reply["text"] and "15 minutos" in reply["text"]
    token = link_token(link_of(reply))
    stored = world.tg.table.get(*login_link_key(token_hash(token)), consistent=True)
    assert stored["tenant_id"] == world.tg.tenant and stored["type"] == "login_link"
    assert stored["via"] == f"telegram:{world.tg.bot_a}:{BIA}" and "key_id" not in stored
    assert before + 15 * 60 <= stored["expires_at"] <= to_epoch_s(utc_now()) + 15 * 60
    assert token not in "\n".join(table_state(world.tg.resources))  # only its hash is kept
    assert world.tg.lead(BIA) is None  # an admin asking for the dashboard is no lead

    signed_in = world.app("POST", "/app/login", form=f"token={token}")
    assert signed_in.status == 303
    cookie = COOKIE_RE.match(signed_in.cookies[0]).group(1)  # type: ignore[union-attr]
    session = world.tg.table.get(*session_key(token_hash(cookie)), consistent=True)
    assert session["tenant_id"] == world.tg.tenant and "key_id" not in session
    assert world.app("GET", "/app/api/session", cookie=cookie).body["tenant_id"] == world.tg.tenant
    assert world.app("POST", "/app/login", form=f"token={token}").status == 400  # once


def test_the_api_and_the_bot_record_who_asked(world: World) -> None:
    """One function makes both kinds of link; each records who asked."""
    world.set_admins([BIA])
    world.say(BIA, "/painel")
    created = world.api("POST", "/api/v1/login-links", key=world.key)
    assert created.status == 201
    by_api = world.tg.table.get(*login_link_key(token_hash(link_token(created.body["url"]))), consistent=True)
    by_bot = world.tg.table.get(*login_link_key(token_hash(link_token(link_of(world.replies()[0])))), consistent=True)
    assert by_api["via"] == "api" and by_api["key_id"].startswith("key_")
    assert by_bot["via"] == f"telegram:{world.tg.bot_a}:{BIA}" and "key_id" not in by_bot
    assert set(by_api) - {"key_id"} == set(by_bot)  # otherwise the same item


@pytest.mark.parametrize("text", ["/dashboard", "/painel@FunilDemoABot", "/PAINEL", "/painel agora"])
def test_the_command_s_other_spellings(world: World, text: str) -> None:
    world.set_admins([BIA])
    assert world.say(BIA, text)[1]["outcome"] == "dashboard_link"
    [reply] = world.replies()
    assert world.app("POST", "/app/login", form=f"token={link_token(link_of(reply))}").status == 303


def test_each_admin_of_each_bot_gets_their_own_link(world: World) -> None:
    world.set_admins([BIA, JOAO])
    world.set_admins([JOAO], world.tg.bot_b)
    for user, bot_id in ((BIA, world.tg.bot_a), (JOAO, world.tg.bot_a), (JOAO, world.tg.bot_b)):
        assert world.say(user, "/painel", bot_id=bot_id)[1]["outcome"] == "dashboard_link"
    assert world.say(BIA, "/painel", bot_id=world.tg.bot_b)[1]["outcome"] == "menu"  # not bot B's admin
    links = [link_of(reply) for reply in world.replies()] + [link_of(world.replies(world.tg.bot_b)[0])]
    assert len(set(links)) == 3
    assert {item["via"]["S"] for item in world.login_items()} == {
        f"telegram:{world.tg.bot_a}:{BIA}",
        f"telegram:{world.tg.bot_a}:{JOAO}",
        f"telegram:{world.tg.bot_b}:{JOAO}",
    }


def test_anyone_elses_painel_is_any_other_text(world: World) -> None:
    """A buyer's /painel is answered exactly as an unknown command: the offers, no link, no hint."""
    world.set_admins([BIA])
    assert world.say(ANA, "/qualquercoisa")[1]["outcome"] == "menu"
    for text in ("/painel", "/dashboard", "/painel@FunilDemoABot"):
        assert world.say(ANA, text) == (200, {"ok": True, "outcome": "menu"})
    unknown, *painel = world.replies()
    assert all(reply == unknown for reply in painel)
    assert all(button.get("callback_data") for row in unknown["reply_markup"]["inline_keyboard"] for button in row)
    assert "painel" not in json.dumps(world.replies(), ensure_ascii=False).lower()
    assert world.login_items() == []


def test_a_bot_without_admins_and_a_removed_admin_get_no_link(world: World) -> None:
    assert world.say(BIA, "/painel")[1]["outcome"] == "menu"
    world.set_admins([BIA])
    assert world.say(BIA, "/painel")[1]["outcome"] == "dashboard_link"
    world.set_admins([])
    assert world.say(BIA, "/painel")[1]["outcome"] == "menu"
    assert len(world.login_items()) == 1


@pytest.mark.parametrize("chat", [{"id": -100777, "type": "supergroup", "title": "VIP"}, {"id": -777, "type": "group"}])
def test_a_group_chat_gets_nothing(world: World, chat: dict[str, Any]) -> None:
    world.set_admins([BIA])
    for text in ("/painel", "/painel@FunilDemoABot", "/dashboard"):
        assert world.say(BIA, text, **chat)[1]["outcome"] == "ignored"
    assert world.tg.fake.recorded() == []
    assert world.login_items() == []


def test_a_redelivered_update_makes_no_second_link(world: World) -> None:
    world.set_admins([BIA])
    update = world.tg.message(BIA, "/painel")
    assert world.tg.post(json.loads(json.dumps(update)))[1]["outcome"] == "dashboard_link"
    assert world.tg.post(json.loads(json.dumps(update))) == (200, {"ok": True, "outcome": "duplicate"})
    assert len(world.replies()) == 1 and len(world.login_items()) == 1


def test_when_telegram_is_busy_the_redelivery_sends_a_fresh_link(world: World) -> None:
    world.set_admins([BIA])
    world.tg.fake.rate_limit(3, bot=world.tg.bot_a, method="sendMessage")
    update = world.tg.message(BIA, "/painel")
    assert world.tg.post(json.loads(json.dumps(update)))[0] == 503  # Telegram redelivers it
    assert world.tg.post(json.loads(json.dumps(update)))[1]["outcome"] == "dashboard_link"
    [reply] = world.replies()
    assert world.app("POST", "/app/login", form=f"token={link_token(link_of(reply))}").status == 303


def test_without_a_public_address_the_admin_is_told_and_nothing_is_written(
    aws_env: aws.Resources,
    table: Any,
    invoke: Callable[..., Any],
    telegram_api: FakeTelegramApi,
    telegram_server: RunningFake,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = new_world(aws_env, table, invoke, telegram_api, telegram_server, monkeypatch, "")
    assert world.set_admins([BIA]).status == 200  # admins need no public address; links do
    before = {item for item in table_state(aws_env) if "TGUPDATE#" not in item}
    assert world.say(BIA, "/painel")[1]["outcome"] == "dashboard_unconfigured"
    [reply] = world.replies()
    assert "não está disponível" in reply["text"] and "reply_markup" not in reply
    assert {item for item in table_state(aws_env) if "TGUPDATE#" not in item} == before
    assert world.say(ANA, "/painel")[1]["outcome"] == "menu"  # the others still learn nothing


def test_no_link_in_any_log(world: World, logs: Records) -> None:
    world.set_admins([BIA])
    world.say(BIA, "/painel")
    token = link_token(link_of(world.replies()[0]))
    logs.check((token,))


# -- hostile admin ids -------------------------------------------------------------------------------

ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
IDS = st.lists(
    st.integers(min_value=1, max_value=2**63 - 1)
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.sampled_from([0, 2**63, True, 1.0, "123", None]),
    max_size=12,
)
BODIES = st.one_of(
    st.fixed_dictionaries({"admin_telegram_ids": IDS | ANYTHING}),
    st.fixed_dictionaries(
        {"admin_telegram_ids": IDS},
        optional={"enabled": st.booleans() | ANYTHING, "x": ANYTHING, "pix_expires_minutes": st.integers(-5, 2000)},
    ),
    st.dictionaries(st.sampled_from(["admin_telegram_ids", "enabled", "token", "x"]), ANYTHING, max_size=4),
    st.text(max_size=80),
)


def expected_ids(ids: Any) -> list[int] | None:
    """What the API must store for a valid list (None: the list is refused)."""
    if not isinstance(ids, list) or len(ids) > 10:
        return None
    if not all(type(item) is int and 0 < item < 2**63 for item in ids):
        return None
    return list(dict.fromkeys(ids))


@given(body=BODIES)
@route(tests=1)
def test_hostile_admin_ids_never_fail_inside_and_change_nothing_when_refused(
    world: World, logs: Records, body: Any
) -> None:
    before = table_state(world.tg.resources)
    raw = body if isinstance(body, str) else json.dumps(body)
    answer = world.api("PATCH", f"/api/v1/bots/{world.tg.bot_a}", raw, key=world.key)
    event(f"status {answer.status}")
    assert answer.status in {200, 422}, answer
    assert "Traceback" not in json.dumps(answer.body)
    logs.check()
    stored = world.tg.table.get(f"BOT#{world.tg.bot_a}", "BOT", consistent=True)
    if answer.status == 422:
        assert table_state(world.tg.resources) == before
        return
    assert isinstance(body, dict)
    if "admin_telegram_ids" in body:
        wanted = expected_ids(body["admin_telegram_ids"]) if body["admin_telegram_ids"] is not None else []
        assert wanted is not None, body
        assert answer.body["admin_telegram_ids"] == wanted
        assert stored.get("admin_telegram_ids", []) == wanted


def test_the_hostile_oracle_refuses_what_the_api_refuses(world: World) -> None:
    """The property's own oracle, checked on a few cases it must get right."""
    assert expected_ids([1, 1, 2]) == [1, 2]
    assert expected_ids([True]) is None and expected_ids([1.0]) is None and expected_ids(list(range(1, 12))) is None
    assert world.set_admins([True]).status == 422


# -- who gets a link: any update, any sender -----------------------------------------------------------

TEXTS = st.sampled_from(
    ["/painel", "/dashboard", "/Painel", "/painel@FunilDemoABot", "/painel@OutroBot", "/painel x", "/paine", "painel"]
)
CHATS = st.sampled_from(["private", "group", "supergroup", "channel"])


@given(sender=st.sampled_from([BIA, JOAO, ANA]), text=TEXTS, chat_type=CHATS)
@route(tests=1)
def test_only_an_admins_private_painel_ever_makes_a_link(
    world: World, logs: Records, sender: int, text: str, chat_type: str
) -> None:
    if world.tg.table.get(f"BOT#{world.tg.bot_a}", "BOT").get("admin_telegram_ids") is None:
        world.set_admins([BIA, JOAO])
    links = len(world.login_items())
    chat = {} if chat_type == "private" else {"id": -100555, "type": chat_type, "title": "G"}
    status, body = world.say(sender, text, **chat)
    command, _, addressed = text.split(maxsplit=1)[0].partition("@")
    wanted = (
        sender in {BIA, JOAO}
        and chat_type == "private"
        and command.lower() in {"/painel", "/dashboard"}
        and addressed in {"", "FunilDemoABot"}
    )
    event(f"outcome {body['outcome']}")
    assert status == 200
    assert (body["outcome"] == "dashboard_link") is wanted
    assert len(world.login_items()) == links + (1 if wanted else 0)
    logs.check()


# -- the CLI -----------------------------------------------------------------------------------------


@pytest.fixture
def funil(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Callable[..., Result]:
    """``funil("bots", "admins", …)``: the CLI, its HTTP answered by the AdminApiFunction handler."""
    return cli_through_handler(world.invoke, world.key, monkeypatch, tmp_path)


def test_funil_bots_admins_sets_and_clears_them(world: World, funil: Callable[..., Result]) -> None:
    bot = world.tg.bot_a
    result = funil("--json", "bots", "admins", bot, "--admin", str(BIA), "--admin", str(JOAO))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["admin_telegram_ids"] == [BIA, JOAO]
    world.tg_deps().forget_bot(bot)
    assert world.say(JOAO, "/painel")[1]["outcome"] == "dashboard_link"
    result = funil("--json", "bots", "admins", bot, "--clear")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["admin_telegram_ids"] == []
    before = table_state(world.tg.resources)
    for wrong in ((), ("--admin", str(BIA), "--clear")):
        refused = funil("bots", "admins", bot, *wrong)
        assert refused.exit_code == 2 and "--admin" in refused.stderr
    refused = funil("bots", "admins", bot, "--admin", "0")
    assert refused.exit_code == 1 and "admin_telegram_ids" in refused.stderr
    assert table_state(world.tg.resources) == before


def test_funil_bots_add_with_admins(world: World, funil: Callable[..., Result]) -> None:
    world.tg.fake.register_bot(TOKEN_A, "bot_bia", "loja_bia_bot")
    result = funil("--json", "bots", "add", "--token", TOKEN_A, "--admin", str(BIA))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["admin_telegram_ids"] == [BIA]
