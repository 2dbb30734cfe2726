"""``funil notifications``: the admin chats that hear of sales, refunds, alerts and reports (docs/notifications.md)."""

from typing import Annotated, Any

import typer

from funil_cli.errors import CliError
from funil_cli.i18n import Translator
from funil_cli.output import Column, plain
from funil_cli.session import session

CODES = "/notifications/codes"
CHATS = "/notifications/chats"
KINDS = ("sale", "refund", "daily", "weekly", "alerts")

ChatId = Annotated[int, typer.Argument(metavar="CHAT_ID", show_default=False, min=1)]


def _kinds_on(value: Any, tr: Translator) -> str:
    if not isinstance(value, dict):
        return plain(value, tr)
    return ",".join(kind for kind in KINDS if value.get(kind)) or "-"


COLUMNS = (
    Column("chat_id", "col.id"),
    Column("bot_id", "col.bot"),
    Column("status", "col.status"),
    Column("kinds", "col.kinds", _kinds_on),
    Column("report_hour", "col.report_hour"),
)

app = typer.Typer(help="Notifications: the admin chats in Telegram and what each hears.", no_args_is_help=True)


@app.command("code")
def code(ctx: typer.Context) -> None:
    """A one-time code (15 minutes): send `/admin <code>` to one of your bots to register that chat."""
    current = session(ctx)
    answer = current.client().post(CODES, {})
    current.out.record(answer)
    current.out.note(current.tr("note.admin_code", command=answer.get("command", "")))


@app.command("chats")
def chats(ctx: typer.Context) -> None:
    """List the admin chats."""
    current = session(ctx)
    current.out.items(current.client().list_all(CHATS), COLUMNS)


def _kind(text: str) -> str:
    kind = text.strip().lower()
    if kind not in KINDS:
        raise CliError("error.notification_kind", value=text)
    return kind


@app.command("set")
def set_chat(
    ctx: typer.Context,
    chat_id: ChatId,
    on: Annotated[
        list[str] | None, typer.Option("--on", help="A kind to turn on: sale, refund, daily, weekly, alerts")
    ] = None,
    off: Annotated[list[str] | None, typer.Option("--off", help="A kind to turn off (repeatable)")] = None,
    hour: Annotated[int | None, typer.Option(help="Hour of the daily and weekly reports, 0-23, Brasília time")] = None,
) -> None:
    """Turn kinds on or off and set the report hour of one chat."""
    current = session(ctx)
    kinds = {_kind(kind): True for kind in on or []} | {_kind(kind): False for kind in off or []}
    body: dict[str, Any] = {}
    if kinds:
        body["kinds"] = kinds
    if hour is not None:
        body["report_hour"] = hour
    current.out.record(current.client().patch(f"{CHATS}/{chat_id}", body))


@app.command("remove")
def remove(ctx: typer.Context, chat_id: ChatId) -> None:
    """Stop notifying a chat (it can register again with a new code)."""
    current = session(ctx)
    current.out.record(current.client().delete(f"{CHATS}/{chat_id}"))
