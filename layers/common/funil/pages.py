"""Small self-contained HTML pages for people: pt-BR first, English when the browser prefers it."""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Mapping
from typing import Any

STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f4f6f8;color:#1c1e21;"
    "margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center;text-align:center}"
    "main{padding:24px;max-width:380px}h1{font-size:22px;margin:0 0 8px}p{color:#555;font-size:15px;line-height:1.4}"
    "a.b{display:inline-block;background:#229ED9;color:#fff;text-decoration:none;font-weight:600;"
    "padding:14px 28px;border-radius:999px;font-size:18px;margin:16px 0}"
)

TEXTS: dict[str, dict[str, str]] = {
    "pt-BR": {
        "open_title": "Abrindo o Telegram…",
        "open_button": "Abrir no Telegram",
        "open_hint": "Se o Telegram não abrir sozinho, toque no botão acima.",
        "not_found_title": "Link não encontrado",
        "not_found_body": "Este link não existe ou foi desativado. Confira o endereço com quem o enviou.",
        "unavailable_title": "Tente novamente em instantes",
        "unavailable_body": "O atendimento está indisponível agora. Tente de novo em alguns minutos.",
    },
    "en": {
        "open_title": "Opening Telegram…",
        "open_button": "Open in Telegram",
        "open_hint": "If Telegram does not open by itself, tap the button above.",
        "not_found_title": "Link not found",
        "not_found_body": "This link does not exist or was disabled. Check the address with whoever sent it.",
        "unavailable_title": "Please try again shortly",
        "unavailable_body": "The service is unavailable right now. Please try again in a few minutes.",
    },
}


def language(accept_language: str | None) -> str:
    """pt-BR unless the browser's first preference is English."""
    first = (accept_language or "").split(",", 1)[0].strip().lower()
    return "en" if first.startswith("en") else "pt-BR"


def texts(accept_language: str | None) -> Mapping[str, str]:
    return TEXTS[language(accept_language)]


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no way to close the element or start a comment."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def message_page(title: str, body: str, lang: str) -> tuple[str, str]:
    """A page with a title and a sentence. Returns (html, nonce) for the CSP header."""
    nonce = new_nonce()
    page = (
        f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
        f'<title>{html.escape(title)}</title><style nonce="{nonce}">{STYLE}</style></head>'
        f"<body><main><h1>{html.escape(title)}</h1><p>{html.escape(body)}</p></main></body></html>"
    )
    return page, nonce


def message_csp(nonce: str) -> str:
    return f"default-src 'none'; style-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
