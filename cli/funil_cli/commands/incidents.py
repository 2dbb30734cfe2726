"""``funil incidents``: the tenant's operational alerts, open and recent, and resolving one by hand
(docs/alerts.md)."""

from typing import Annotated

import typer

from funil_cli.commands.common import Resource
from funil_cli.output import Column
from funil_cli.session import session

INCIDENTS = Resource(
    "/incidents",
    (
        Column("id", "col.id"),
        Column("kind", "col.kind"),
        Column("subject", "col.subject"),
        Column("state", "col.status"),
        Column("opened_at", "col.opened_at"),
        Column("resolved_at", "col.resolved_at"),
        Column("detail", "col.detail"),
    ),
)

app = typer.Typer(help="Incidents: a bot, a gateway, a pixel or a queue in trouble.", no_args_is_help=True)


@app.command("list")
def list_incidents(
    ctx: typer.Context,
    recent_days: Annotated[int, typer.Option(min=0, max=90, help="Also those resolved in these last days")] = 7,
) -> None:
    """The open incidents and the recently resolved ones, newest first."""
    current = session(ctx)
    answer = current.client().get(INCIDENTS.path, {"recent_days": recent_days})
    current.out.items(answer.get("items") or [], INCIDENTS.columns)


@app.command("resolve")
def resolve(ctx: typer.Context, incident_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)]) -> None:
    """Resolve an open incident by hand (the admin chats hear of it once)."""
    current = session(ctx)
    current.out.record(current.client().post(f"{INCIDENTS.item_path(incident_id)}/resolve", {}))
