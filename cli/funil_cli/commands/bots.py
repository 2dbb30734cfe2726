"""``funil bots``: the tenant's Telegram bots."""

from typing import Annotated, Any

import typer

from funil_cli.commands.common import Resource, add_read_commands, add_toggle_commands, compact, show_created
from funil_cli.i18n import Translator
from funil_cli.output import Column, plain
from funil_cli.session import session


def _health(value: Any, tr: Translator) -> str:
    return plain(value.get("status") if isinstance(value, dict) else value, tr)


def _username(value: Any, tr: Translator) -> str:
    return f"@{value}" if value else ""


BOTS = Resource(
    "/bots",
    (
        Column("id", "col.id"),
        Column("username", "col.username", _username),
        Column("enabled", "col.enabled"),
        Column("health", "col.health", _health),
        Column("pixel_id", "col.pixel"),
    ),
)

ADMIN_HELP = "A Telegram user id whose /painel to the bot gets a dashboard sign-in link; repeatable (≤ 10)"

app = typer.Typer(help="Telegram bots.", no_args_is_help=True)
add_read_commands(app, BOTS)
add_toggle_commands(app, BOTS)


@app.command("add")
def add(
    ctx: typer.Context,
    *,  # options: Typer passes them by name
    token: Annotated[
        str, typer.Option(help="The token from @BotFather (asked for when left out)", prompt=True, hide_input=True)
    ],
    bot_id: Annotated[str | None, typer.Option("--id", help="Its id (generated when absent)")] = None,
    pixel: Annotated[str | None, typer.Option(help="The pixel of its organic leads")] = None,
    welcome_text: Annotated[str | None, typer.Option(help="Replaces the default welcome")] = None,
    support_text: Annotated[str | None, typer.Option(help="Replaces the default support text")] = None,
    pix_expires_minutes: Annotated[int | None, typer.Option(help="How long a PIX charge stays payable")] = None,
    admin: Annotated[list[int] | None, typer.Option(help=ADMIN_HELP, show_default=False)] = None,
) -> None:
    """Add a bot: Telegram checks the token, and its webhook is set to this deployment."""
    current = session(ctx)
    body = compact(
        {
            "token": token,
            "id": bot_id,
            "pixel_id": pixel,
            "welcome_text": welcome_text,
            "support_text": support_text,
            "pix_expires_minutes": pix_expires_minutes,
            "admin_telegram_ids": admin or None,
        }
    )
    show_created(current, current.client().post(BOTS.path, body))


@app.command("admins")
def admins(
    ctx: typer.Context,
    bot_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)],
    *,
    admin: Annotated[list[int] | None, typer.Option(help=ADMIN_HELP, show_default=False)] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Leave the bot without admins")] = False,
) -> None:
    """Set who may ask the bot for a dashboard sign-in link (/painel): the whole list, replaced."""
    if bool(admin) == clear:
        raise typer.BadParameter("give --admin (one or more) or --clear")
    current = session(ctx)
    body = {"admin_telegram_ids": list(admin or [])}
    current.out.record(current.client().patch(BOTS.item_path(bot_id), body))
