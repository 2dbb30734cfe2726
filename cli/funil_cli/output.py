"""What a command prints: rich tables for people, or ``--json`` with the API's JSON for scripts.

Results go to stdout; notes (a key shown once, where a file went) go to stderr, so ``--json``
output stays one parseable document.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from funil_cli.i18n import Translator

WIDE = 4096  # not a terminal: never cut an id or a URL to fit 80 columns


@dataclass(frozen=True)
class Column:
    field: str  # the key in the API's JSON
    header: str  # an i18n catalog key ("col.name")
    show: Callable[[Any, Translator], str] | None = None  # how to print the value (default: as is)


def plain(value: Any, tr: Translator) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return tr("yes") if value else tr("no")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def money(cents: Any, tr: Translator) -> str:
    if not isinstance(cents, int):
        return plain(cents, tr)
    reais = f"{cents // 100}.{cents % 100:02d}"
    return f"R$ {reais.replace('.', ',') if tr.lang == 'pt' else reais}"


def flatten(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested objects as dotted fields: ``{"health": {"status": "ok"}}`` → ``health.status``."""
    for name, value in data.items():
        if isinstance(value, dict) and value:
            yield from flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


class Output:
    def __init__(self, tr: Translator, as_json: bool) -> None:
        self.tr = tr
        self.as_json = as_json

    def _console(self, stderr: bool = False) -> Console:
        # Built per call: the test runner swaps sys.stdout/sys.stderr between invocations.
        stream = sys.stderr if stderr else sys.stdout
        width = None if stream.isatty() else WIDE
        return Console(file=stream, width=width, highlight=False, soft_wrap=False, emoji=False)

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")

    def note(self, text: str) -> None:
        sys.stderr.write(text + "\n")

    def items(self, items: Sequence[dict[str, Any]], columns: Sequence[Column]) -> None:
        """A list: one row per item (``--json``: ``{"items": [...], "next_cursor": null}``, every page)."""
        if self.as_json:
            self.json({"items": list(items), "next_cursor": None})
            return
        if not items:
            self.note(self.tr("note.nothing"))
            return
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for column in columns:
            table.add_column(self.tr(column.header), overflow="fold")
        for item in items:
            # Text, not str: a value like "[b]" is data, not rich markup.
            table.add_row(*(Text((column.show or plain)(item.get(column.field), self.tr)) for column in columns))
        self._console().print(table)

    def record(self, data: dict[str, Any], raw: Any = None) -> None:
        """One thing, field by field (``--json``: ``raw``, the API's answer, when given; else ``data``)."""
        if self.as_json:
            self.json(data if raw is None else raw)
            return
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column(self.tr("col.field"))
        table.add_column(self.tr("col.value"), overflow="fold")
        for name, value in flatten(data):
            table.add_row(Text(name), Text(plain(value, self.tr)))
        self._console().print(table)
