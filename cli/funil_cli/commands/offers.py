"""``funil offers``: what the tenant's bots sell."""

from typing import Annotated, Any

import typer

from funil_cli.commands.common import Resource, add_read_commands, add_toggle_commands, compact, show_created
from funil_cli.errors import CliError
from funil_cli.i18n import Translator
from funil_cli.output import Column, money, plain
from funil_cli.parsing import price_cents
from funil_cli.session import session


def _joined(value: Any, tr: Translator) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else plain(value, tr)


OFFERS = Resource(
    "/offers",
    (
        Column("id", "col.id"),
        Column("title", "col.title"),
        Column("price_cents", "col.price", money),
        Column("stars_price", "col.stars"),
        Column("bot_ids", "col.bots", _joined),
        Column("enabled", "col.enabled"),
    ),
)

app = typer.Typer(help="Offers: what the bots sell.", no_args_is_help=True)
add_read_commands(app, OFFERS)
add_toggle_commands(app, OFFERS)


def delivery(
    invite_chat: int | None, join_chat: int | None, message: str | None, url: str | None, button: str | None
) -> dict[str, Any] | None:
    """The offer's ``delivery`` (funil.delivery.models.DeliverySpec): a chat's invite, or a message."""
    if sum(choice is not None for choice in (invite_chat, join_chat, message)) > 1:
        raise CliError("error.one_delivery")
    if invite_chat is not None:
        spec: dict[str, Any] = {"kind": "invite_link", "chat_id": invite_chat}
    elif join_chat is not None:
        spec = {"kind": "join_request", "chat_id": join_chat}
    elif message is not None or url is not None:
        spec = {"kind": "message", "text": message}
    else:
        return None  # nothing to deliver said: the offer has no delivery (the API's default)
    return compact({**spec, "url": url, "button_text": button})


@app.command("add")
def add(
    ctx: typer.Context,
    offer_id: Annotated[str, typer.Argument(metavar="ID", help="Its id (≤ 40 of A-Z a-z 0-9 _ -)")],
    *,  # options: Typer passes them by name
    title: Annotated[str, typer.Option(help="Shown on the button and the invoice (≤ 32 characters)")],
    price: Annotated[str, typer.Option(help="In reais: 19,90 or 19.90")],
    stars: Annotated[int | None, typer.Option(help="Price in Telegram Stars")] = None,
    bot: Annotated[list[str] | None, typer.Option(help="A bot that sells it, repeatable (default: all)")] = None,
    description: Annotated[str | None, typer.Option(help="≤ 255 characters")] = None,
    invite_chat: Annotated[int | None, typer.Option(help="Deliver a one-time invite to this chat id")] = None,
    join_chat: Annotated[int | None, typer.Option(help="Deliver a join-request link to this chat id")] = None,
    message: Annotated[str | None, typer.Option(help="Deliver this text")] = None,
    url: Annotated[str | None, typer.Option(help="A link delivered with the message (https://…)")] = None,
    button: Annotated[str | None, typer.Option(help="The delivery button's text")] = None,
    ask_phone: Annotated[bool, typer.Option("--ask-phone", help="Also ask for the buyer's phone")] = False,
) -> None:
    """Add an offer."""
    current = session(ctx)
    body = compact(
        {
            "id": offer_id,
            "title": title,
            "price_cents": price_cents(price),
            "stars_price": stars,
            "bot_ids": bot or None,
            "description": description,
            "delivery": delivery(invite_chat, join_chat, message, url, button),
            "ask_phone": ask_phone or None,
        }
    )
    show_created(current, current.client().post(OFFERS.path, body))
