"""``funil domains``: the tenant's own tracking domains (docs/domains.md)."""

from typing import Annotated, Any

import typer

from funil_cli.commands.common import Resource, add_read_commands
from funil_cli.output import Column
from funil_cli.session import Session, session

DOMAINS = Resource(
    "/domains",
    (
        Column("host", "col.host"),
        Column("status", "col.status"),
        Column("cookie_domain", "col.cookie_domain"),
        Column("activated_at", "col.activated_at"),
    ),
    metavar="HOST",
)

app = typer.Typer(help="Tracking domains of your own (go.example.com).", no_args_is_help=True)
add_read_commands(app, DOMAINS, names=("list",))

Host = Annotated[str, typer.Argument(metavar="HOST", show_default=False, help="e.g. go.example.com")]


def _show_with_records(current: Session, answer: dict[str, Any]) -> None:
    """The domain, then (on stderr) the DNS records still to create while it is pending."""
    current.out.record(answer)
    if answer.get("status") != "pending_dns":
        return
    for record in answer.get("dns_records") or []:
        current.out.note(current.tr("note.domain_record", **record))
    current.out.note(current.tr("note.domain_dns", host=answer.get("host", "")))


@app.command("add")
def add(ctx: typer.Context, host: Host) -> None:
    """Add a domain: its certificate is requested and the DNS records to create are shown."""
    current = session(ctx)
    _show_with_records(current, current.client().post(DOMAINS.path, {"host": host}))


@app.command("show")
def show(ctx: typer.Context, host: Host) -> None:
    """Show a domain (a pending one is checked again and becomes active once its certificate is issued)."""
    current = session(ctx)
    _show_with_records(current, current.client().get(DOMAINS.item_path(host)))


@app.command("flag")
def flag(ctx: typer.Context, host: Host) -> None:
    """Take a domain out of service: its links move to your next active domain."""
    current = session(ctx)
    current.out.record(current.client().post(DOMAINS.item_path(host) + "/flag", {}))


@app.command("unflag")
def unflag(ctx: typer.Context, host: Host) -> None:
    """Put a flagged domain back in service."""
    current = session(ctx)
    current.out.record(current.client().post(DOMAINS.item_path(host) + "/unflag", {}))


@app.command("remove")
def remove(ctx: typer.Context, host: Host) -> None:
    """Stop serving a domain and delete it (certificate and API Gateway domain included)."""
    current = session(ctx)
    current.out.record(current.client().delete(DOMAINS.item_path(host)))
