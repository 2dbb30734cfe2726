"""``funil links``: tracking links (``<ApiUrl>/go/<slug>``) rotating among the tenant's bots."""

from typing import Annotated, Any

import typer

from funil_cli.client import ApiClient
from funil_cli.commands.bots import BOTS
from funil_cli.commands.common import Resource, add_read_commands, add_toggle_commands, compact, show_created
from funil_cli.errors import CliError
from funil_cli.i18n import Translator
from funil_cli.output import Column, plain
from funil_cli.parsing import WeightedBot, weighted_bot
from funil_cli.session import session


def _bots(value: Any, tr: Translator) -> str:
    if not isinstance(value, list):
        return plain(value, tr)
    return ", ".join(f"{bot.get('id')}:{bot.get('weight', 1)}" for bot in value if isinstance(bot, dict))


LINKS = Resource(
    "/links",
    (
        Column("slug", "col.slug"),
        Column("url", "col.url"),
        Column("bots", "col.bots", _bots),
        Column("pixel_id", "col.pixel"),
        Column("attribution_window_days", "col.window"),
        Column("enabled", "col.enabled"),
    ),
    metavar="SLUG",
)

app = typer.Typer(help="Tracking links.", no_args_is_help=True)
add_read_commands(app, LINKS)
add_toggle_commands(app, LINKS)


def link_bots(client: ApiClient, wanted: list[WeightedBot]) -> list[dict[str, Any]]:
    """``[{"id", "weight"}]``, a ``@username`` looked up among the tenant's bots (any case)."""
    by_username: dict[str, str] | None = None
    chosen = []
    for bot in wanted:
        bot_id = bot.ref
        if bot.username is not None:
            if by_username is None:  # one listing, and only when a username was given
                by_username = {str(b.get("username", "")).lower(): str(b["id"]) for b in client.list_all(BOTS.path)}
            if bot.username.lower() not in by_username:
                raise CliError("error.unknown_username", username=bot.username)
            bot_id = by_username[bot.username.lower()]
        chosen.append({"id": bot_id, "weight": bot.weight})
    return chosen


@app.command("create")
def create(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The link's path: <ApiUrl>/go/<slug>")],
    bot: Annotated[list[str], typer.Option(help="ID[:WEIGHT] or @username[:WEIGHT], repeatable")],
    pixel: Annotated[str | None, typer.Option(help="The pixel its clicks report to")] = None,
    window: Annotated[int | None, typer.Option(help="Attribution window in days (default 7)")] = None,
) -> None:
    """Create a tracking link and print its URL."""
    current = session(ctx)
    wanted = [weighted_bot(text) for text in bot]
    body = compact(
        {
            "slug": slug,
            "bots": link_bots(current.client(), wanted),
            "pixel_id": pixel,
            "attribution_window_days": window,
        }
    )
    answer = current.client().post(LINKS.path, body)
    show_created(current, answer)
    if not current.out.as_json and answer.get("url"):
        current.out.note(current.tr("note.link_url", url=answer["url"]))
