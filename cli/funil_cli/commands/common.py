"""What every collection shares: list (every page), show, enable, disable.

No ``from __future__ import annotations`` here: Typer reads these closures' annotations at run
time, and they name the closure's ``resource``.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

import typer

from funil_cli.output import Column
from funil_cli.session import Session, session


@dataclass(frozen=True)
class Resource:
    path: str  # under /api/v1: "/bots"
    columns: tuple[Column, ...]
    metavar: str = "ID"  # how the identifier is named in --help (links: SLUG)

    def item_path(self, item_id: str) -> str:
        return f"{self.path}/{quote(item_id, safe='')}"  # an id is a path segment, never a path


def compact(body: Mapping[str, Any]) -> dict[str, Any]:
    """The request body without the options left out (the API applies its defaults)."""
    return {name: value for name, value in body.items() if value is not None}


def add_read_commands(group: typer.Typer, resource: Resource, names: tuple[str, ...] = ("list", "show")) -> None:
    ItemId = Annotated[str, typer.Argument(metavar=resource.metavar, show_default=False)]

    if "list" in names:

        @group.command("list")
        def list_items(ctx: typer.Context) -> None:
            """List them all (every page)."""
            current = session(ctx)
            current.out.items(current.client().list_all(resource.path), resource.columns)

    if "show" in names:

        @group.command("show")
        def show(ctx: typer.Context, item_id: ItemId) -> None:
            """Show one."""
            current = session(ctx)
            current.out.record(current.client().get(resource.item_path(item_id)))


def add_toggle_commands(group: typer.Typer, resource: Resource) -> None:
    ItemId = Annotated[str, typer.Argument(metavar=resource.metavar, show_default=False)]

    def toggle(enabled: bool) -> Callable[[typer.Context, str], None]:
        def command(ctx: typer.Context, item_id: ItemId) -> None:
            current = session(ctx)
            current.out.record(current.client().patch(resource.item_path(item_id), {"enabled": enabled}))

        command.__doc__ = "Turn it back on." if enabled else "Turn it off (nothing is deleted)."
        return command

    group.command("enable")(toggle(True))
    group.command("disable")(toggle(False))


def show_created(current: Session, answer: dict[str, Any], secret_note: str | None = None) -> None:
    """A 201's body, with a note on stderr when it holds something shown only once."""
    current.out.record(answer)
    if secret_note:
        current.out.note(current.tr(secret_note))
