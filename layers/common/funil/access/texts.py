"""What the buyer reads about their access (pt-BR, plain text: sent without a parse mode)."""

from __future__ import annotations

from datetime import datetime

from funil.access.models import brasilia_date

__all__ = ["ended", "pix_button", "reminder", "renewed", "stars_button", "valid_until"]

_TITLE_CHARS = 64


def _title(title: str) -> str:
    return title.strip()[:_TITLE_CHARS] or "sua assinatura"


def reminder(title: str, ends_at: datetime, now: datetime) -> str:
    days = max(1, round((ends_at - now).total_seconds() / 86400))
    when = "amanhã" if days == 1 else f"em {days} dias"
    return (
        f"⏳ Seu acesso a {_title(title)} termina {when}, em {brasilia_date(ends_at)} (horário de Brasília).\n\n"
        "Renove agora para continuar no grupo sem interrupção: o novo período começa quando o atual termina."
    )


def ended(title: str) -> str:
    return (
        f"⌛ Seu acesso terminou ({_title(title)}) e você saiu do grupo.\n\n"
        "Quer voltar? Renove abaixo e receba um novo link de entrada assim que o pagamento for confirmado."
    )


def renewed(ends_at: datetime) -> str:
    return f"Acesso renovado até {brasilia_date(ends_at)} (horário de Brasília). Você continua no grupo: nada muda."


def valid_until(ends_at: datetime) -> str:
    return f"Seu acesso vale até {brasilia_date(ends_at)} (horário de Brasília)."


def pix_button(has_stars: bool) -> str:
    return "🔁 Renovar com PIX" if has_stars else "🔁 Renovar agora"


def stars_button() -> str:
    return "⭐ Renovar com Stars"
