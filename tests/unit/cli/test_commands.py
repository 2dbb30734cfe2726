"""Each command against the fake API: what it sends, and what it prints (tables, --json, pt/en)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.unit.cli.conftest import Run
from tests.unit.cli.fake_api import OPERATOR_KEY, TENANT_KEY, FakeApi


def test_the_key_goes_in_a_bearer_header(tenant: Run, fake_api: FakeApi) -> None:
    assert tenant("bots", "list").exit_code == 0
    (request,) = fake_api.sent("GET", "/api/v1/bots")
    assert request.headers["authorization"] == f"Bearer {TENANT_KEY}"


def test_a_list_follows_every_page(tenant: Run, fake_api: FakeApi) -> None:
    for number in range(230):
        fake_api.add("t_one", "bots", {"id": f"b{number:03d}", "username": f"Bot{number:03d}"})
    result = tenant("--json", "bots", "list")
    assert result.exit_code == 0, result.stderr
    assert [bot["id"] for bot in json.loads(result.stdout)["items"]] == [f"b{n:03d}" for n in range(230)]
    pages = fake_api.sent("GET", "/api/v1/bots")
    assert [request.query for request in pages] == [
        {"limit": "100"},
        {"limit": "100", "cursor": "100"},
        {"limit": "100", "cursor": "200"},
    ]


def test_json_output_is_the_apis_json_wherever_the_flag_is(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.add("t_one", "pixels", {"id": "px1", "meta_pixel_id": "123456789012345"})
    before = json.loads(tenant("--json", "pixels", "show", "px1").stdout)
    after = json.loads(tenant("pixels", "show", "px1", "--json").stdout)
    assert before == after == {"id": "px1", "meta_pixel_id": "123456789012345", "enabled": True}
    listed = json.loads(tenant("pixels", "list", "--json").stdout)
    assert listed == {"items": [before], "next_cursor": None}


@pytest.mark.parametrize(
    ("options", "env", "headers"),
    [
        (["--lang", "en"], {}, ("ID", "Username", "Enabled", "Health")),
        (["--lang", "pt"], {"LANG": "en_US.UTF-8"}, ("ID", "Usuário", "Ativo", "Saúde")),
        ([], {"LANG": "en_US.UTF-8"}, ("ID", "Username", "Enabled")),
        ([], {"LANG": "en_US.UTF-8", "FUNIL_LANG": "pt"}, ("ID", "Usuário", "Ativo")),
        ([], {"LANG": "C.UTF-8"}, ("ID", "Usuário", "Ativo")),
    ],
)
def test_table_headers_in_the_chosen_language(
    tenant: Run, fake_api: FakeApi, options: list[str], env: dict[str, str | None], headers: tuple[str, ...]
) -> None:
    fake_api.add("t_one", "bots", {"id": "b1", "username": "VendasBot", "health": {"status": "healthy"}})
    result = tenant(*options, "bots", "list", env=env)
    assert result.exit_code == 0, result.stderr
    header_line, *rows = [line for line in result.stdout.splitlines() if line.strip()]
    assert header_line.split()[: len(headers)] == list(headers)
    assert "@VendasBot" in rows[-1]
    assert "healthy" in rows[-1]


def test_an_empty_list_says_so_on_stderr(tenant: Run) -> None:
    result = tenant("--lang", "en", "offers", "list")
    assert (result.exit_code, result.stdout, result.stderr.strip()) == (0, "", "Nothing here yet.")


def test_disable_and_enable_patch_enabled(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.add("t_one", "links", {"slug": "promo", "bots": [{"id": "b1", "weight": 1}]})
    assert tenant("links", "disable", "promo").exit_code == 0
    assert json.loads(tenant("--json", "links", "show", "promo").stdout)["enabled"] is False
    assert tenant("links", "enable", "promo").exit_code == 0
    assert [request.body for request in fake_api.sent("PATCH", "/api/v1/links/promo")] == [
        {"enabled": False},
        {"enabled": True},
    ]


def test_an_id_is_one_path_segment(tenant: Run, fake_api: FakeApi) -> None:
    tenant("bots", "show", "../keys")
    assert [request.path for request in fake_api.requests] == ["/api/v1/bots/..%2Fkeys"]


def test_tenants_create_shows_the_tenant_and_its_first_key_once(cli: Run, fake_api: FakeApi) -> None:
    env = {"FUNIL_API_URL": fake_api.url, "FUNIL_API_KEY": OPERATOR_KEY}
    result = cli("--lang", "en", "tenants", "create", "Loja da Ana", "--id", "t_ana", "--country", "pt", env=env)
    assert result.exit_code == 0, result.stderr
    assert fake_api.sent("POST", "/api/v1/tenants")[0].body == {"name": "Loja da Ana", "id": "t_ana", "country": "pt"}
    assert "fnl_key_of_t_ana" in result.stdout
    assert "Loja da Ana" in result.stdout
    assert "it will not be shown again" in result.stderr
    answer = json.loads(cli("--json", "tenants", "create", "Outra", env=env).stdout)
    assert set(answer) == {"tenant", "api_key"}


def test_keys_create_list_and_revoke(tenant: Run, fake_api: FakeApi) -> None:
    created = json.loads(tenant("--json", "keys", "create", "n8n").stdout)
    assert created["key"].startswith("fnl_")
    assert fake_api.sent("POST", "/api/v1/keys")[0].body == {"name": "n8n"}
    revoked = json.loads(tenant("--json", "keys", "revoke", created["id"]).stdout)
    assert revoked["revoked_at"]
    listed = tenant("keys", "list")
    assert created["id"] in listed.stdout
    assert "Revogada em" in listed.stdout


def test_bots_add_sends_only_what_was_given(tenant: Run, fake_api: FakeApi) -> None:
    result = tenant("bots", "add", "--token", "123:abc", "--pixel", "px1", "--pix-expires-minutes", "30")
    assert result.exit_code == 0, result.stderr
    assert fake_api.sent("POST", "/api/v1/bots")[0].body == {
        "token": "123:abc",
        "pixel_id": "px1",
        "pix_expires_minutes": 30,
    }


def test_bots_add_asks_for_a_token_left_out(tenant: Run, fake_api: FakeApi) -> None:
    result = tenant("bots", "add", "--id", "b9", input="999:secret\n")
    assert result.exit_code == 0, result.stderr
    assert fake_api.sent("POST", "/api/v1/bots")[0].body == {"token": "999:secret", "id": "b9"}
    assert "999:secret" not in result.stdout + result.stderr  # hidden input


def test_gateways_add_sends_credentials_and_shows_the_webhook_url_once(tenant: Run, fake_api: FakeApi) -> None:
    result = tenant(
        "--lang", "en", "gateways", "add", "woovi", "--id", "gw1",
        "--credential", "app_id=abc", "--credential", "secret=a=b",
        "--option", "expires_in=3600", "--priority", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert fake_api.sent("POST", "/api/v1/gateways")[0].body == {
        "kind": "woovi",
        "id": "gw1",
        "credentials": {"app_id": "abc", "secret": "a=b"},
        "options": {"expires_in": "3600"},
        "priority": 2,
    }
    assert f"{fake_api.url}/pay/gw1/s3cr3t" in result.stdout
    assert "shown only this once" in result.stderr


def test_a_credential_without_equals_is_refused_before_any_request(tenant: Run, fake_api: FakeApi) -> None:
    result = tenant("--lang", "en", "gateways", "add", "woovi", "--credential", "app_id")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: expected key=value, got app_id"
    assert fake_api.requests == []


def test_pixels_add(tenant: Run, fake_api: FakeApi) -> None:
    result = tenant("pixels", "add", "123456789012345", "--token", "EAAB", "--test-event-code", "TEST1")
    assert result.exit_code == 0, result.stderr
    assert fake_api.sent("POST", "/api/v1/pixels")[0].body == {
        "meta_pixel_id": "123456789012345",
        "access_token": "EAAB",
        "test_event_code": "TEST1",
    }


@pytest.mark.parametrize(
    ("options", "delivery"),
    [
        (["--invite-chat", "-1001234567890"], {"kind": "invite_link", "chat_id": -1001234567890}),
        (["--join-chat", "-100777", "--button", "Entrar"], {"kind": "join_request", "chat_id": -100777, "button_text": "Entrar"}),
        (["--message", "Seu curso", "--url", "https://curso.example/a"], {"kind": "message", "text": "Seu curso", "url": "https://curso.example/a"}),
        (["--url", "https://curso.example/a"], {"kind": "message", "url": "https://curso.example/a"}),
        ([], None),
    ],
)  # fmt: skip
def test_offers_add_sends_cents_and_the_delivery(
    tenant: Run, fake_api: FakeApi, options: list[str], delivery: dict[str, object] | None
) -> None:
    result = tenant(
        "offers", "add", "vip30", "--title", "Grupo VIP", "--price", "19,90",
        "--bot", "b1", "--bot", "b2", "--stars", "150", "--ask-phone", *options,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    expected = {"id": "vip30", "title": "Grupo VIP", "price_cents": 1990, "stars_price": 150}
    expected |= {"bot_ids": ["b1", "b2"], "ask_phone": True}
    if delivery is not None:
        expected["delivery"] = delivery
    assert fake_api.sent("POST", "/api/v1/offers")[0].body == expected


def test_offers_list_shows_reais(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.add("t_one", "offers", {"id": "vip", "title": "VIP", "price_cents": 123456, "bot_ids": ["b1", "b2"]})
    assert "R$ 1234,56" in tenant("offers", "list").stdout
    assert "R$ 1234.56" in tenant("--lang", "en", "offers", "list").stdout


def test_offers_add_refuses_two_deliveries_and_a_bad_price(tenant: Run, fake_api: FakeApi) -> None:
    common = ["offers", "add", "vip", "--title", "VIP"]
    two = tenant(*common, "--price", "10", "--invite-chat", "-1", "--message", "oi")
    bad = tenant("--lang", "en", *common, "--price", "19,999")
    assert (two.exit_code, bad.exit_code) == (1, 1)
    assert two.stderr.strip() == "erro: use só um de --invite-chat, --join-chat e --message"
    assert bad.stderr.strip() == "error: invalid price: 19,999 (use 19,90 or 19.90)"
    assert fake_api.requests == []


def test_links_create_resolves_usernames_and_prints_the_url(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.add("t_one", "bots", {"id": "b1", "username": "VendasBot"})
    fake_api.add("t_one", "bots", {"id": "b2", "username": "ReservaBot"})
    result = tenant("links", "create", "promo", "--bot", "@vendasbot:3", "--bot", "b2", "--window", "14")
    assert result.exit_code == 0, result.stderr
    assert fake_api.sent("POST", "/api/v1/links")[0].body == {
        "slug": "promo",
        "bots": [{"id": "b1", "weight": 3}, {"id": "b2", "weight": 1}],
        "attribution_window_days": 14,
    }
    assert f"{fake_api.url}/go/promo" in result.stdout
    assert f"Link: {fake_api.url}/go/promo" in result.stderr


def test_links_create_names_a_username_no_bot_has(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.add("t_one", "bots", {"id": "b1", "username": "VendasBot"})
    result = tenant("--lang", "en", "links", "create", "promo", "--bot", "@Outro:2")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: none of your bots is @Outro"
    assert fake_api.sent("POST", "/api/v1/links") == []


def test_lead_export_to_stdout_and_to_a_private_file(tenant: Run, fake_api: FakeApi, tmp_path: Path) -> None:
    result = tenant("lead", "export", "--telegram-user-id", "4242")
    assert json.loads(result.stdout)["subject"] == {"telegram_user_id": 4242}
    target = tmp_path / "ana.json"
    result = tenant("lead", "export", "--email", "ana@example.com", "--output", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert json.loads(target.read_text())["subject"] == {"email": "ana@example.com"}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [request.body for request in fake_api.sent("POST", "/api/v1/subjects/export")] == [
        {"telegram_user_id": 4242},
        {"email": "ana@example.com"},
    ]


@pytest.mark.parametrize("whom", [[], ["--email", "a@example.com", "--phone", "+5511999990000"]])
def test_lead_needs_exactly_one_person(tenant: Run, fake_api: FakeApi, whom: list[str]) -> None:
    result = tenant("--lang", "en", "lead", "export", *whom)
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: say whose data with exactly one of --telegram-user-id, --email and --phone"
    assert fake_api.requests == []


@pytest.mark.parametrize(
    ("answer", "refusal"),
    [("n\n", "error: nothing was erased"), ("\n", "error: nothing was erased"), ("", "error: aborted")],
)
def test_lead_erase_erases_nothing_without_a_yes(tenant: Run, fake_api: FakeApi, answer: str, refusal: str) -> None:
    result = tenant("--lang", "en", "lead", "erase", "--phone", "+5511999990000", input=answer)
    assert result.exit_code == 1
    assert result.stderr.startswith("Erase all data of phone=+5511999990000? This cannot be undone. [y/N]")
    assert result.stderr.rstrip().endswith(refusal)  # after the prompt (a terminal shows the typed newline)
    assert fake_api.sent("POST", "/api/v1/subjects/erase") == []


def test_lead_erase_after_yes_prints_the_counts(tenant: Run, fake_api: FakeApi) -> None:
    asked = tenant("lead", "erase", "--telegram-user-id", "4242", input="y\n")
    assert asked.exit_code == 0, asked.stderr
    assert "erased.leads" in asked.stdout
    assert "erased.touches" in asked.stdout
    told = tenant("--json", "lead", "erase", "--telegram-user-id", "4242", "--yes")
    assert json.loads(told.stdout) == {
        "subject": {"kind": "telegram_user_id"},
        "erased": {"leads": 1, "touches": 3},
        "request_id": "r1",
    }
    assert len(fake_api.sent("POST", "/api/v1/subjects/erase")) == 2
