"""What an operator's request can fail with, each mapped to one HTTP answer by ``funil.operator.routes``.

Messages are written for the person at the CLI or the panel: they name the field and the reason,
never a secret, a stack trace or the outside world's raw answer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    field: str  # dotted path in the request body: "bots.0.weight"
    message: str


class OperatorError(Exception):
    status = 400

    def __init__(self, message: str, fields: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []

    def body(self) -> dict[str, object]:
        answer: dict[str, object] = {"error": self.message}
        if self.fields:
            answer["fields"] = [{"field": problem.field, "message": problem.message} for problem in self.fields]
        return answer


class Unauthorized(OperatorError):
    status = 401


class Forbidden(OperatorError):
    status = 403


class NotFound(OperatorError):
    """Also the answer for another tenant's resource: whether it exists is not the caller's to know."""

    status = 404


class Conflict(OperatorError):
    status = 409


class Invalid(OperatorError):
    """The input is wrong, possibly as the outside world judged it (a token Telegram refuses)."""

    status = 422

    @classmethod
    def field(cls, field: str, message: str) -> Invalid:
        return cls("invalid input", [FieldProblem(field, message)])


class Upstream(OperatorError):
    """The outside world failed (down, timing out, answering nonsense): nothing was written, retry."""

    status = 502


class Unconfigured(OperatorError):
    """The deployment lacks what the request needs (not the caller's fault, nor the outside world's):
    e.g. no ``PublicBaseUrl``, so no bot or gateway could be told where to send its webhooks."""

    status = 503
