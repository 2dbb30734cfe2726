"""``funil login``: with ``--url``, remember the API's URL and a key in the config file; without it,
print a one-time sign-in link to the dashboard (``POST /login-links`` with the configured tenant key)."""

import sys
from typing import Annotated

import typer

from funil_cli.client import ApiClient, api_root
from funil_cli.config import Settings, config_path, save_config
from funil_cli.session import Session, session

LOGIN_LINKS = "/login-links"


def login(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(help="The deployment's ApiUrl (https://…): save it and the key instead")
    ] = None,
    key: Annotated[str | None, typer.Option(help="An API key, fnl_… (asked for when --url comes without it)")] = None,
    verify: Annotated[bool, typer.Option(help="Check the key against the API before saving")] = True,
) -> None:
    """Print a one-time sign-in link to the dashboard (valid 15 minutes, once); with --url, save the API
    URL and key to the config file (FUNIL_CONFIG, else ~/.config/funil/config.toml) instead."""
    current = session(ctx)
    if url is None:
        _print_link(current)
        return
    if key is None:
        key = typer.prompt("Key", hide_input=True)
    settings = Settings(api_url=api_root(url), api_key=key.strip())
    if verify:
        with ApiClient(settings.api_url, settings.api_key) as client:
            client.get("/keys", {"limit": 1})  # both kinds of key may list their keys
    path = config_path(current.env)
    save_config(path, settings)
    current.out.note(current.tr("note.logged_in", path=path, url=settings.api_url))


def _print_link(current: Session) -> None:
    answer = current.client().post(LOGIN_LINKS, {})
    if current.out.as_json:
        current.out.json(answer)
        return
    sys.stdout.write(f"{answer.get('url')}\n")  # alone on stdout: `open "$(funil login)"` works
    current.out.note(current.tr("note.login_link", expires_at=answer.get("expires_at")))
