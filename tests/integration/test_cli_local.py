"""The `funil` CLI against the real local stack: template.yaml's AdminApiFunction behind the dev server, on moto.

The stack runs in this process, so `funil bootstrap --table AppTable` writes into the stack's own
moto table, exactly as it writes into a deployed stack's table with the deployer's credentials.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from funil_cli.main import app
from typer.testing import CliRunner, Result

from local.server import LocalStack, start_stack

Cli = Callable[..., Result]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with start_stack(port=0, schedule_speed=None) as started:
        yield started


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

    refused = cli("--api-key", "fnl_not_a_key_of_this_deployment", "keys", "list")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        "error: the API answered 401: unknown or revoked API key; check the key (funil login)"
    )
    forbidden = cli("tenants", "list")  # a tenant's key on the operator's route
    assert forbidden.exit_code == 1
    assert forbidden.stderr.startswith("error: the API answered 403: ")


def test_the_seeds_operator_key_creates_a_tenant(stack: LocalStack, cli: Cli) -> None:
    seed = httpx.get(f"{stack.base_url}/_local/seed", timeout=5).json()
    if "operator_key" not in seed:
        pytest.skip("the local seed does not carry an operator_key yet")
    result = ok(cli("--api-url", stack.base_url, "--api-key", seed["operator_key"], "--json", "tenants", "create", "B"))
    assert json.loads(result.stdout)["api_key"]["key"].startswith("fnl_")
