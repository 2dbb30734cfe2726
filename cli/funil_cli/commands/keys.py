"""``funil keys``: the caller's API keys (a tenant's with a tenant key, the operator's with an operator key)."""

from typing import Annotated

import typer

from funil_cli.commands.common import Resource, add_read_commands, show_created
from funil_cli.output import Column
from funil_cli.session import session

KEYS = Resource(
    "/keys",
    (
        Column("id", "col.id"),
        Column("name", "col.name"),
        Column("prefix", "col.prefix"),
        Column("created_at", "col.created_at"),
        Column("last_used_at", "col.last_used_at"),
        Column("revoked_at", "col.revoked_at"),
    ),
)

app = typer.Typer(help="API keys.", no_args_is_help=True)
add_read_commands(app, KEYS, names=("list",))


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="What it is for: 'painel', 'n8n', 'CI'")],
) -> None:
    """Create a key (its plaintext is shown once)."""
    current = session(ctx)
    show_created(current, current.client().post(KEYS.path, {"name": name}), "note.key_once")


@app.command("revoke")
def revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)]) -> None:
    """Revoke a key: it stops working at once."""
    current = session(ctx)
    current.out.record(current.client().delete(KEYS.item_path(key_id)))
