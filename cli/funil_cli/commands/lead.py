"""``funil lead``: data-subject requests (LGPD): everything held on one person, or its erasure."""

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from funil_cli.commands.common import compact
from funil_cli.errors import CliError
from funil_cli.session import session

app = typer.Typer(help="A lead's personal data (LGPD): export or erase.", no_args_is_help=True)

TelegramUserId = Annotated[int | None, typer.Option(help="The person's Telegram user id")]
Email = Annotated[str | None, typer.Option(help="The e-mail the person gave")]
Phone = Annotated[str | None, typer.Option(help="The phone the person gave")]


def subject(telegram_user_id: int | None, email: str | None, phone: str | None) -> dict[str, Any]:
    """The request body: who, by exactly one of the three (sent in a POST body, never a URL)."""
    body = compact({"telegram_user_id": telegram_user_id, "email": email, "phone": phone})
    if len(body) != 1:
        raise CliError("error.lead_selector")
    return body


@app.command("export")
def export(
    ctx: typer.Context,
    telegram_user_id: TelegramUserId = None,
    email: Email = None,
    phone: Phone = None,
    output: Annotated[Path | None, typer.Option(help="Write the JSON here (mode 0600) instead of stdout")] = None,
) -> None:
    """Everything held on one person, as JSON."""
    current = session(ctx)
    answer = current.client().post("/subjects/export", subject(telegram_user_id, email, phone))
    if output is None:
        current.out.json(answer)
        return
    try:  # personal data: readable by its owner only
        descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(answer, file, ensure_ascii=False, indent=2)
            file.write("\n")
    except OSError as error:
        raise CliError("error.write_file", path=output, reason=error.strerror or error) from None
    current.out.note(current.tr("note.exported", path=output))


@app.command("erase")
def erase(
    ctx: typer.Context,
    telegram_user_id: TelegramUserId = None,
    email: Email = None,
    phone: Phone = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
) -> None:
    """Erase one person's data (asks first unless --yes)."""
    current = session(ctx)
    body = subject(telegram_user_id, email, phone)
    who = ", ".join(f"{name}={value}" for name, value in body.items())
    if not yes and not typer.confirm(current.tr("confirm.erase", who=who), err=True):
        raise CliError("error.not_erased")
    answer = current.client().post("/subjects/erase", body)
    if not current.out.as_json:
        current.out.note(current.tr("note.erased"))
    current.out.record(answer if isinstance(answer, dict) else {"result": answer}, raw=answer)
