"""Where the URL and key come from: a flag > FUNIL_API_URL/FUNIL_API_KEY > the config file; `funil login`."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest
from funil_cli.config import Settings, config_path, resolve, save_config
from funil_cli.errors import CliError

from tests.unit.cli.conftest import Run
from tests.unit.cli.fake_api import OPERATOR_KEY, TENANT_KEY, FakeApi

DEAD_URL = "http://127.0.0.1:1"  # nothing listens on port 1


def last_key_used(fake_api: FakeApi) -> str:
    return fake_api.requests[-1].headers["authorization"].removeprefix("Bearer ")


def test_each_value_comes_from_the_flag_then_the_env_then_the_file(
    cli: Run, fake_api: FakeApi, config_file: Path
) -> None:
    save_config(config_file, Settings(api_url=DEAD_URL, api_key="fnl_from_file"))
    # the file's URL is overridden by the env's; the file's key still used
    assert cli("keys", "list", env={"FUNIL_API_URL": fake_api.url}).exit_code == 1  # 401: fnl_from_file is unknown
    assert last_key_used(fake_api) == "fnl_from_file"
    assert cli("keys", "list", env={"FUNIL_API_URL": fake_api.url, "FUNIL_API_KEY": TENANT_KEY}).exit_code == 0
    assert last_key_used(fake_api) == TENANT_KEY
    flags = ["--api-url", fake_api.url, "--api-key", OPERATOR_KEY]
    assert cli(*flags, "keys", "list", env={"FUNIL_API_URL": DEAD_URL, "FUNIL_API_KEY": TENANT_KEY}).exit_code == 0
    assert last_key_used(fake_api) == OPERATOR_KEY


def test_the_file_alone_is_enough(cli: Run, fake_api: FakeApi, config_file: Path) -> None:
    save_config(config_file, Settings(api_url=fake_api.url, api_key=TENANT_KEY))
    assert cli("keys", "list").exit_code == 0
    assert last_key_used(fake_api) == TENANT_KEY


def test_flags_and_env_need_no_file_even_a_broken_one(tmp_path: Path) -> None:
    broken = tmp_path / "config.toml"
    broken.write_text("api_url = [unterminated")
    env = {"FUNIL_CONFIG": str(broken), "FUNIL_API_KEY": "fnl_env"}
    assert resolve("https://flag.example", None, env) == Settings("https://flag.example", "fnl_env")
    with pytest.raises(CliError) as refused:
        resolve("https://flag.example", None, {"FUNIL_CONFIG": str(broken)})
    assert refused.value.key == "error.bad_config"


def test_the_default_path_and_funil_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_path({}) == tmp_path / ".config" / "funil" / "config.toml"
    assert config_path({"FUNIL_CONFIG": "~/elsewhere.toml"}) == tmp_path / "elsewhere.toml"


def test_the_file_is_toml_owner_only_and_survives_quotes(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o644)
    save_config(path, Settings(api_url='https://a.example/"x"\\', api_key="fnl_k"))
    assert tomllib.loads(path.read_text()) == {"api_url": 'https://a.example/"x"\\', "api_key": "fnl_k"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_login_checks_the_key_then_writes_the_file(cli: Run, fake_api: FakeApi, config_file: Path) -> None:
    result = cli("--lang", "en", "login", "--url", fake_api.url + "/api/v1/", "--key", TENANT_KEY)
    assert result.exit_code == 0, result.stderr
    assert tomllib.loads(config_file.read_text()) == {"api_url": fake_api.url, "api_key": TENANT_KEY}
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_file.parent.stat().st_mode) == 0o700
    assert f"Configuration saved to {config_file}" in result.stderr
    assert [request.path for request in fake_api.requests] == ["/api/v1/keys"]
    assert cli("--json", "keys", "list").exit_code == 0  # what login saved is what the next command uses
    assert last_key_used(fake_api) == TENANT_KEY


def test_login_with_a_bad_key_writes_nothing(cli: Run, fake_api: FakeApi, config_file: Path) -> None:
    result = cli("login", "--url", fake_api.url, "--key", "fnl_wrong")
    assert result.exit_code == 1
    assert "401" in result.stderr
    assert not config_file.exists()


def test_login_no_verify_saves_without_asking_the_api(cli: Run, config_file: Path) -> None:
    result = cli("login", "--url", DEAD_URL, "--key", "fnl_later", "--no-verify")
    assert result.exit_code == 0, result.stderr
    assert tomllib.loads(config_file.read_text())["api_key"] == "fnl_later"


def test_login_asks_for_a_key_left_out(cli: Run, fake_api: FakeApi, config_file: Path) -> None:
    result = cli("login", "--url", fake_api.url, input=f"{TENANT_KEY}\n")
    assert result.exit_code == 0, result.stderr
    assert TENANT_KEY not in result.stdout + result.stderr
    assert json.loads(json.dumps(tomllib.loads(config_file.read_text())))["api_key"] == TENANT_KEY
