"""What the admin chats read (pt-BR, Telegram HTML: every value from the table is escaped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from funil.bot.texts import brl
from funil.messages import AlertKind, AlertNotice
from funil.notifications.models import BRASILIA

PARSE_MODE = "HTML"

REGISTERED = (
    "✅ Pronto! Este chat vai receber as notificações de <b>{tenant}</b>: vendas, reembolsos, alertas "
    "e o relatório diário às {hour}h (horário de Brasília). Ajuste pelo painel ou pela API."
)
ALREADY_REGISTERED = "Este chat já recebe as notificações. Nada mudou."
CODE_REFUSED = "Código inválido ou expirado. Gere um novo código e envie /admin seguido dele."

ALERT_TITLES = {
    AlertKind.BOT_TOKEN_REFUSED: "Token do bot recusado pelo Telegram",
    AlertKind.BOT_WEBHOOK_FAILING: "Webhook do bot falhando",
    AlertKind.GATEWAY_FAILING: "Gateway de pagamento falhando",
    AlertKind.GATEWAY_FAILOVER: "Pagamentos desviados para o gateway reserva",
    AlertKind.CAPI_ERRORS: "Erros ao enviar eventos para a Meta",
    AlertKind.CAPI_TOKEN_INVALID: "Token da API de Conversões inválido",
    AlertKind.DEAD_LETTERS: "Mensagens paradas na fila de erros",
    AlertKind.VOIDED_ATTEMPT_PAID: "Cobrança anulada foi paga",
}


def _local(moment: datetime) -> str:
    return moment.astimezone(BRASILIA).strftime("%d/%m %H:%M")


def duration(delta: timedelta) -> str:
    """``2 d 3 h``, ``3 h 05 min``, ``12 min``, ``40 s``: how long from the click to the sale."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


def _origin(attribution: Mapping[str, Any]) -> list[str]:
    """Where the sale came from: the ad (names from the link's URL macros), else the UTMs, else the
    link alone; organic only without a click."""
    ad = attribution.get("ad") or {}
    lines = []
    for label, name_field, id_field in (
        ("Campanha", "campaign_name", "campaign_id"),
        ("Conjunto", "adset_name", "adset_id"),
        ("Anúncio", "ad_name", "ad_id"),
    ):
        value = ad.get(name_field) or ad.get(id_field)
        if value:
            lines.append(f"{label}: {escape(str(value))}")
    if lines:
        return lines
    utm = attribution.get("utm") or {}
    tags = [str(utm[name]) for name in ("utm_source", "utm_medium", "utm_campaign") if utm.get(name)]
    if tags:
        return [f"Origem: {escape(' / '.join(tags))}"]
    if attribution.get("clicked_at"):
        return [f"Origem: link {escape(str(attribution.get('link_slug') or '—'))} (sem dados de campanha)"]
    return ["Origem: orgânica (sem clique de anúncio)"]


def sale(
    *,
    offer: str,
    amount: str,
    gateway: str,
    attribution: Mapping[str, Any],
    click_to_sale: timedelta | None,
    paid_at: datetime,
) -> str:
    lines = [
        "💰 <b>Nova venda!</b>",
        f"Oferta: <b>{escape(offer)}</b>",
        f"Valor: <b>{escape(amount)}</b>",
        f"Pagamento: {escape(gateway)}",
        *_origin(attribution),
    ]
    if click_to_sale is not None:
        lines.append(f"Do clique à venda: {duration(click_to_sale)}")
    lines.append(f"Pago em {_local(paid_at)}")
    return "\n".join(lines)


def refund(*, offer: str, part: str, step: int, full: bool, chargeback: bool) -> str:
    what = "Chargeback" if chargeback else "Reembolso"
    scope = "total" if full else "parcial"
    lines = [
        f"↩️ <b>{what} {scope}</b>" + (f" (#{step + 1})" if step else ""),
        f"Oferta: <b>{escape(offer)}</b>",
        f"Valor devolvido: <b>{escape(part)}</b>",
    ]
    return "\n".join(lines)


# What the seller can do, when an incident opens (the detail line below it is the system's own words).
ALERT_ACTIONS = {
    AlertKind.BOT_TOKEN_REFUSED: "O bot parou de responder: confira-o no @BotFather e cadastre o token novo.",
    AlertKind.BOT_WEBHOOK_FAILING: "O Telegram não consegue entregar as mensagens ao bot: as conversas atrasam.",
    AlertKind.GATEWAY_FAILING: "Compradores ficaram sem PIX: confira as credenciais e o status do gateway.",
    AlertKind.GATEWAY_FAILOVER: "As vendas seguem pelo gateway reserva; confira o gateway principal.",
    AlertKind.CAPI_ERRORS: "A Meta está recusando eventos: as conversões podem faltar no Gerenciador.",
    AlertKind.CAPI_TOKEN_INVALID: "Gere um token novo da API de Conversões no Gerenciador de Eventos.",
    AlertKind.DEAD_LETTERS: "Eventos aguardam reenvio: corrija a causa e peça o replay.",
    AlertKind.VOIDED_ATTEMPT_PAID: "Um comprador pagou uma cobrança anulada: confira a venda e entregue ou reembolse.",
}


def alert(notice: AlertNotice) -> str:
    title = ALERT_TITLES.get(notice.kind, str(notice.kind))
    head = "🚨 <b>Alerta</b>" if notice.state == "open" else "✅ <b>Resolvido</b>"
    lines = [f"{head}: {escape(title)}", f"Em: <code>{escape(notice.subject)}</code>"]
    if notice.state == "open" and notice.kind in ALERT_ACTIONS:
        lines.append(ALERT_ACTIONS[notice.kind])
    if notice.detail:
        lines.append(f"<i>{escape(notice.detail)}</i>")
    lines.append(_local(notice.occurred_at))
    return "\n".join(lines)


def money(cents: int | None) -> str:
    return "—" if cents is None else brl(cents)


def roas(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}".replace(".", ",")


def report(
    *, title: str, start: date, end: date, totals: Any, campaigns: Sequence[Any], previous: Any | None = None
) -> str:
    """The funnel of a day (or a week) as the dashboard counts it, with spend and ROAS when imported."""
    span = start.strftime("%d/%m") if start == end else f"{start:%d/%m} a {end:%d/%m}"
    lines = [
        f"📊 <b>{escape(title)}</b> ({span})",
        f"Cliques: {totals.clicks}",
        f"Leads: {totals.leads}",
        f"Checkouts: {totals.checkouts}",
        f"Vendas: {totals.sales}",
        f"Receita: <b>{money(totals.revenue_cents)}</b>",
        f"Investimento: {money(totals.spend_cents)}",
        f"ROAS: {roas(totals.roas)}",
    ]
    if previous is not None:
        lines.append(f"Semana anterior: {previous.sales} vendas, {money(previous.revenue_cents)}")
    if campaigns:
        lines.append("")
        lines.append("<b>Top campanhas</b>")
        for index, row in enumerate(campaigns, start=1):
            name = escape(row.key or "(sem campanha)")
            lines.append(f"{index}. {name}: {row.sales} vendas, {money(row.revenue_cents)}")
    return "\n".join(lines)
