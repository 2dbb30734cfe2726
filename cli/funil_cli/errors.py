"""What a command can fail with. Each becomes one line on stderr and a non-zero exit (funil_cli.main)."""

from __future__ import annotations

from dataclasses import dataclass

from funil_cli.i18n import Translator


class CliError(Exception):
    """A failure told in the user's language: a catalog key (funil_cli.i18n) and its parameters."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def render(self, tr: Translator) -> str:
        return tr(self.key, **self.params)


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class ApiError(CliError):
    """The API answered 4xx/5xx: its status, its ``error`` and each ``fields[]`` it named."""

    def __init__(self, status: int, message: str, fields: list[FieldProblem] | None = None) -> None:
        super().__init__("error.http", status=status)
        self.status = status
        self.message = message
        self.fields = fields or []

    def render(self, tr: Translator) -> str:
        detail = self.message
        if self.fields:
            detail += " (" + "; ".join(f"{problem.field}: {problem.message}" for problem in self.fields) + ")"
        if self.status == 401:
            detail += f"; {tr('error.check_key')}"
        return tr("error.http", status=self.status, message=detail)
