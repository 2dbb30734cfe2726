"""``funil destinations``: where the tenant's sale events go besides Meta (UTMify, TikTok, GA4, webhooks)."""

from collections.abc import Mapping
from typing import Annotated

import typer

from funil_cli.commands.common import Resource, add_read_commands, add_toggle_commands, compact, show_created
from funil_cli.output import Column
from funil_cli.session import session

DESTINATIONS = Resource(
    "/destinations",
    (
        Column("id", "col.id"),
        Column("kind", "col.kind"),
        Column("enabled", "col.enabled"),
        Column("events", "col.events"),
    ),
)
EVENTS = ("InitiateCheckout", "Purchase", "Refund")

app = typer.Typer(help="Destinations besides Meta: UTMify, TikTok, GA4, webhooks.", no_args_is_help=True)
add_read_commands(app, DESTINATIONS)
add_toggle_commands(app, DESTINATIONS)
add_group = typer.Typer(help="Add a destination.", no_args_is_help=True)
app.add_typer(add_group, name="add")

DestinationIdOption = Annotated[str | None, typer.Option("--id", help="Its id here (generated when absent)")]
EventsOption = Annotated[
    list[str] | None, typer.Option("--event", help="An event it takes (repeat; default: all three)")
]


def _add(ctx: typer.Context, given: Mapping[str, object], events: list[str] | None) -> None:
    current = session(ctx)
    body = dict(given)
    if events:
        unknown = sorted(set(events) - set(EVENTS))
        if unknown:
            raise typer.BadParameter(f"{unknown}: events are {', '.join(EVENTS)}", param_hint="--event")
        body["events"] = events
    show_created(current, current.client().post(DESTINATIONS.path, compact(body)))


@add_group.command("utmify")
def add_utmify(  # Typer passes every parameter by name
    ctx: typer.Context,
    *,
    token: Annotated[
        str, typer.Option(help="UTMify's API credential (asked for when left out)", prompt=True, hide_input=True)
    ],
    platform: Annotated[str | None, typer.Option(help="The `platform` UTMify shows (default: Funil)")] = None,
    test: Annotated[bool, typer.Option("--test", help="Send orders as tests (isTest)")] = False,
    destination_id: DestinationIdOption = None,
    event: EventsOption = None,
) -> None:
    """UTMify: each checkout, sale and refund as an order."""
    body = {"kind": "utmify", "api_token": token, "platform": platform, "test": test or None, "id": destination_id}
    _add(ctx, body, event)


@add_group.command("tiktok")
def add_tiktok(
    ctx: typer.Context,
    *,
    pixel_code: Annotated[str, typer.Argument(help="The TikTok pixel code")],
    token: Annotated[
        str, typer.Option(help="Events API access token (asked for when left out)", prompt=True, hide_input=True)
    ],
    test_event_code: Annotated[str | None, typer.Option(help="TikTok's test event code")] = None,
    destination_id: DestinationIdOption = None,
    event: EventsOption = None,
) -> None:
    """TikTok Events API: InitiateCheckout and CompletePayment (TikTok has no refund event)."""
    body = {
        "kind": "tiktok",
        "pixel_code": pixel_code,
        "access_token": token,
        "test_event_code": test_event_code,
        "id": destination_id,
    }
    _add(ctx, body, event)


@add_group.command("ga4")
def add_ga4(
    ctx: typer.Context,
    measurement_id: Annotated[str, typer.Argument(help="The web stream's measurement id (G-…)")],
    api_secret: Annotated[
        str,
        typer.Option(help="Measurement Protocol API secret (asked for when left out)", prompt=True, hide_input=True),
    ],
    destination_id: DestinationIdOption = None,
    event: EventsOption = None,
) -> None:
    """GA4 Measurement Protocol: begin_checkout, purchase, refund."""
    body = {"kind": "ga4", "measurement_id": measurement_id, "api_secret": api_secret, "id": destination_id}
    _add(ctx, body, event)


@add_group.command("webhook")
def add_webhook(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="https URL the signed events are POSTed to")],
    destination_id: DestinationIdOption = None,
    event: EventsOption = None,
) -> None:
    """An outgoing webhook: its signing secret is generated and shown once."""
    _add(ctx, {"kind": "webhook", "url": url, "id": destination_id}, event)


@app.command("remove")
def remove(
    ctx: typer.Context, destination_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)]
) -> None:
    """Remove a destination (what it was sent stays recorded)."""
    current = session(ctx)
    current.out.record(current.client().delete(DESTINATIONS.item_path(destination_id)))
