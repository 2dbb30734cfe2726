"""``funil login``: remember the API's URL and a key in the config file."""

from typing import Annotated

import typer

from funil_cli.client import ApiClient, api_root
from funil_cli.config import Settings, config_path, save_config
from funil_cli.session import session


def login(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(help="The deployment's ApiUrl (https://…)")],
    key: Annotated[str, typer.Option(help="An API key, fnl_… (asked for when left out)", prompt=True, hide_input=True)],
    verify: Annotated[bool, typer.Option(help="Check the key against the API before saving")] = True,
) -> None:
    """Save the API URL and key to the config file (FUNIL_CONFIG, else ~/.config/funil/config.toml)."""
    current = session(ctx)
    settings = Settings(api_url=api_root(url), api_key=key.strip())
    if verify:
        with ApiClient(settings.api_url, settings.api_key) as client:
            client.get("/keys", {"limit": 1})  # both kinds of key may list their keys
    path = config_path(current.env)
    save_config(path, settings)
    current.out.note(current.tr("note.logged_in", path=path, url=settings.api_url))
