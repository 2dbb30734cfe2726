"""The sign-in pages: the button that spends a one-time link, and what a refused link sees (pt-BR first).

Opening a link only shows the button (no script, nothing written): link previewers, scanners and
mail filters that fetch the URL do not spend it. The page never sends the token to another site
(``Referrer-Policy: same-origin``; not ``no-referrer``, which makes browsers post ``Origin: null``
and the sign-in refuses that) and can only post to ourselves (``form-action 'self'``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from funil import pages

__all__ = ["TEXTS", "page_headers", "refused_page", "sign_in_page"]

TEXTS: dict[str, dict[str, str]] = {
    "pt-BR": {
        "title": "Entrar no painel",
        "body": "Este link de acesso ao painel do Funil vale uma vez, por 15 minutos.",
        "button": "Entrar no painel",
        "refused_title": "Link de acesso inválido",
        "refused_body": "Este link já foi usado, expirou ou não existe. Peça um novo com o comando funil login.",
        "cross_site_title": "Não foi possível entrar",
        "cross_site_body": "Abra o link de acesso direto no navegador, sem passar por outro site.",
        "to_dashboard": "Ir para o painel",
    },
    "en": {
        "title": "Sign in to the dashboard",
        "body": "This sign-in link to the Funil dashboard works once, for 15 minutes.",
        "button": "Sign in",
        "refused_title": "Invalid sign-in link",
        "refused_body": "This link was used already, expired or does not exist. Ask for a new one with funil login.",
        "cross_site_title": "Could not sign in",
        "cross_site_body": "Open the sign-in link directly in the browser, not through another site.",
        "to_dashboard": "Go to the dashboard",
    },
}

_STYLE = pages.STYLE + (
    "button{background:#229ED9;color:#fff;border:0;font-weight:600;padding:14px 28px;border-radius:999px;"
    "font-size:18px;margin:16px 0;cursor:pointer}a{color:#555;font-size:14px}"
)


def _texts(accept_language: str | None) -> tuple[str, Mapping[str, str]]:
    lang = pages.language(accept_language)
    return lang, TEXTS[lang]


def _page(lang: str, title: str, body: str, nonce: str) -> str:
    return (
        f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
        f'<title>{html.escape(title)}</title><style nonce="{nonce}">{_STYLE}</style></head>'
        f"<body><main>{body}</main></body></html>"
    )


def page_headers(nonce: str) -> dict[str, str]:
    """Headers of the sign-in pages (the link's token is in their URL: no referrer to other sites, no cache)."""
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'"
        ),
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def sign_in_page(token: str, accept_language: str | None) -> tuple[str, str]:
    """The page with the button that posts ``token`` to ``/app/login``; (html, nonce)."""
    lang, text = _texts(accept_language)
    nonce = pages.new_nonce()
    body = (
        f"<h1>{html.escape(text['title'])}</h1><p>{html.escape(text['body'])}</p>"
        '<form method="post" action="/app/login">'
        f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'
        f'<button type="submit">{html.escape(text["button"])}</button></form>'
    )
    return _page(lang, text["title"], body, nonce), nonce


def refused_page(accept_language: str | None, *, cross_site: bool = False) -> tuple[str, str]:
    """What a refused sign-in sees (a spent, expired or unknown link; or a post from another site)."""
    lang, text = _texts(accept_language)
    nonce = pages.new_nonce()
    kind = "cross_site" if cross_site else "refused"
    body = (
        f"<h1>{html.escape(text[kind + '_title'])}</h1><p>{html.escape(text[kind + '_body'])}</p>"
        f'<p><a href="/app">{html.escape(text["to_dashboard"])}</a></p>'
    )
    return _page(lang, text[kind + "_title"], body, nonce), nonce
