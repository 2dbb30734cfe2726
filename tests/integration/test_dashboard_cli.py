"""``funil login`` against the real operator's API handler (httpx's MockTransport hands each request
to it as an API Gateway event), then the link it prints through the real dashboard handler."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from funil_cli.main import app
from typer.testing import CliRunner, Result

from local import aws
from tests.admin_api import FUNCTION as ADMIN_API
from tests.admin_api import api_event
from tests.integration.test_dashboard_api import World, link_token, new_world

API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com"


@pytest.fixture
def world(aws_env: aws.Resources, table: Any, invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> World:
    return new_world(aws_env, table, invoke, monkeypatch)


@pytest.fixture
def funil(invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Callable[..., Result]:
    """``funil("login", key=…)``: the CLI, its HTTP answered by the AdminApiFunction handler."""

    def handle(request: httpx.Request) -> httpx.Response:
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        body = request.content.decode() or None
        event = api_event(request.method, request.url.path, body, key=key, query=dict(request.url.params))
        answer = invoke(ADMIN_API, event)
        return httpx.Response(int(answer["statusCode"]), headers=answer.get("headers"), text=answer.get("body") or "")

    real = httpx.Client

    def client(*args: Any, transport: Any = None, **kwargs: Any) -> httpx.Client:
        return real(*args, transport=httpx.MockTransport(handle), **kwargs)

    monkeypatch.setattr(httpx, "Client", client)

    def run(*args: str, key: str) -> Result:
        env = {"FUNIL_API_URL": API_URL, "FUNIL_API_KEY": key, "FUNIL_CONFIG": str(tmp_path / "none.toml")}
        return CliRunner().invoke(app, list(args), env={**env, "LANG": "pt_BR.UTF-8", "FUNIL_LANG": None})

    return run


def test_funil_login_prints_a_link_that_signs_in_once(world: World, funil: Callable[..., Result]) -> None:
    result = funil("login", key=world.tenant_key)
    assert result.exit_code == 0, result.stderr
    [url] = result.stdout.splitlines()  # the URL alone on stdout
    assert "vale uma vez" in result.stderr and "Não o compartilhe" in result.stderr
    token = link_token(url)
    assert world.app("POST", "/app/login", form=f"token={token}").status == 303
    assert world.app("POST", "/app/login", form=f"token={token}").status == 400


def test_funil_login_json(world: World, funil: Callable[..., Result]) -> None:
    result = funil("login", "--json", key=world.tenant_key)
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"url", "expires_at"} and link_token(answer["url"])


def test_funil_login_with_the_operators_key_says_why_not(world: World, funil: Callable[..., Result]) -> None:
    result = funil("login", key=world.operator_key)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("erro: a API respondeu 403:") and len(result.stderr.splitlines()) == 1
