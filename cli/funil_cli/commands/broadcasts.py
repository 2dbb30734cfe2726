"""``funil broadcasts``: a message to a segment of a bot's leads, now or at a time (docs/broadcasts.md)."""

from datetime import datetime
from typing import Annotated, Any

import typer

from funil_cli.commands.common import Resource, add_read_commands, compact, show_created
from funil_cli.errors import CliError
from funil_cli.i18n import Translator
from funil_cli.output import Column, plain
from funil_cli.session import session


def _segment_text(value: Any, tr: Translator) -> str:
    if not isinstance(value, dict):
        return plain(value, tr)
    detail = value.get("offer_id") or value.get("campaign")
    return f"{value.get('kind')}:{detail}" if detail else str(value.get("kind", ""))


def _count(name: str) -> Any:
    return lambda counts, tr: plain((counts or {}).get(name), tr) if isinstance(counts, dict) else plain(counts, tr)


BROADCASTS = Resource(
    "/broadcasts",
    (
        Column("id", "col.id"),
        Column("bot_id", "col.bot"),
        Column("status", "col.status"),
        Column("segment", "col.segment", _segment_text),
        Column("send_at", "col.send_at"),
        Column("counts", "col.sent", _count("sent")),
        Column("counts", "col.blocked", _count("blocked")),
        Column("counts", "col.failed", _count("failed")),
    ),
)

app = typer.Typer(help="Broadcasts: a message to a segment of a bot's leads.", no_args_is_help=True)
add_read_commands(app, BROADCASTS)


def parse_segment(text: str) -> dict[str, str]:
    """``all``, ``never-bought``, ``bought:<offer>``, ``access-expired[:<offer>]``, ``campaign:<name>``."""
    kind, _, detail = text.partition(":")
    kind = kind.strip().lower()
    if kind in {"all", "never-bought"} and not detail:
        return {"kind": kind.replace("-", "_")}
    if kind == "bought" and detail:
        return {"kind": "bought_offer", "offer_id": detail}
    if kind == "access-expired":
        return {"kind": "access_expired", **({"offer_id": detail} if detail else {})}
    if kind == "campaign" and detail:
        return {"kind": "first_touch_campaign", "campaign": detail}
    raise CliError("error.segment", value=text)


def parse_when(text: str | None) -> str | None:
    """An ISO 8601 moment; without an offset it is Brasília's time (the sellers' own)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CliError("error.when", value=text) from None
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo("America/Sao_Paulo"))
    return moment.isoformat()


@app.command("send")
def send(
    ctx: typer.Context,
    *,
    bot: Annotated[str, typer.Option(help="The bot that sends it (its id), to its own leads")],
    text: Annotated[str, typer.Option(help="The message, Telegram HTML (<b>, <i>, <a href=…>)")],
    photo_url: Annotated[str | None, typer.Option(help="An https image sent with the text as its caption")] = None,
    offer: Annotated[
        list[str] | None, typer.Option(help="A button to buy this offer of the bot (≤ 6), repeatable")
    ] = None,
    segment: Annotated[
        str, typer.Option(help="all | never-bought | bought:OFFER | access-expired[:OFFER] | campaign:NAME")
    ] = "all",
    at: Annotated[str | None, typer.Option(help="When, ISO 8601 (no offset: Brasília time); default now")] = None,
) -> None:
    """Schedule a broadcast (now, or --at a time) and show it."""
    current = session(ctx)
    body = compact(
        {
            "bot_id": bot,
            "text": text,
            "photo_url": photo_url,
            "offer_ids": list(offer) if offer else None,
            "segment": parse_segment(segment),
            "send_at": parse_when(at),
        }
    )
    show_created(current, current.client().post(BROADCASTS.path, body))


@app.command("cancel")
def cancel(ctx: typer.Context, broadcast_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)]) -> None:
    """Stop a scheduled broadcast, or one being sent."""
    current = session(ctx)
    current.out.record(current.client().post(f"{BROADCASTS.item_path(broadcast_id)}/cancel", {}))
