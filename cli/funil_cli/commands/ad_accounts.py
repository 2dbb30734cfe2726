"""``funil ad-accounts``: the tenant's Meta ad accounts, whose spend per ad is imported daily (docs/ad-spend.md)."""

from typing import Annotated

import typer

from funil_cli.commands.common import Resource, add_read_commands, compact, show_created
from funil_cli.output import Column
from funil_cli.session import session

AD_ACCOUNTS = Resource(
    "/ad-accounts",
    (
        Column("id", "col.id"),
        Column("name", "col.name"),
        Column("status", "col.health"),
        Column("timezone_name", "col.timezone"),
        Column("created_at", "col.created_at"),
    ),
    metavar="ACT_ID",
)

app = typer.Typer(help="Meta ad accounts (ad spend).", no_args_is_help=True)
add_read_commands(app, AD_ACCOUNTS)


@app.command("add")
def add(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(metavar="ACT_ID", help="act_<digits>, as Ads Manager shows it")],
    token: Annotated[
        str,
        typer.Option(
            help="A token that may read the account (ads_read; asked for when left out)", prompt=True, hide_input=True
        ),
    ],
    name: Annotated[str | None, typer.Option(help="What to call it here (default: its name at Meta)")] = None,
) -> None:
    """Add an ad account: reading it with the token proves the token."""
    current = session(ctx)
    body = compact({"account_id": account_id, "access_token": token, "name": name})
    show_created(current, current.client().post(AD_ACCOUNTS.path, body))


@app.command("remove")
def remove(
    ctx: typer.Context, account_id: Annotated[str, typer.Argument(metavar="ACT_ID", show_default=False)]
) -> None:
    """Stop importing an ad account's spend (what was imported stays)."""
    current = session(ctx)
    current.out.record(current.client().delete(AD_ACCOUNTS.item_path(account_id)))
