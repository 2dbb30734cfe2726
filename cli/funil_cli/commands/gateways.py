"""``funil gateways``: the tenant's PIX gateways (docs/gateways.md)."""

from typing import Annotated

import typer

from funil_cli.commands.common import Resource, add_read_commands, add_toggle_commands, compact, show_created
from funil_cli.output import Column
from funil_cli.parsing import pairs
from funil_cli.session import session

GATEWAYS = Resource(
    "/gateways",
    (
        Column("id", "col.id"),
        Column("kind", "col.kind"),
        Column("name", "col.name"),
        Column("enabled", "col.enabled"),
        Column("priority", "col.priority"),
        Column("weight", "col.weight"),
    ),
)

app = typer.Typer(help="PIX gateways.", no_args_is_help=True)
add_read_commands(app, GATEWAYS)
add_toggle_commands(app, GATEWAYS)


@app.command("add")
def add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="The gateway: mercadopago, pushinpay, woovi, apipix, sandbox")],
    *,  # options: Typer passes them by name
    gateway_id: Annotated[str | None, typer.Option("--id", help="Its id (generated when absent)")] = None,
    name: Annotated[str | None, typer.Option(help="A name to tell it apart")] = None,
    credential: Annotated[list[str] | None, typer.Option(help="key=value, repeatable")] = None,
    option: Annotated[list[str] | None, typer.Option(help="key=value, repeatable")] = None,
    base_url: Annotated[str | None, typer.Option(help="The gateway's API root (sandbox, self-hosted)")] = None,
    priority: Annotated[int | None, typer.Option(help="Lower is tried first")] = None,
    weight: Annotated[int | None, typer.Option(help="Share among gateways of one priority")] = None,
) -> None:
    """Add a gateway: a test call checks the credentials; its webhook URL is shown once."""
    current = session(ctx)
    body = compact(
        {
            "kind": kind,
            "id": gateway_id,
            "name": name,
            "credentials": pairs(credential or []),
            "options": pairs(option) if option else None,
            "base_url": base_url,
            "priority": priority,
            "weight": weight,
        }
    )
    answer = current.client().post(GATEWAYS.path, body)
    show_created(current, answer, "note.webhook_once" if answer.get("webhook_url") else None)
