"""The CLI driven by Typer's runner against ``FakeApi``, with no config, env or language of the machine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from funil_cli.main import app
from typer.testing import CliRunner, Result

from tests.unit.cli.fake_api import TENANT_KEY, FakeApi

Run = Callable[..., Result]


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    fake = FakeApi().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "funil" / "config.toml"  # absent until a test or `funil login` writes it


@pytest.fixture
def bare_env(config_file: Path) -> dict[str, str | None]:
    """The environment every run gets: a config path of the test's own, pt-BR, nothing from the machine."""
    return {
        "FUNIL_CONFIG": str(config_file),
        "FUNIL_API_URL": None,
        "FUNIL_API_KEY": None,
        "FUNIL_LANG": None,
        "FUNIL_DEBUG": None,
        "LANG": "pt_BR.UTF-8",
    }


@pytest.fixture
def cli(bare_env: dict[str, str | None]) -> Run:
    """``cli("bots", "list", env={...}, input="y\\n")``: the CLI with only what the test gives it."""

    def run(*args: str, env: dict[str, str | None] | None = None, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), env={**bare_env, **(env or {})}, input=input)

    return run


@pytest.fixture
def tenant(cli: Run, fake_api: FakeApi) -> Run:
    """The CLI as tenant t_one, configured through the environment."""

    def run(*args: str, env: dict[str, str | None] | None = None, input: str | None = None) -> Result:
        configured = {"FUNIL_API_URL": fake_api.url, "FUNIL_API_KEY": TENANT_KEY, **(env or {})}
        return cli(*args, env=configured, input=input)

    return run
