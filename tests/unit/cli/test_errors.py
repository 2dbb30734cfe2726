"""Every failure: one readable line on stderr, a non-zero exit, never a traceback."""

from __future__ import annotations

import socket

import pytest
from funil_cli.client import ApiClient

from tests.unit.cli.conftest import Run
from tests.unit.cli.fake_api import OPERATOR_KEY, OTHER_TENANT_KEY, FakeApi


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_an_unknown_key_is_a_401_that_says_to_check_the_key(tenant: Run) -> None:
    result = tenant("--lang", "en", "bots", "list", env={"FUNIL_API_KEY": "fnl_nobody"})
    assert result.exit_code == 1
    assert one_line(result.stderr) == (
        "error: the API answered 401: unknown or revoked API key; check the key (funil login)"
    )
    assert result.stdout == ""


def test_the_wrong_kind_of_key_is_a_403(tenant: Run) -> None:
    result = tenant("tenants", "list")
    assert result.exit_code == 1
    assert "403" in one_line(result.stderr)
    assert "operator's API key" in result.stderr


def test_another_tenants_bot_is_a_404(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.add("t_two", "bots", {"id": "b_two", "username": "TwoBot"})
    assert tenant("bots", "show", "b_two", env={"FUNIL_API_KEY": OTHER_TENANT_KEY}).exit_code == 0
    result = tenant("bots", "show", "b_two")
    assert result.exit_code == 1
    assert one_line(result.stderr) == "erro: a API respondeu 404: no bot b_two"


def test_an_id_taken_is_a_409(tenant: Run) -> None:
    assert tenant("bots", "add", "--token", "123:abc", "--id", "b1").exit_code == 0
    result = tenant("bots", "add", "--token", "123:abc", "--id", "b1")
    assert result.exit_code == 1
    assert one_line(result.stderr) == "erro: a API respondeu 409: bot b1 already exists"


def test_a_422_names_each_field(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.add("t_one", "bots", {"id": "b1", "username": "OneBot"})
    result = tenant("links", "create", "promo", "--bot", "b1", "--bot", "ghost:2", "--bot", "phantom")
    assert result.exit_code == 1
    assert one_line(result.stderr) == (
        "erro: a API respondeu 422: invalid input (bots.1.id: no bot ghost; bots.2.id: no bot phantom)"
    )


def test_a_token_telegram_refuses_is_a_422_on_token(tenant: Run) -> None:
    result = tenant("--lang", "en", "bots", "add", "--token", "refused")
    assert result.exit_code == 1
    assert one_line(result.stderr) == "error: the API answered 422: invalid input (token: Telegram refused this token)"


def test_a_502_from_the_outside_world(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.answer_with("POST", "/api/v1/gateways", 502, {"error": "the gateway did not answer; nothing was written"})
    result = tenant("gateways", "add", "mercadopago", "--credential", "access_token=x")
    assert result.exit_code == 1
    assert one_line(result.stderr) == "erro: a API respondeu 502: the gateway did not answer; nothing was written"


def test_a_proxys_html_error_page_still_gives_one_line(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.answer_with("GET", "/api/v1/bots", 503, "<html>\n<h1>Service Unavailable</h1>\n</html>", "text/html")
    result = tenant("--lang", "en", "bots", "list")
    assert result.exit_code == 1
    assert one_line(result.stderr) == "error: the API answered 503: Service Unavailable"


def test_a_multi_line_api_message_is_printed_on_one_line(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.answer_with("GET", "/api/v1/pixels", 500, {"error": "internal\nerror"})
    result = tenant("pixels", "list")
    assert one_line(result.stderr) == "erro: a API respondeu 500: internal error"


def test_connection_refused_says_the_url_could_not_be_reached(tenant: Run) -> None:
    with socket.socket() as unused:  # a port that was free a moment ago: nothing listens there
        unused.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{unused.getsockname()[1]}"
    result = tenant("--lang", "en", "bots", "list", env={"FUNIL_API_URL": dead})
    assert result.exit_code == 1
    assert one_line(result.stderr).startswith(f"error: could not reach {dead}: ")


def test_a_url_that_is_not_http_is_named(tenant: Run) -> None:
    result = tenant("--lang", "en", "bots", "list", env={"FUNIL_API_URL": "ftp://example.com"})
    assert result.exit_code == 1
    assert one_line(result.stderr) == "error: invalid API URL: ftp://example.com (use https://…)"


def test_no_configuration_says_how_to_set_it(cli: Run) -> None:
    result = cli("--lang", "en", "bots", "list")
    assert result.exit_code == 1
    assert one_line(result.stderr) == "error: no API URL: run `funil login --url URL --key KEY` or set FUNIL_API_URL"
    result = cli("bots", "list", env={"FUNIL_API_URL": "http://127.0.0.1:1"})
    assert one_line(result.stderr) == (
        "erro: nenhuma chave de API: rode `funil login --url URL --key CHAVE` ou defina FUNIL_API_KEY"
    )


def test_a_command_typed_wrong_is_one_line_and_exit_2(tenant: Run) -> None:
    result = tenant("--lang", "en", "keys", "create")
    assert result.exit_code == 2
    assert one_line(result.stderr) == "error: Missing argument 'NAME'. (see funil keys create --help)"
    result = tenant("bots", "lst")
    assert result.exit_code == 2
    assert "lst" in one_line(result.stderr)


def test_an_unexpected_error_is_one_line_unless_debugging(tenant: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: ApiClient, path: str) -> list[dict[str, object]]:
        raise RuntimeError("boom")

    monkeypatch.setattr(ApiClient, "list_all", broken)
    result = tenant("--lang", "en", "bots", "list")
    assert result.exit_code == 1
    assert one_line(result.stderr) == "error: unexpected error: RuntimeError: boom"
    result = tenant("bots", "list", env={"FUNIL_DEBUG": "1"})
    assert isinstance(result.exception, RuntimeError)


def test_the_operator_key_cannot_reach_tenant_routes(tenant: Run) -> None:
    result = tenant("offers", "list", env={"FUNIL_API_KEY": OPERATOR_KEY})
    assert result.exit_code == 1
    assert "403" in one_line(result.stderr)
