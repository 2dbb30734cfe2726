"""Where the API is and which key to use: a flag, else the environment, else the config file.

The file is TOML (``api_url``, ``api_key``) at ``~/.config/funil/config.toml``, or wherever
``FUNIL_CONFIG`` points; ``funil login`` writes it readable by its owner only (it holds a key).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from funil_cli.errors import CliError

CONFIG_ENV = "FUNIL_CONFIG"
URL_ENV = "FUNIL_API_URL"
KEY_ENV = "FUNIL_API_KEY"


@dataclass(frozen=True)
class Settings:
    api_url: str
    api_key: str


def config_path(env: Mapping[str, str]) -> Path:
    override = env.get(CONFIG_ENV)
    return Path(override).expanduser() if override else Path.home() / ".config" / "funil" / "config.toml"


def read_config(path: Path) -> dict[str, str]:
    """The file's ``api_url`` and ``api_key`` (those present); nothing when there is no file."""
    try:
        with path.open("rb") as file:
            values = tomllib.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CliError("error.bad_config", path=path, reason=error) from None
    return {name: value for name in ("api_url", "api_key") if isinstance(value := values.get(name), str) and value}


def resolve(url_flag: str | None, key_flag: str | None, env: Mapping[str, str]) -> Settings:
    """Each of the two values on its own: flag > FUNIL_API_URL/FUNIL_API_KEY > the file."""
    api_url = url_flag or env.get(URL_ENV)
    api_key = key_flag or env.get(KEY_ENV)
    if not (api_url and api_key):  # the file is read only when needed: a flag or the env can stand in for it
        saved = read_config(config_path(env))
        api_url = api_url or saved.get("api_url")
        api_key = api_key or saved.get("api_key")
    if not api_url:
        raise CliError("error.no_url")
    if not api_key:
        raise CliError("error.no_key")
    return Settings(api_url=api_url, api_key=api_key)


def save_config(path: Path, settings: Settings) -> None:
    """Write the file with mode 0600 (its folder 0700), replacing whatever was there."""
    # JSON strings are valid TOML basic strings (the same escapes), so no TOML writer is needed.
    text = f"api_url = {json.dumps(settings.api_url)}\napi_key = {json.dumps(settings.api_key)}\n"
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o600)  # an older file keeps its mode through O_CREAT: set it anyway
            file.write(text)
    except OSError as error:
        raise CliError("error.write_file", path=path, reason=error.strerror or error) from None
