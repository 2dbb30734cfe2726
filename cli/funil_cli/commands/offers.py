"""``funil offers``: what the tenant's bots sell."""

from enum import StrEnum
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


UNLISTED_HELP = "Not in the bots' menu: sold only as another offer's upsell, downsell or bump"
ACCESS_HELP = "Access to the delivery's chat ends this many days after payment (renewable)"
REMINDER_HELP = "Days before access ends to remind the buyer, repeatable (default: 3 and 1)"
UPSELL_HELP = "The offer shown after this one is delivered"
DOWNSELL_HELP = "The cheaper offer shown when the buyer declines or lets the PIX expire"
BUMP_HELP = "The add-on asked about before the PIX, charged in the same PIX"
PIX_REMINDER_HELP = "Remind an unpaid PIX this many minutes before it expires"
PIX_FOLLOW_UP_HELP = "Follow up an unpaid PIX this many minutes after it expired (with the downsell)"


class Removable(StrEnum):
    """What ``offers update --remove`` sets to null (the API removes it)."""

    stars = "stars"
    delivery = "delivery"
    access_days = "access-days"
    upsell = "upsell"
    downsell = "downsell"
    bump = "bump"
    pix_reminder = "pix-reminder"
    pix_follow_up = "pix-follow-up"


REMOVED_FIELDS = {
    Removable.stars: "stars_price",
    Removable.delivery: "delivery",
    Removable.access_days: "access_days",
    Removable.upsell: "upsell_offer_id",
    Removable.downsell: "downsell_offer_id",
    Removable.bump: "bump_offer_id",
    Removable.pix_reminder: "pix_reminder_minutes",
    Removable.pix_follow_up: "pix_follow_up_minutes",
}


def _sales(
    *,
    access_days: int | None,
    reminder_days: list[int] | None,
    upsell: str | None,
    downsell: str | None,
    bump: str | None,
    pix_reminder: int | None,
    pix_follow_up: int | None,
) -> dict[str, Any]:
    """The offer's access period and what is sold around it (left out: unchanged / the API's default)."""
    return compact(
        {
            "access_days": access_days,
            "renewal_reminder_days": reminder_days or None,
            "upsell_offer_id": upsell,
            "downsell_offer_id": downsell,
            "bump_offer_id": bump,
            "pix_reminder_minutes": pix_reminder,
            "pix_follow_up_minutes": pix_follow_up,
        }
    )


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
    unlisted: Annotated[bool, typer.Option("--unlisted", help=UNLISTED_HELP)] = False,
    access_days: Annotated[int | None, typer.Option(help=ACCESS_HELP)] = None,
    reminder_day: Annotated[list[int] | None, typer.Option(help=REMINDER_HELP, show_default=False)] = None,
    upsell: Annotated[str | None, typer.Option(help=UPSELL_HELP)] = None,
    downsell: Annotated[str | None, typer.Option(help=DOWNSELL_HELP)] = None,
    bump: Annotated[str | None, typer.Option(help=BUMP_HELP)] = None,
    pix_reminder: Annotated[int | None, typer.Option(help=PIX_REMINDER_HELP)] = None,
    pix_follow_up: Annotated[int | None, typer.Option(help=PIX_FOLLOW_UP_HELP)] = None,
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
            "listed": False if unlisted else None,
            **_sales(
                access_days=access_days,
                reminder_days=reminder_day,
                upsell=upsell,
                downsell=downsell,
                bump=bump,
                pix_reminder=pix_reminder,
                pix_follow_up=pix_follow_up,
            ),
        }
    )
    show_created(current, current.client().post(OFFERS.path, body))


@app.command("update")
def update(
    ctx: typer.Context,
    offer_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)],
    *,
    title: Annotated[str | None, typer.Option(help="≤ 32 characters")] = None,
    price: Annotated[str | None, typer.Option(help="In reais: 19,90 or 19.90")] = None,
    stars: Annotated[int | None, typer.Option(help="Price in Telegram Stars")] = None,
    bot: Annotated[list[str] | None, typer.Option(help="The whole new list of bots, repeatable")] = None,
    description: Annotated[str | None, typer.Option(help="≤ 255 characters")] = None,
    invite_chat: Annotated[int | None, typer.Option(help="Deliver a one-time invite to this chat id")] = None,
    join_chat: Annotated[int | None, typer.Option(help="Deliver a join-request link to this chat id")] = None,
    message: Annotated[str | None, typer.Option(help="Deliver this text")] = None,
    url: Annotated[str | None, typer.Option(help="A link delivered with the message (https://…)")] = None,
    button: Annotated[str | None, typer.Option(help="The delivery button's text")] = None,
    position: Annotated[int | None, typer.Option(help="Order in the menu (lower first)")] = None,
    ask_phone: Annotated[bool | None, typer.Option("--ask-phone/--no-ask-phone", show_default=False)] = None,
    listed: Annotated[bool | None, typer.Option("--listed/--unlisted", help=UNLISTED_HELP, show_default=False)] = None,
    access_days: Annotated[int | None, typer.Option(help=ACCESS_HELP)] = None,
    reminder_day: Annotated[list[int] | None, typer.Option(help=REMINDER_HELP, show_default=False)] = None,
    upsell: Annotated[str | None, typer.Option(help=UPSELL_HELP)] = None,
    downsell: Annotated[str | None, typer.Option(help=DOWNSELL_HELP)] = None,
    bump: Annotated[str | None, typer.Option(help=BUMP_HELP)] = None,
    pix_reminder: Annotated[int | None, typer.Option(help=PIX_REMINDER_HELP)] = None,
    pix_follow_up: Annotated[int | None, typer.Option(help=PIX_FOLLOW_UP_HELP)] = None,
    remove: Annotated[
        list[Removable] | None, typer.Option(help="Remove this setting, repeatable", show_default=False)
    ] = None,
) -> None:
    """Change an offer on every bot that sells it: the options given, nothing else."""
    body = compact(
        {
            "title": title,
            "price_cents": price_cents(price) if price is not None else None,
            "stars_price": stars,
            "bot_ids": bot or None,
            "description": description,
            "delivery": delivery(invite_chat, join_chat, message, url, button),
            "position": position,
            "ask_phone": ask_phone,
            "listed": listed,
            **_sales(
                access_days=access_days,
                reminder_days=reminder_day,
                upsell=upsell,
                downsell=downsell,
                bump=bump,
                pix_reminder=pix_reminder,
                pix_follow_up=pix_follow_up,
            ),
        }
    )
    for removed in remove or ():
        field = REMOVED_FIELDS[removed]
        if field in body:
            raise typer.BadParameter(f"--remove {removed.value} and a new value for it")
        body[field] = None
    if not body:
        raise typer.BadParameter("nothing to change: give an option (see --help)")
    current = session(ctx)
    current.out.record(current.client().patch(OFFERS.item_path(offer_id), body))
