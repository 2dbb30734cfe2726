"""What the bot says (pt-BR), with HTML escaping (messages are sent with parse_mode HTML)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import escape

from funil.bot.views import BotView, OfferView

PARSE_MODE = "HTML"
SAO_PAULO = timezone(timedelta(hours=-3))  # Brazil has had no daylight saving time since 2019

DEFAULT_WELCOME = "Olá, {nome}! 👋\nEscolha uma oferta abaixo para garantir o seu acesso."
DEFAULT_SUPPORT = (
    "Suporte de pagamentos: responda esta conversa descrevendo o problema (com o comprovante, se "
    "tiver) e retornaremos o quanto antes. Pagamentos em Telegram Stars podem ser reembolsados "
    "pelo suporte."
)
NO_OFFERS = "No momento não há ofertas disponíveis. Volte em breve!"
OFFER_GONE = "Esta oferta não está mais disponível."
CHECKOUT_FAILED = "Não foi possível gerar o PIX agora. Tente novamente em alguns instantes."
PAID = "✅ Pagamento confirmado! Seu acesso chega em instantes."
STILL_PENDING = "Ainda não recebemos o pagamento. Se já pagou, aguarde alguns instantes e toque de novo."
EXPIRED = "Este PIX expirou. Toque em comprar para gerar outro."
CANCELED = "Este pagamento foi cancelado. Toque em comprar para gerar outro."
REFUNDED = "Este pagamento foi estornado."
UNKNOWN_PAYMENT = "Pagamento não encontrado."
STARS_PAID = "✅ Pagamento em Stars confirmado! Seu acesso chega em instantes."
PRE_CHECKOUT_REFUSED = "Esta fatura não é mais válida. Peça uma nova pelo menu do bot."
COPY_PIX = "📋 Copiar código PIX"
CHECK_PAYMENT = "✅ Já paguei / verificar"
# The optional phone step (reply keyboard: a button's text comes back as the buyer's message).
PHONE_PROMPT = (
    "Opcional: quer deixar seu telefone para recebermos contato sobre o seu pedido? "
    "Toque em “Compartilhar meu telefone” ou em “Pular”. Seu PIX acima continua válido."
)
SHARE_PHONE = "📱 Compartilhar meu telefone"
SKIP_PHONE = "Pular"
PHONE_PLACEHOLDER = "Compartilhe seu telefone ou pule"
PHONE_THANKS = "Obrigado! Telefone recebido. ✅"
PHONE_SKIPPED = "Tudo bem, sem telefone. Seu PIX acima continua válido."
PHONE_NOT_OWN = "Para compartilhar, use o botão “Compartilhar meu telefone”: ele envia o seu próprio número."
# /painel from one of the bot's admins (funil.bot.admin): the link rides on the button only.
OPEN_DASHBOARD = "📊 Abrir o painel"
DASHBOARD_UNCONFIGURED = (
    "O painel ainda não está disponível nesta instalação: falta configurar o endereço público "
    "(PublicBaseUrl). Fale com quem administra o Funil."
)


def brl(cents: int) -> str:
    """R$ 1.234,56"""
    units, rest = divmod(abs(cents), 100)
    grouped = f"{units:,}".replace(",", ".")
    return f"{'-' if cents < 0 else ''}R$ {grouped},{rest:02d}"


def welcome(bot: BotView, first_name: str | None) -> str:
    template = bot.welcome_text or DEFAULT_WELCOME
    name = escape((first_name or "").strip()[:64]) or "tudo bem"
    text = escape(template).replace("{nome}", name).replace("{name}", name)
    if not bot.menu:
        return f"{text}\n\n{NO_OFFERS}"
    lines = [text, ""]
    for offer in bot.menu:
        price = brl(offer.price_cents)
        stars = f" ou ⭐ {offer.stars_price} Stars" if offer.stars_price else ""
        lines.append(f"• <b>{escape(offer.title)}</b>: {price}{stars}")
        if offer.description:
            lines.append(f"  {escape(offer.description)}")
    return "\n".join(lines)


def support(bot: BotView) -> str:
    return escape(bot.support_text or DEFAULT_SUPPORT)


def buy_button(offer: OfferView) -> str:
    return f"💳 {offer.title} · {brl(offer.price_cents)} (PIX)"[:64]


def stars_button(offer: OfferView) -> str:
    return f"⭐ {offer.title} · {offer.stars_price} Stars"[:64]


def pix_caption(offer_title: str, amount_cents: int, brcode: str, expires_at: datetime | None) -> str:
    until = ""
    if expires_at is not None:
        until = f"\nVálido até {expires_at.astimezone(SAO_PAULO).strftime('%d/%m %H:%M')} (horário de Brasília)."
    return (
        f"<b>{escape(offer_title)}</b>\nValor: <b>{brl(amount_cents)}</b>\n\n"
        "Pague com PIX: escaneie o QR Code ou toque em “Copiar código PIX” e cole no app do seu banco."
        f"{until}\n\n<code>{escape(brcode)}</code>"
    )


def status_answer(status: str) -> str:
    return {
        "paid": PAID,
        "pending": STILL_PENDING,
        "expired": EXPIRED,
        "canceled": CANCELED,
        "refunded": REFUNDED,
    }.get(status, UNKNOWN_PAYMENT)


def dashboard_link(minutes: int) -> str:
    return (
        "🔐 Seu link de acesso ao painel está no botão abaixo.\n\n"
        f"Ele funciona <b>uma única vez</b> e expira em <b>{minutes} minutos</b>. Não o encaminhe: "
        "quem o abrir entra no seu painel. Para outro link, envie /painel de novo."
    )
