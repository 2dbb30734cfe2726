"""What every command gets from the global options: words, output, and the API client (made on first use)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import typer

from funil_cli.client import ApiClient
from funil_cli.config import resolve
from funil_cli.i18n import Translator
from funil_cli.output import Output


@dataclass
class Session:
    tr: Translator
    out: Output
    url_flag: str | None = None
    key_flag: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    _client: ApiClient | None = None

    def client(self) -> ApiClient:
        """The API client; the configuration is read here, so `funil login` and `bootstrap` need none."""
        if self._client is None:
            settings = resolve(self.url_flag, self.key_flag, self.env)
            self._client = ApiClient(settings.api_url, settings.api_key)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def session(ctx: typer.Context) -> Session:
    return cast(Session, ctx.find_root().obj)
