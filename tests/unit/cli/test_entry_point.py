"""The installed `funil` script (scripts/bootstrap.sh installs the project editable): the real argv path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.unit.cli.fake_api import TENANT_KEY, FakeApi

FUNIL = Path(sys.executable).parent / "funil"


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert FUNIL.is_file(), "no .venv/bin/funil: run scripts/bootstrap.sh (it installs the project editable)"
    clean = {name: value for name, value in os.environ.items() if not name.startswith("FUNIL_")}
    return subprocess.run(
        [str(FUNIL), *args], env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_script_lists_through_the_api(fake_api: FakeApi, tmp_path: Path) -> None:
    fake_api.add("t_one", "bots", {"id": "b1", "username": "VendasBot"})
    env = {"FUNIL_API_URL": fake_api.url, "FUNIL_API_KEY": TENANT_KEY, "FUNIL_CONFIG": str(tmp_path / "none.toml")}
    done = run("bots", "list", "--lang", "en", env=env)
    assert (done.returncode, done.stderr) == (0, "")
    assert "@VendasBot" in done.stdout


def test_the_script_fails_in_one_line(fake_api: FakeApi, tmp_path: Path) -> None:
    env = {"FUNIL_API_URL": fake_api.url, "FUNIL_API_KEY": "fnl_wrong", "FUNIL_CONFIG": str(tmp_path / "none.toml")}
    done = run("--lang", "en", "keys", "list", env=env)
    assert done.returncode == 1
    assert done.stderr == "error: the API answered 401: unknown or revoked API key; check the key (funil login)\n"
    assert done.stdout == ""


def test_help_is_a_success() -> None:
    done = run("--help", env={})
    assert done.returncode == 0
    assert "bootstrap" in done.stdout
