"""``funil tenants``: the deployment operator's (an operator key)."""

from typing import Annotated

import typer

from funil_cli.commands.common import Resource, add_read_commands, add_toggle_commands, compact
from funil_cli.output import Column
from funil_cli.session import session

TENANTS = Resource(
    "/tenants",
    (
        Column("id", "col.id"),
        Column("name", "col.name"),
        Column("timezone", "col.timezone"),
        Column("country", "col.country"),
        Column("enabled", "col.enabled"),
    ),
)

app = typer.Typer(help="Tenants: the sellers this deployment serves (operator key).", no_args_is_help=True)
add_read_commands(app, TENANTS)
add_toggle_commands(app, TENANTS)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The tenant's name")],
    tenant_id: Annotated[str | None, typer.Option("--id", help="Its id (generated when absent)")] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2, lowercase (default br)")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone (default America/Sao_Paulo)")] = None,
) -> None:
    """Create a tenant and its first API key (shown once)."""
    current = session(ctx)
    body = compact({"name": name, "id": tenant_id, "country": country, "timezone": timezone})
    answer = current.client().post(TENANTS.path, body)
    if current.out.as_json:
        current.out.json(answer)
        return
    current.out.record(answer.get("tenant") or {})
    current.out.record(answer.get("api_key") or {})
    current.out.note(current.tr("note.key_once"))
