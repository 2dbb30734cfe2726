"""Follow-ups (``timer = follow_up``): an unpaid PIX's reminder and after-expiry message, a sale's upsell.

The item (``funil.bot.offers_after``, pattern 45) names the payment; each run takes the latest
step due (an earlier one still unsent is stale and skipped; so is a reminder of a charge no longer
payable, while the after-expiry step still goes), and acts only when:

1. the payment still has a buyer (an erased one has none) and its bot and offer are enabled;
2. for an unpaid step, the payment is still unpaid: a pending one is first re-read from its gateway
   through the reconciler's own check (``funil.payments.reconcile.reconcile_one``), so a buyer who
   paid a moment ago is confirmed, not reminded; the lead's ``CHARGE#<offer>`` still names this
   payment (a newer charge of the offer means they asked again); for the upsell, the payment is paid
   and the buyer has not bought the upsell yet;
3. the lead is reachable and has not opted out (``opted_out_at``, set by ``/parar``).

Otherwise the follow-ups stop (``stopped`` records why). A step is marked sent before it is sent
(conditional: never twice); Telegram's 429 or a network error unmarks it and raises, so the run
retries after its lease; 403 marks the lead unreachable and stops; 401 marks the bot's token
invalid (as the webhook does) and stops. Every message says how to stop them (``/parar``);
``/voltar`` undoes it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any

from funil import keys
from funil.adapters.telegram import (
    MAX_COPY_TEXT_CHARS,
    BotTokenInvalid,
    Button,
    RateLimited,
    TelegramUnavailable,
    UserUnreachable,
)
from funil.bot import checkout, storage, texts
from funil.bot.offers_after import EXPIRED, REMINDER, UPSELL
from funil.bot.ports import BotDeps, BotWithoutToken
from funil.bot.updates import Incoming
from funil.bot.views import BotView, OfferView
from funil.clock import iso, parse_iso
from funil.observability import count
from funil.payments.models import PaymentStatus
from funil.payments.storage import Payments

__all__ = ["handle", "offer_keyboard", "opt_in", "opt_out"]

log = logging.getLogger(__name__)

# -- pt-BR ----------------------------------------------------------------------------------------

HOW_TO_STOP = "Para não receber mais estas mensagens, envie /parar."
OPTED_OUT = (
    "Pronto: você não receberá mais lembretes nem ofertas deste bot. Seus acessos e compras continuam "
    "valendo. Para voltar a receber, envie /voltar."
)
OPTED_IN = "Combinado: você voltará a receber lembretes e ofertas deste bot. Para parar, envie /parar."
NEW_PIX = "🔄 Gerar um novo PIX"


def _minutes(until: float) -> str:
    minutes = max(1, math.ceil(until / 60))
    return "1 minuto" if minutes == 1 else f"{minutes} minutos"


def reminder_text(title: str, amount_cents: int, seconds_left: float) -> str:
    return (
        f"⏰ Seu PIX de <b>{escape(title)}</b> ({texts.brl(amount_cents)}) expira em "
        f"<b>{_minutes(seconds_left)}</b>.\n\nAinda dá tempo: copie o código e pague no app do seu banco. "
        f"Se já pagou, toque em “Já paguei”.\n\n{HOW_TO_STOP}"
    )


def expired_text(title: str, downsell: OfferView | None) -> str:
    lines = [f"⌛ Seu PIX de <b>{escape(title)}</b> expirou.", "", "Se ainda quiser, gere um novo PIX abaixo."]
    if downsell is not None:
        lines += ["", f"Ou leve <b>{escape(downsell.title)}</b> por {texts.brl(downsell.price_cents)}."]
        if downsell.description:
            lines.append(escape(downsell.description))
    return "\n".join([*lines, "", HOW_TO_STOP])


def offer_text(intro: str, offer: OfferView, *, how_to_stop: bool = True) -> str:
    """An offer shown on its own (upsell, downsell): title, description, price."""
    stars = f" ou ⭐ {offer.stars_price} Stars" if offer.stars_price else ""
    lines = [intro, "", f"<b>{escape(offer.title)}</b>"]
    if offer.description:
        lines.append(escape(offer.description))
    lines += ["", f"Por <b>{texts.brl(offer.price_cents)}</b>{stars}."]
    if how_to_stop:
        lines += ["", HOW_TO_STOP]
    return "\n".join(lines)


UPSELL_INTRO = "🎁 Obrigado pela compra! Aproveite também:"


def offer_keyboard(offer: OfferView) -> list[list[Button]]:
    """The buy buttons of one offer (PIX, and Stars when it has a Stars price)."""
    rows = [[Button(texts.buy_button(offer), callback_data=f"b:{offer.offer_id}")]]
    if offer.stars_price:
        rows.append([Button(texts.stars_button(offer), callback_data=f"s:{offer.offer_id}")])
    return rows


# -- /parar and /voltar ---------------------------------------------------------------------------


def opt_out(deps: BotDeps, bot: BotView, api: Any, incoming: Incoming, now: datetime) -> str:
    """``/parar``: no more follow-ups or broadcasts for this lead (kept by /start and purchases)."""
    assert incoming.person is not None
    assert incoming.chat_id is not None
    deps.table.update(
        *keys.lead(bot.bot_id, incoming.person.user_id),
        "SET opted_out_at = if_not_exists(opted_out_at, :now)",
        {":now": iso(now), ":tenant": bot.tenant_id},
        condition="attribute_exists(pk) AND tenant_id = :tenant",
    )
    api.send_message(incoming.chat_id, OPTED_OUT)
    count("OptOuts")
    return "opted_out"


def opt_in(deps: BotDeps, bot: BotView, api: Any, incoming: Incoming, now: datetime) -> str:
    """``/voltar``: follow-ups and broadcasts again."""
    assert incoming.person is not None
    assert incoming.chat_id is not None
    deps.table.update(
        *keys.lead(bot.bot_id, incoming.person.user_id),
        "REMOVE opted_out_at",
        {":tenant": bot.tenant_id},
        condition="attribute_exists(pk) AND tenant_id = :tenant",
    )
    api.send_message(incoming.chat_id, OPTED_IN)
    return "opted_in"


# -- the timer's handler --------------------------------------------------------------------------


class _Stop(Exception):
    """No more follow-ups for this payment."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Skip(_Stop):
    """Not this step (a reminder for a charge no longer payable); the later ones still go."""


def handle(deps: BotDeps, item: dict[str, Any], now: datetime) -> datetime | None:
    """One due follow-up item: act on its latest due step; returns when its next step is due."""
    key = (str(item["pk"]), str(item["sk"]))
    steps = {name: parse_iso(str(at)) for name, at in (item.get("steps") or {}).items()}
    done = set(item.get("sent") or {}) | set(item.get("skipped") or {})
    due = sorted((at, name) for name, at in steps.items() if name not in done and at <= now)
    if due:
        *stale, (_, step) = due
        for _, name in stale:
            _mark(deps, key, "skipped", name, "stale")
        done |= {name for _, name in due}
        try:
            outcome = _act(deps, key, str(item.get("payment_id") or ""), step, now)
        except _Skip as skip:
            _mark(deps, key, "skipped", step, skip.reason)
            outcome = "skipped"
        except _Stop as stop:
            deps.table.update(*key, "SET stopped = :why", {":why": stop.reason})
            count("FollowUpsStopped", reason=stop.reason)
            return None
        count("FollowUps", step=step, outcome=outcome)
    upcoming = [at for name, at in steps.items() if name not in done]
    return min(upcoming) if upcoming else None


def _act(deps: BotDeps, key: tuple[str, str], payment_id: str, step: str, now: datetime) -> str:
    payment = Payments(deps.table).get(payment_id, consistent=True) if payment_id else None
    if payment is None or not payment.get("bot_id") or payment.get("telegram_user_id") is None:
        raise _Stop("no_buyer")
    bot = deps.bot(str(payment["bot_id"]))
    offer = bot.offer(str(payment.get("offer_id"))) if bot is not None and bot.enabled else None
    if bot is None or offer is None or bot.tenant_id != payment.get("tenant_id"):
        raise _Stop("offer_gone")
    user_id = int(payment["telegram_user_id"])
    if step == UPSELL:
        payment, lead, text, keyboard = _upsell(deps, bot, offer, payment)
    else:
        payment = _unpaid(deps, bot, offer, payment, step=step, now=now)
        lead = storage.get_lead(deps.table, bot.bot_id, user_id)
        text, keyboard = _unpaid_message(bot, offer, payment, step, now)
    if lead is None or lead.get("tenant_id") != bot.tenant_id:
        raise _Stop("no_lead")
    if lead.get("reachable") is False:
        raise _Stop("unreachable")
    if lead.get("opted_out_at"):
        raise _Stop("opted_out")
    if not _mark(deps, key, "sent", step, iso(now)):
        return "already_sent"
    try:
        deps.api(bot).send_message(user_id, text, keyboard=keyboard, parse_mode=texts.PARSE_MODE)
    except UserUnreachable:
        storage.mark_lead_unreachable(deps.table, bot.bot_id, user_id, now, "blocked_bot")
        raise _Stop("unreachable") from None
    except BotTokenInvalid:
        storage.mark_bot_health(deps.table, bot.bot_id, "token_invalid", "telegram_401", now)  # as the webhook does
        deps.forget_bot(bot.bot_id)
        raise _Stop("bot_token_invalid") from None
    except BotWithoutToken:
        log.warning("follow-up not sent: the bot has no token", extra={"bot_id": bot.bot_id})
        raise _Stop("bot_without_token") from None
    except (RateLimited, TelegramUnavailable):
        deps.table.update(
            *key, "REMOVE sent.#step", {":at": iso(now)}, names={"#step": step}, condition="sent.#step = :at"
        )
        raise  # retried after the run's lease
    return "sent"


def _mark(deps: BotDeps, key: tuple[str, str], where: str, step: str, value: str) -> bool:
    """Record a step as sent or skipped, once. False when it already was."""
    from funil.adapters.dynamo import is_conditional_failure

    try:
        deps.table.update(
            *key,
            f"SET {where}.#step = :value",
            {":value": value},
            names={"#step": step},
            condition=f"attribute_exists(pk) AND attribute_not_exists({where}.#step)",
        )
    except Exception as error:
        if not is_conditional_failure(error):
            raise
        return False
    return True


def _unpaid(
    deps: BotDeps, bot: BotView, offer: OfferView, payment: dict[str, Any], *, step: str, now: datetime
) -> dict[str, Any]:
    """The payment, if it is still unpaid and still the lead's charge for the offer; else stop."""
    if payment.get("status") == PaymentStatus.PENDING:
        from funil.payments.reconcile import reconcile_one

        reconcile_one(deps.payments, payment, {})  # paid a moment ago? confirmed now, not reminded
        payment = Payments(deps.table).get(str(payment["payment_id"]), consistent=True) or payment
    status = str(payment.get("status"))
    if status not in (PaymentStatus.PENDING, PaymentStatus.EXPIRED):
        raise _Stop(f"payment_{status}")
    charge = storage.get_charge(
        deps.table, keys.charge(bot.bot_id, int(payment["telegram_user_id"]), offer.offer_id, "pix")
    )
    if charge is not None and charge.get("payment_id") != payment["payment_id"]:
        raise _Stop("newer_charge")
    expires = parse_iso(str(payment["charge_expires_at"]))
    if step == REMINDER and (status != PaymentStatus.PENDING or expires <= now or not payment.get("brcode")):
        raise _Skip("not_payable")
    return payment


def _unpaid_message(
    bot: BotView, offer: OfferView, payment: Mapping[str, Any], step: str, now: datetime
) -> tuple[str, list[list[Button]]]:
    title = checkout.charge_title(bot, offer, payment)
    if step == REMINDER:
        brcode = str(payment.get("brcode") or "")
        seconds_left = (parse_iso(str(payment["charge_expires_at"])) - now).total_seconds()
        keyboard: list[list[Button]] = []
        if len(brcode) <= MAX_COPY_TEXT_CHARS:
            keyboard.append([Button(texts.COPY_PIX, copy_text=brcode)])
        keyboard.append([Button(texts.CHECK_PAYMENT, callback_data=f"c:{payment['payment_id']}")])
        return reminder_text(title, int(payment["amount_cents"]), seconds_left), keyboard
    assert step == EXPIRED
    downsell = bot.offer(offer.downsell_offer_id) if offer.downsell_offer_id else None
    keyboard = [[Button(NEW_PIX, callback_data=f"b:{offer.offer_id}")]]
    if downsell is not None:
        keyboard += offer_keyboard(downsell)
    return expired_text(title, downsell), keyboard


def _upsell(
    deps: BotDeps, bot: BotView, offer: OfferView, payment: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None, str, list[list[Button]]]:
    if payment.get("status") != PaymentStatus.PAID:
        raise _Stop(f"payment_{payment.get('status')}")
    upsell = bot.offer(offer.upsell_offer_id) if offer.upsell_offer_id else None
    if upsell is None:
        raise _Stop("offer_gone")
    lead = storage.get_lead(deps.table, bot.bot_id, int(payment["telegram_user_id"]))
    if lead is not None and upsell.offer_id in (lead.get("bought_offer_ids") or ()):
        raise _Stop("upsell_bought")
    return payment, lead, offer_text(UPSELL_INTRO, upsell), offer_keyboard(upsell)
