"""``/api/v1/bots`` through the real handler, with the fake Bot API over HTTP.

A bot added through the API is then a working bot: its webhook secret (decrypted from the item) is
the one Telegram was given, and an update Telegram sends with it is handled by the Telegram webhook.
A refused or failed request leaves the table as it was (a snapshot of moto's store).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from funil import encryption
from funil.adapters.kms import Kms
from funil.bot.health import ALLOWED_UPDATES
from funil.clock import utc_now
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import event, given
from hypothesis import strategies as st

from local import aws
from local.fakes.telegram_api import FakeTelegramApi, RunningFake, TelegramFault
from tests.admin_api import Answer, caller, table_state
from tests.conftest import load_event
from tests.integration import test_hostile_input as hostile
from tests.integration.test_hostile_input import Records, route
from tests.telegram_fixtures import TOKEN_A, TOKEN_B

logs = hostile.logs  # the fixture: every log record of the test, checked with Records.check

PUBLIC = "https://funil.example"
UNKNOWN_TOKEN = "7000000009:TEST-fake-token-nobody-registered-zz"
SECRET_HEADER = "x-telegram-bot-api-secret-token"


@dataclass
class World:
    api: Callable[..., Answer]
    invoke: Callable[..., Any]
    table: Any
    resources: aws.Resources
    telegram: FakeTelegramApi
    bia: str  # tenant keys
    outra: str

    def add(self, body: Any, key: str | None = None) -> Answer:
        return self.api("POST", "/api/v1/bots", body, key=key or self.bia)

    def item(self, bot_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.table.get(f"BOT#{bot_id}", "BOT", consistent=True)
        return found


@pytest.fixture
def world(
    aws_env: aws.Resources,
    table: Any,
    invoke: Callable[..., Any],
    telegram_api: FakeTelegramApi,
    telegram_server: RunningFake,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    # Set here, after aws_env wrote the template's values: the handler loads on the first call.
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram_server.base_url)
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    telegram_api.strict_tokens = True  # like Telegram: a token nobody registered gets 401
    telegram_api.register_bot(TOKEN_A, username="loja_bia_bot")
    telegram_api.register_bot(TOKEN_B, username="loja_outra_bot")
    bia = create_tenant(table, TenantCreate(id="t_bia", name="Loja da Bia"), utc_now)[1].key
    outra = create_tenant(table, TenantCreate(id="t_outra", name="Outra"), utc_now)[1].key
    return World(caller(invoke), invoke, table, aws_env, telegram_api, bia, outra)


def put_pixel(table: Any, tenant_id: str, pixel_id: str) -> None:
    from funil.operator.models import Pixel

    table.put(Pixel(tenant_id=tenant_id, pixel_id=pixel_id, meta_pixel_id="123456789012345").to_item())


def telegram_update(world: World, bot_id: str, secret: str | None) -> dict[str, Any]:
    """Telegram's /start to the bot's webhook, as API Gateway hands it to TelegramWebhookFunction."""
    event = load_event("telegram_start.json")
    event["pathParameters"] = {"bot_id": bot_id}
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/tg/{bot_id}"
    event["headers"] = {name: value for name, value in event["headers"].items() if name != SECRET_HEADER}
    if secret is not None:
        event["headers"][SECRET_HEADER] = secret
    answer = world.invoke("TelegramWebhookFunction", event)
    return {"status": answer["statusCode"], **json.loads(answer["body"])}


# -- adding a bot ---------------------------------------------------------------------------------


def test_a_bot_added_through_the_api_answers_telegram(world: World, logs: Records) -> None:
    answer = world.add({"token": TOKEN_A, "welcome_text": "Oi, {nome}!", "pix_expires_minutes": 30})
    assert answer.status == 201, answer.body
    assert answer.body == {
        "id": "bot_7000000001",
        "username": "loja_bia_bot",
        "telegram_id": 7000000001,
        "enabled": True,
        "pixel_id": None,
        "welcome_text": "Oi, {nome}!",
        "support_text": None,
        "pix_expires_minutes": 30,
        "admin_telegram_ids": [],
        "health": {"status": "healthy", "reason": "webhook_set", "checked_at": answer.body["health"]["checked_at"]},
        "webhook_url": f"{PUBLIC}/tg/bot_7000000001",
        "created_at": answer.body["created_at"],
    }
    item = world.item("bot_7000000001")
    assert item is not None and item["tenant_id"] == "t_bia"
    assert item["gsi1pk"] == "TENANT#t_bia" and item["gsi2pk"] == "BOTS"
    kms = Kms()
    assert encryption.bot_token(kms, "bot_7000000001", item["token_ciphertext"]) == TOKEN_A
    secret = encryption.bot_webhook_secret(kms, "bot_7000000001", item["webhook_secret_ciphertext"])
    [hook] = world.telegram.sent("setWebhook")
    assert hook["url"] == f"{PUBLIC}/tg/bot_7000000001"
    assert hook["secret_token"] == secret and len(secret) >= 40
    assert hook["allowed_updates"] == list(ALLOWED_UPDATES)
    stored = "\n".join(table_state(world.resources))
    assert TOKEN_A not in stored and secret not in stored and TOKEN_A not in json.dumps(answer.body)

    # The chain: Telegram's update with that secret is the bot's; without it, nobody's.
    assert telegram_update(world, "bot_7000000001", "not-the-secret")["status"] == 404
    handled = telegram_update(world, "bot_7000000001", secret)
    assert handled == {"status": 200, "ok": True, "outcome": "start_organic_unknown_token"}
    [welcome] = world.telegram.sent("sendMessage")
    assert welcome["chat_id"] == 5550001 and welcome["text"].startswith("Oi, Maria!")
    logs.check((TOKEN_A, secret))


def test_an_explicit_id_a_pixel_and_the_list_of_the_tenants_bots(world: World) -> None:
    put_pixel(world.table, "t_bia", "px_bia")
    first = world.add({"token": TOKEN_A, "id": "vendas", "pixel_id": "px_bia"})
    assert first.status == 201 and first.body["id"] == "vendas" and first.body["pixel_id"] == "px_bia"
    assert world.telegram.sent("setWebhook")[0]["url"] == f"{PUBLIC}/tg/vendas"
    assert world.add({"token": TOKEN_B}).status == 201
    world.telegram.register_bot("7000000003:TEST-fake-token-for-tests-only-cccc", username="da_outra_bot")
    assert world.add({"token": "7000000003:TEST-fake-token-for-tests-only-cccc"}, key=world.outra).status == 201

    seen, cursor = [], None
    while True:
        page = world.api("GET", "/api/v1/bots", key=world.bia, limit=1, **({"cursor": cursor} if cursor else {}))
        assert page.status == 200 and len(page.body["items"]) <= 1
        seen += [bot["id"] for bot in page.body["items"]]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == ["bot_7000000002", "vendas"]
    for bot in world.api("GET", "/api/v1/bots", key=world.bia).body["items"]:
        assert not {"token", "token_ciphertext", "webhook_secret", "webhook_secret_ciphertext"} & set(bot)


def test_a_token_telegram_refuses_is_422_on_token_and_writes_nothing(world: World) -> None:
    before = table_state(world.resources)
    answer = world.add({"token": UNKNOWN_TOKEN})
    assert answer.status == 422 and answer.error_fields == ["token"]
    world.telegram.revoke_token(TOKEN_A)
    assert world.add({"token": TOKEN_A}).error_fields == ["token"]
    assert table_state(world.resources) == before
    assert world.telegram.sent("setWebhook") == []


@pytest.mark.parametrize(
    "token",
    ["", "7000000001", "abc:TEST-fake-token-for-tests-only-aaaa", "7000000001:short", TOKEN_A + " ", 12345],
)
def test_a_token_of_the_wrong_shape_never_reaches_telegram(world: World, token: Any) -> None:
    answer = world.add({"token": token})
    assert answer.status == 422 and answer.error_fields == ["token"]
    assert world.telegram.detailed() == []


def test_when_setwebhook_fails_the_bot_is_not_left_behind(world: World) -> None:
    before = table_state(world.resources)
    world.telegram.fail(TelegramFault(500, "Internal Server Error", method="setWebhook"))
    answer = world.add({"token": TOKEN_A})
    assert answer.status == 502 and "nothing was saved" in answer.body["error"]
    assert table_state(world.resources) == before
    world.telegram.fail(TelegramFault(401, "Unauthorized", method="setWebhook"))
    assert world.add({"token": TOKEN_A}).error_fields == ["token"]
    assert table_state(world.resources) == before
    world.telegram.rate_limit(3, method="getMe")
    assert world.add({"token": TOKEN_A}).status == 502
    assert table_state(world.resources) == before
    assert world.add({"token": TOKEN_A}).status == 201  # nothing stuck: the same request now works


def test_a_taken_id_or_the_same_telegram_bot_twice_is_409(world: World) -> None:
    assert world.add({"token": TOKEN_A}).status == 201
    before = table_state(world.resources)
    again = world.add({"token": TOKEN_A})
    assert again.status == 409 and "bot_7000000001" in again.body["error"]
    assert world.add({"token": TOKEN_A, "id": "outro_nome"}).status == 409  # one webhook per Telegram bot
    calls = len(world.telegram.detailed())
    assert world.add({"token": TOKEN_B, "id": "bot_7000000001"}, key=world.outra).status == 409
    assert len(world.telegram.detailed()) == calls  # a taken id is known before Telegram is asked
    # Another tenant holding the same token cannot take the bot's one webhook over under a new id.
    taken = world.add({"token": TOKEN_A, "id": "bot_roubado"}, key=world.outra)
    assert taken.status == 409 and "already added" in taken.body["error"]
    assert not any(call["method"] == "setWebhook" for call in world.telegram.detailed()[calls:])
    assert table_state(world.resources) == before
    assert len(world.telegram.sent("setWebhook")) == 1


def test_a_pixel_must_be_the_tenants_own(world: World) -> None:
    put_pixel(world.table, "t_outra", "px_outra")
    before = table_state(world.resources)
    for pixel_id in ("px_outra", "px_nenhum"):
        answer = world.add({"token": TOKEN_A, "pixel_id": pixel_id})
        assert answer.status == 422 and answer.error_fields == ["pixel_id"]
    assert table_state(world.resources) == before
    assert world.telegram.detailed() == []


def test_without_a_public_url_no_bot_is_added(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "")
    before = table_state(world.resources)
    answer = world.add({"token": TOKEN_A})
    assert answer.status == 503 and "PublicBaseUrl" in answer.body["error"]
    assert table_state(world.resources) == before and world.telegram.detailed() == []


# -- reading and changing ---------------------------------------------------------------------------


def test_another_tenants_bot_is_404_like_a_missing_one(world: World) -> None:
    assert world.add({"token": TOKEN_A}).status == 201
    before = table_state(world.resources)
    for bot_id in ("bot_7000000001", "bot_nenhum"):
        assert world.api("GET", f"/api/v1/bots/{bot_id}", key=world.outra).status == 404
        answer = world.api("PATCH", f"/api/v1/bots/{bot_id}", {"enabled": False}, key=world.outra)
        assert answer.status == 404 and answer.body == {"error": f"no bot {bot_id}"}
        assert world.api("PATCH", f"/api/v1/bots/{bot_id}", {"token": TOKEN_B}, key=world.outra).status == 404
    assert table_state(world.resources) == before
    assert world.api("GET", "/api/v1/bots", key=world.outra).body["items"] == []


def test_patch_changes_settings_and_null_clears(world: World) -> None:
    put_pixel(world.table, "t_bia", "px_bia")
    world.add({"token": TOKEN_A, "pixel_id": "px_bia", "support_text": "Fale comigo"})
    path = "/api/v1/bots/bot_7000000001"
    changed = world.api(
        "PATCH", path, {"enabled": False, "welcome_text": "Bem-vindo", "pix_expires_minutes": 15}, key=world.bia
    )
    assert changed.status == 200
    assert (changed.body["enabled"], changed.body["welcome_text"], changed.body["pix_expires_minutes"]) == (
        False,
        "Bem-vindo",
        15,
    )
    cleared = world.api("PATCH", path, {"pixel_id": None, "support_text": None}, key=world.bia)
    assert cleared.body["pixel_id"] is None and cleared.body["support_text"] is None
    item = world.item("bot_7000000001")
    assert item is not None and "pixel_id" not in item and "support_text" not in item
    refused = world.api("PATCH", path, {"enabled": None, "pix_expires_minutes": None}, key=world.bia)
    assert refused.status == 422 and refused.error_fields == ["enabled", "pix_expires_minutes"]
    assert world.api("PATCH", path, {"pixel_id": "px_nenhum"}, key=world.bia).error_fields == ["pixel_id"]
    assert world.api("PATCH", path, {"username": "x"}, key=world.bia).error_fields == ["username"]
    assert world.api("PATCH", path, {"welcome_text": " \n "}, key=world.bia).error_fields == ["welcome_text"]
    assert world.api("GET", path, key=world.bia).body == cleared.body


def test_a_new_token_of_the_same_bot_replaces_token_and_secret(world: World) -> None:
    world.add({"token": TOKEN_A})
    old_item = world.item("bot_7000000001")
    assert old_item is not None
    new_token = "7000000001:TEST-fake-token-after-revoke-aaaaaa"
    world.telegram.register_bot(new_token, username="loja_bia_bot")
    world.telegram.revoke_token(TOKEN_A)
    answer = world.api("PATCH", "/api/v1/bots/bot_7000000001", {"token": new_token}, key=world.bia)
    assert answer.status == 200 and answer.body["health"]["reason"] == "token_replaced"
    item = world.item("bot_7000000001")
    assert item is not None
    kms = Kms()
    assert encryption.bot_token(kms, "bot_7000000001", item["token_ciphertext"]) == new_token
    secret = encryption.bot_webhook_secret(kms, "bot_7000000001", item["webhook_secret_ciphertext"])
    old_secret = encryption.bot_webhook_secret(kms, "bot_7000000001", old_item["webhook_secret_ciphertext"])
    assert secret != old_secret
    assert world.telegram.sent("setWebhook")[-1]["secret_token"] == secret
    assert telegram_update(world, "bot_7000000001", secret)["ok"] is True


def test_another_bots_token_or_a_failed_setwebhook_changes_nothing(world: World) -> None:
    world.add({"token": TOKEN_A})
    path = "/api/v1/bots/bot_7000000001"
    before = table_state(world.resources)
    other = world.api("PATCH", path, {"token": TOKEN_B, "enabled": False}, key=world.bia)
    assert other.status == 422 and other.error_fields == ["token"]
    assert "loja_outra_bot" in other.body["fields"][0]["message"]
    assert world.api("PATCH", path, {"token": UNKNOWN_TOKEN}, key=world.bia).error_fields == ["token"]
    world.telegram.fail(TelegramFault(502, "Bad Gateway", method="setWebhook"))
    failed = world.api("PATCH", path, {"token": TOKEN_A, "welcome_text": "novo"}, key=world.bia)
    assert failed.status == 502
    assert table_state(world.resources) == before  # the write made before setWebhook was put back
    assert len(world.telegram.sent("setWebhook")) == 1


# -- hostile bodies -------------------------------------------------------------------------------

FIELDS = ["token", "id", "pixel_id", "welcome_text", "support_text", "pix_expires_minutes", "enabled", "x"]
ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
PLAUSIBLE = {
    "token": st.sampled_from([TOKEN_A, TOKEN_B, UNKNOWN_TOKEN, "7000000001:" + "é" * 35]),
    "id": st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z") | st.text(max_size=70),
    "pixel_id": st.sampled_from(["px_bia", "px_outra", "px_nenhum"]),
    "welcome_text": st.text(max_size=1100),
    "support_text": st.text(max_size=1100),
    "pix_expires_minutes": st.integers(-10, 3000),
}
BODIES = st.one_of(
    st.text(max_size=200),
    st.dictionaries(st.sampled_from(FIELDS), ANYTHING, max_size=6),
    st.fixed_dictionaries(
        {"token": PLAUSIBLE["token"]}, optional={name: PLAUSIBLE[name] for name in PLAUSIBLE if name != "token"}
    ),
    st.fixed_dictionaries(
        {"token": PLAUSIBLE["token"]},
        optional={name: strategy | ANYTHING for name, strategy in PLAUSIBLE.items() if name != "token"},
    ),
)


@given(body=BODIES)
@route(tests=1)
def test_hostile_bodies_never_fail_inside_and_change_nothing_when_refused(
    world: World, logs: Records, body: Any
) -> None:
    put_pixel(world.table, "t_bia", "px_bia")
    put_pixel(world.table, "t_outra", "px_outra")
    before = table_state(world.resources)
    hooks = len(world.telegram.sent("setWebhook"))
    raw = body if isinstance(body, str) else json.dumps(body)
    answer = world.add(raw)
    text = json.dumps(answer.body)
    assert answer.status in {201, 409, 422}, answer
    event(f"status {answer.status}")
    assert "Traceback" not in text and TOKEN_A not in text and TOKEN_B not in text
    logs.check((TOKEN_A, TOKEN_B))  # no traceback, no token in any log record
    if answer.status == 201:
        assert world.item(answer.body["id"]) is not None
        assert len(world.telegram.sent("setWebhook")) == hooks + 1
    else:
        assert table_state(world.resources) == before


def test_the_openapi_document_describes_the_bot_routes(world: World) -> None:
    document = world.api("GET", "/api/v1/openapi.json").body
    assert {"/api/v1/bots", "/api/v1/bots/{bot_id}"} <= set(document["paths"])
    assert set(document["paths"]["/api/v1/bots/{bot_id}"]) == {"get", "patch"}
    create = document["components"]["schemas"]["BotCreate"]
    assert create["required"] == ["token"] and "BotFather" in create["properties"]["token"]["description"]
