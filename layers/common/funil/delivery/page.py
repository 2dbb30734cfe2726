"""``GET /d/{token}``: the delivery page (pt-BR; English when the browser prefers it).

A paid payment's page shows the access and fires the browser Purchase through the Pixel with the
server's event id (``purchase_<payment>``), value and currency (funil.conversions.browser), so Meta counts
the sale once. Unpaid, refunded or unknown tokens get a clear page without any event. The page only
reads: opening it never sends the server Purchase (that comes from the payment's confirmation), so
a link-preview fetcher or a second visit changes nothing.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from funil import http, keys, pages
from funil.click import bridge
from funil.click.links import BOT_USERNAME_RE, META_PIXEL_ID_RE
from funil.conversions.browser import BrowserPurchase, browser_purchase
from funil.delivery.status import DeliveryStatus
from funil.payments.status import PaymentStatus
from funil.ports import Items

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")

TEXTS: dict[str, dict[str, str]] = {
    "pt-BR": {
        "paid_title": "Pagamento confirmado ✅",
        "paid_body": "Obrigado pela compra! Seu acesso está logo abaixo e também no chat do Telegram.",
        "access": "Acessar",
        "access_pending": "Seu acesso está a caminho no chat do Telegram. "
        "Se não chegar em alguns minutos, fale com o bot.",
        "open_bot": "Abrir o bot no Telegram",
        "order": "Pedido",
        "unpaid_title": "Pagamento ainda não confirmado",
        "unpaid_body": "Assim que o pagamento for confirmado, o seu acesso chega no chat do Telegram e nesta página. "
        "Atualize a página em alguns instantes.",
        "refunded_title": "Compra reembolsada",
        "refunded_body": "O pagamento desta compra foi devolvido, por isso o acesso não está mais disponível.",
        "unknown_title": "Página não encontrada",
        "unknown_body": "Este link de entrega não existe. Confira o endereço recebido no chat do Telegram.",
        "error_title": "Tente novamente em instantes",
        "error_body": "Não foi possível abrir a sua entrega agora. Atualize a página em alguns minutos.",
    },
    "en": {
        "paid_title": "Payment confirmed ✅",
        "paid_body": "Thank you! Your access is below and in your Telegram chat.",
        "access": "Open",
        "access_pending": "Your access is on its way in the Telegram chat. If it does not arrive in a few minutes, "
        "write to the bot.",
        "open_bot": "Open the bot in Telegram",
        "order": "Order",
        "unpaid_title": "Payment not confirmed yet",
        "unpaid_body": "As soon as the payment is confirmed, your access arrives in the Telegram chat "
        "and on this page. Reload this page in a moment.",
        "refunded_title": "Purchase refunded",
        "refunded_body": "This purchase was refunded, so the access is no longer available.",
        "unknown_title": "Page not found",
        "unknown_body": "This delivery link does not exist. Check the address you received in the Telegram chat.",
        "error_title": "Please try again shortly",
        "error_body": "Your delivery cannot be shown right now. Reload the page in a few minutes.",
    },
}

# Meta's snippet, then the Purchase with the server's event id; nothing else runs on the page.
_SCRIPT = (
    "(function(){var c=JSON.parse(document.getElementById('funil-cfg').textContent);"
    "!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?"
    "n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;"
    "n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;t.src=v;"
    "s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window,document,'script',c.pixelScript);"
    "fbq('init',c.pixel);fbq('track','Purchase',c.data,{eventID:c.eventId})})();"
)
_STYLE = pages.STYLE + (
    ".o{font-size:13px;color:#888;margin-top:18px}.s{font-size:18px;font-weight:600;color:#1c1e21}"
    "a.l{display:block;color:#555;font-size:14px;margin-top:6px}"
)


@dataclass(frozen=True, slots=True)
class PageDeps:
    items: Items
    payment_by_token: Callable[[str], dict[str, Any] | None]


def _texts(accept_language: str | None) -> tuple[str, Mapping[str, str]]:
    lang = pages.language(accept_language)
    return lang, TEXTS[lang]


def _message(status: int, key: str, accept_language: str | None) -> http.Response:
    lang, text = _texts(accept_language)
    page, nonce = pages.message_page(text[f"{key}_title"], text[f"{key}_body"], lang)
    return http.html_response(status, page, {"content-security-policy": pages.message_csp(nonce)})


def serve_delivery_page(event: http.Event, deps: PageDeps) -> http.Response:
    accept_language = http.header(event, "accept-language")
    token = http.path_parameter(event, "token") or ""
    if not TOKEN_RE.fullmatch(token):
        return _message(404, "unknown", accept_language)
    try:
        payment = deps.payment_by_token(token)
        if payment is None or payment.get("delivery_token") != token:
            return _message(404, "unknown", accept_language)
        status = payment.get("status")
        if status == PaymentStatus.REFUNDED:
            return _message(200, "refunded", accept_language)
        if status != PaymentStatus.PAID:
            return _message(200, "unpaid", accept_language)
        return _paid_page(payment, deps, accept_language)
    except Exception:
        log.exception("delivery page failed")
        return _message(503, "error", accept_language)


def _pixel_of(payment: Mapping[str, Any], items: Items) -> str | None:
    """The tenant's Meta pixel id for this sale, if it reports Purchases."""
    attribution: Mapping[str, Any] = payment.get("attribution") or {}
    pixel_id = payment.get("pixel_id") or attribution.get("pixel_id")
    if not pixel_id and attribution.get("link_slug"):
        link = items.get(*keys.link(attribution["link_slug"]))
        pixel_id = (link or {}).get("pixel_id") if (link or {}).get("tenant_id") == payment.get("tenant_id") else None
    if not pixel_id:
        return None
    pixel = items.get(*keys.pixel(pixel_id))
    if pixel is None or pixel.get("tenant_id") != payment.get("tenant_id") or not pixel.get("enabled", True):
        return None
    if not (pixel.get("events") or {}).get("Purchase", True):
        return None
    meta_pixel_id = str(pixel.get("meta_pixel_id") or "")
    return meta_pixel_id if META_PIXEL_ID_RE.fullmatch(meta_pixel_id) else None


def _paid_page(payment: Mapping[str, Any], deps: PageDeps, accept_language: str | None) -> http.Response:
    lang, text = _texts(accept_language)
    record = deps.items.get(*keys.delivery_record(str(payment["payment_id"]))) or {}
    access = None
    if record.get("status") == DeliveryStatus.DELIVERED.value:
        access = record.get("invite_link") or _content_url(payment, deps.items)
    bot_username = _bot_username(payment, deps.items)
    meta_pixel_id = _pixel_of(payment, deps.items)
    purchase = browser_purchase(payment) if meta_pixel_id else None
    nonce = pages.new_nonce()
    page = render_paid(
        text=text,
        lang=lang,
        nonce=nonce,
        offer_name=str(payment.get("offer_name") or ""),
        payment_id=str(payment["payment_id"]),
        amount=_amount(payment),
        access=access,
        bot_username=bot_username,
        meta_pixel_id=meta_pixel_id,
        purchase=purchase,
    )
    csp = bridge.content_security_policy(nonce) if purchase else pages.message_csp(nonce)
    return http.html_response(200, page, {"content-security-policy": csp})


def _content_url(payment: Mapping[str, Any], items: Items) -> str | None:
    delivery = payment.get("delivery")
    if not isinstance(delivery, Mapping) and payment.get("offer_id"):
        offer = items.get(*keys.offer(str(payment.get("bot_id")), payment["offer_id"])) or {}
        delivery = offer.get("delivery") if offer.get("tenant_id") in (None, payment.get("tenant_id")) else None
    url = (delivery or {}).get("url") if isinstance(delivery, Mapping) else None
    return str(url) if isinstance(url, str) and url.startswith("https://") else None


def _bot_username(payment: Mapping[str, Any], items: Items) -> str | None:
    bot = items.get(*keys.bot(str(payment.get("bot_id")))) or {}
    username = str(bot.get("username") or "")
    return (
        username if BOT_USERNAME_RE.fullmatch(username) and bot.get("tenant_id") == payment.get("tenant_id") else None
    )


def _amount(payment: Mapping[str, Any]) -> str | None:
    cents, currency = payment.get("amount_cents"), str(payment.get("currency") or "BRL").upper()
    if not isinstance(cents, int) or isinstance(cents, bool):
        return None
    if currency == "XTR":
        return f"⭐ {cents}"
    whole, rest = divmod(cents, 100)
    grouped = f"{whole:,}".replace(",", ".")
    return f"R$ {grouped},{rest:02d}" if currency == "BRL" else f"{currency} {whole}.{rest:02d}"


def render_paid(
    *,
    text: Mapping[str, str],
    lang: str,
    nonce: str,
    offer_name: str,
    payment_id: str,
    amount: str | None,
    access: str | None,
    bot_username: str | None,
    meta_pixel_id: str | None,
    purchase: BrowserPurchase | None,
) -> str:
    parts = [
        f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">',
        '<meta name="referrer" content="no-referrer">',
        f'<title>{html.escape(text["paid_title"])}</title><style nonce="{nonce}">{_STYLE}</style></head>',
        f"<body><main><h1>{html.escape(text['paid_title'])}</h1>",
    ]
    if offer_name:
        parts.append(f'<p class="s">{html.escape(offer_name)}{" — " + html.escape(amount) if amount else ""}</p>')
    parts.append(f"<p>{html.escape(text['paid_body'])}</p>")
    if access:
        parts.append(
            f'<a class="b" id="funil-access" href="{html.escape(access, quote=True)}" rel="noopener noreferrer">'
            f"{html.escape(text['access'])}</a>"
        )
    else:
        parts.append(f"<p>{html.escape(text['access_pending'])}</p>")
    if bot_username:
        bot_link = html.escape(f"https://t.me/{bot_username}", quote=True)
        parts.append(f'<a class="l" href="{bot_link}">{html.escape(text["open_bot"])}</a>')
    parts.append(f'<p class="o">{html.escape(text["order"])} {html.escape(payment_id)}</p></main>')
    if purchase and meta_pixel_id:
        config = {
            "pixel": meta_pixel_id,
            "eventId": purchase.event_id,
            "data": purchase.custom_data,
            "pixelScript": bridge.PIXEL_SCRIPT_URL,
        }
        parts.append(f'<script type="application/json" id="funil-cfg">{pages.script_json(config)}</script>')
        parts.append(f'<script nonce="{nonce}">{_SCRIPT}</script>')
    parts.append("</body></html>")
    return "".join(parts)
