"""``funil pixels``: the tenant's Meta pixels (Conversions API)."""

from typing import Annotated

import typer

from funil_cli.commands.common import Resource, add_read_commands, add_toggle_commands, compact, show_created
from funil_cli.output import Column
from funil_cli.session import session

PIXELS = Resource(
    "/pixels",
    (
        Column("id", "col.id"),
        Column("meta_pixel_id", "col.meta_pixel_id"),
        Column("enabled", "col.enabled"),
        Column("test_event_code", "col.test_event_code"),
    ),
)

app = typer.Typer(help="Meta pixels.", no_args_is_help=True)
add_read_commands(app, PIXELS)
add_toggle_commands(app, PIXELS)


@app.command("add")
def add(
    ctx: typer.Context,
    meta_pixel_id: Annotated[str, typer.Argument(help="The pixel's id at Meta")],
    token: Annotated[
        str, typer.Option(help="Conversions API access token (asked for when left out)", prompt=True, hide_input=True)
    ],
    pixel_id: Annotated[str | None, typer.Option("--id", help="Its id here (generated when absent)")] = None,
    test_event_code: Annotated[str | None, typer.Option(help="Send to Events Manager's test tab")] = None,
) -> None:
    """Add a pixel: a test event proves the token."""
    current = session(ctx)
    body = compact(
        {"meta_pixel_id": meta_pixel_id, "access_token": token, "id": pixel_id, "test_event_code": test_event_code}
    )
    show_created(current, current.client().post(PIXELS.path, body))
