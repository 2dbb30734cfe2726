"""``funil``: the command line of the operator's API (docs/operator-api.md).

Every failure ends the same way: one line on stderr and a non-zero exit (2 for a command typed
wrong, 1 for everything else), never a traceback (``FUNIL_DEBUG=1`` lets an unexpected one through).
"""

import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any, Literal, NoReturn

import typer
from typer.core import TyperGroup

from funil_cli.commands import (
    ad_accounts,
    bots,
    broadcasts,
    destinations,
    domains,
    gateways,
    incidents,
    keys,
    lead,
    links,
    notifications,
    offers,
    pixels,
    tenants,
)
from funil_cli.commands.bootstrap import bootstrap
from funil_cli.commands.login import login
from funil_cli.errors import CliError
from funil_cli.i18n import Translator, resolve_lang
from funil_cli.output import Output
from funil_cli.session import Session

# Options of the whole CLI, accepted anywhere on the line (`funil bots list --json` as well as
# `funil --json bots list`): moved in front of the subcommand before parsing.
GLOBAL_FLAGS = frozenset({"--json"})
GLOBAL_OPTIONS = frozenset({"--lang", "--api-url", "--api-key"})


def hoist_global_options(args: Sequence[str]) -> list[str]:
    front: list[str] = []
    rest: list[str] = []
    position = 0
    while position < len(args):
        arg = args[position]
        if arg == "--":  # everything after is an argument
            rest.extend(args[position:])
            break
        name = arg.split("=", 1)[0]
        if arg in GLOBAL_FLAGS or (name in GLOBAL_OPTIONS and "=" in arg):
            front.append(arg)
        elif arg in GLOBAL_OPTIONS and position + 1 < len(args):
            front.extend(args[position : position + 2])
            position += 1
        else:
            rest.append(arg)
        position += 1
    return front + rest


def _lang_in(args: Sequence[str]) -> str | None:
    """The --lang of a command line that did not parse (to say why in the right language)."""
    for position, arg in enumerate(args):
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg == "--lang" and position + 1 < len(args):
            return args[position + 1]
    return None


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(" ".join(message.split()), err=True)  # one line, whatever the API's message held
    sys.exit(code)


class FunilGroup(TyperGroup):
    """The root command: parses the hoisted line and turns every failure into one line."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        line = hoist_global_options(sys.argv[1:] if args is None else args)
        tr = Translator(resolve_lang(_lang_in(line), os.environ))
        try:
            result = super().main(
                args=line,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except typer.Abort:  # Ctrl-D at a prompt, or no terminal to ask on
            _fail(f"{tr('error.prefix')}: {tr('error.aborted')}", 1)
        except typer.TyperException as error:  # a command typed wrong: usage errors
            if not error.format_message():  # a group run without a command: its help is the message
                sys.exit(getattr(error, "exit_code", 2))
            context = getattr(error, "ctx", None)
            hint = f" ({tr('error.usage_hint', command=context.command_path)})" if context is not None else ""
            _fail(f"{tr('error.prefix')}: {error.format_message()}{hint}", getattr(error, "exit_code", 2))
        except CliError as error:  # raised before a session existed
            _fail(f"{tr('error.prefix')}: {error.render(tr)}", 1)
        except Exception as error:
            if os.environ.get("FUNIL_DEBUG"):
                raise
            _fail(f"{tr('error.prefix')}: {tr('error.unexpected', reason=f'{type(error).__name__}: {error}')}", 1)
        code = result if isinstance(result, int) else 0  # typer.Exit(n) comes back as n
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]  # typer's Context is click's
        try:
            return super().invoke(ctx)
        except CliError as error:
            current = ctx.obj if isinstance(ctx.obj, Session) else None
            tr = current.tr if current else Translator(resolve_lang(None, os.environ))
            _fail(f"{tr('error.prefix')}: {error.render(tr)}", 1)


app = typer.Typer(
    cls=FunilGroup,
    name="funil",
    help="Funil: bots, gateways, pixels, offers and tracking links of a Funil deployment.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of tables")] = False,
    lang: Annotated[
        Literal["pt", "en"] | None, typer.Option(help="pt or en (default: FUNIL_LANG, else LANG, else pt)")
    ] = None,
    api_url: Annotated[str | None, typer.Option(help="Overrides FUNIL_API_URL and the config file")] = None,
    api_key: Annotated[str | None, typer.Option(help="Overrides FUNIL_API_KEY and the config file")] = None,
) -> None:
    tr = Translator(resolve_lang(lang, os.environ))
    current = Session(tr=tr, out=Output(tr, as_json), url_flag=api_url, key_flag=api_key, env=dict(os.environ))
    ctx.obj = current
    ctx.call_on_close(current.close)


app.command("login")(login)
app.command("bootstrap")(bootstrap)
app.add_typer(tenants.app, name="tenants")
app.add_typer(keys.app, name="keys")
app.add_typer(bots.app, name="bots")
app.add_typer(gateways.app, name="gateways")
app.add_typer(pixels.app, name="pixels")
app.add_typer(destinations.app, name="destinations")
app.add_typer(offers.app, name="offers")
app.add_typer(links.app, name="links")
app.add_typer(lead.app, name="lead")
app.add_typer(ad_accounts.app, name="ad-accounts")
app.add_typer(broadcasts.app, name="broadcasts")
app.add_typer(domains.app, name="domains")
app.add_typer(notifications.app, name="notifications")
app.add_typer(incidents.app, name="incidents")


def main() -> None:
    app()
