"""Checkout: a payment with the lead's attribution snapshot, then a PIX charge or a Stars invoice.

- ``b:<offer>`` (PIX): the payment is created (our ``uuid4().hex``, the attribution snapshot in the
  same write), the tenant's gateway gives the charge, the buyer gets the QR code (PNG made here) and
  the BR Code with a copy button and a "já paguei / verificar" button (``c:<payment>``), and the
  InitiateCheckout goes to the conversions queue. A second tap while that charge is payable shows
  the same charge again (``CHARGE#<offer>`` under the lead), so a buyer never holds two PIX codes.
- Order bump: ``b:<offer>`` of an offer with an enabled ``bump_offer_id`` first asks whether to add
  it (``bb:<offer>`` yes, ``bn:<offer>`` no). Yes: one PIX for both. The main payment's
  ``amount_cents`` is the sum (what the gateway charges and its webhook is checked against), with
  ``bump_payment_id`` / ``bump_offer_id`` / ``bump_amount_cents``; the bump is a payment of its own
  (``bundle_of`` = the main's id, the same attribution snapshot, no gateway charge, never in the
  pending index, so the reconciler never reads it), confirmed, expired, cancelled and refunded
  with the main (``funil.payments.transitions``): its own Purchase and its own delivery. Stars
  invoices carry no bump (PIX only).
- A new PIX charge of an offer with ``pix_reminder_minutes`` / ``pix_follow_up_minutes`` gets its
  follow-ups (``funil.bot.offers_after``); its message has a "Não, obrigado" button
  (``n:<offer>``) when the offer has a downsell, which shows the downsell (``decline``).
- ``c:<payment>``: asks the payment's gateway and applies the answer through the payments core's
  one state machine (``funil.payments.observations.apply``).
- ``s:<offer>`` (Telegram Stars): the same payment in XTR (``fiat_amount_cents`` keeps the BRL
  price for Meta), an invoice whose payload is ``p:<payment>``; ``pre_checkout_query`` is validated
  against the payment; ``successful_payment`` records ``telegram_payment_charge_id`` (pattern 21)
  and confirms through the same state machine; ``refunded_payment`` and ``refund_stars`` refund.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from html import escape
from typing import Any

from funil import keys
from funil.adapters.telegram import MAX_COPY_TEXT_CHARS, Button
from funil.bot import offers_after, storage, texts
from funil.bot.ports import BotApi, BotDeps
from funil.bot.updates import Incoming
from funil.bot.views import BotView, OfferView
from funil.clock import parse_iso, to_epoch_s
from funil.messages import ConversionMessage, ConversionRefs, EventKind
from funil.observability import anomaly, count
from funil.payments import transitions
from funil.payments.gateways.base import ChargeStatus, GatewayError
from funil.payments.models import Payment, PaymentStatus, new_payment_id
from funil.payments.observations import Observation, apply
from funil.payments.routing import NoCharge, route_charge
from funil.payments.storage import Payments

log = logging.getLogger(__name__)

STARS_INVOICE_HOURS = 24
REUSE_MARGIN = timedelta(minutes=2)  # a charge this close to expiry is not shown again
MAX_BRCODE_IN_CAPTION = 600
INVOICE_PAYLOAD_PREFIX = "p:"
NO_THANKS = "Não, obrigado"
ADD_BUMP = "✅ Sim, adicionar"
SKIP_BUMP = "Não, só o pedido"
DOWNSELL_INTRO = "Tudo bem! Que tal esta opção mais em conta?"


def _initiate_checkout(deps: BotDeps, payment: Payment) -> None:
    count("Checkouts", method=payment.method)
    if not payment.pixel_id:
        return
    message = ConversionMessage(
        kind=EventKind.INITIATE_CHECKOUT,
        event_id=f"ic_{payment.payment_id}",
        tenant_id=payment.tenant_id,
        pixel_id=payment.pixel_id,
        occurred_at=parse_iso(payment.created_at),
        refs=ConversionRefs(
            payment_id=payment.payment_id, bot_id=payment.bot_id, telegram_user_id=payment.telegram_user_id
        ),
    )
    deps.conversions.send(message.model_dump_json(), {"kind": "InitiateCheckout"})


def _reusable(payment: Mapping[str, Any] | None, method: str, now: datetime) -> bool:
    if payment is None or payment.get("status") != PaymentStatus.PENDING or payment.get("method", "pix") != method:
        return False
    if method == "pix" and not payment.get("brcode"):
        return False
    try:
        return parse_iso(str(payment["charge_expires_at"])) > now + REUSE_MARGIN
    except (KeyError, ValueError):
        return False


# The lead's first attributed click, as the counters break a sale down by it (``touch=first``).
FIRST_TOUCH_FIELDS = ("click_token", "clicked_at", "link_slug", "utm", "ad")


def _new_payment(bot: BotView, offer: OfferView, lead: Mapping[str, Any], *, method: str, now: datetime) -> Payment:
    user_id = int(lead["telegram_user_id"])
    stars = method == "stars"
    attribution = dict(lead.get("attribution") or {})
    if attribution:  # what the funnel's counters read besides the last click (funil.analytics.facts)
        first_touch = lead.get("first_touch") or {}
        attribution["first_touch"] = {name: first_touch[name] for name in FIRST_TOUCH_FIELDS if first_touch.get(name)}
    if lead.get("first_seen_at"):
        attribution["lead_since"] = lead["first_seen_at"]
    return Payment.new(
        tenant_id=bot.tenant_id,
        amount_cents=int(offer.stars_price or 0) if stars else offer.price_cents,
        now=now,
        expires_in_seconds=STARS_INVOICE_HOURS * 3600 if stars else bot.pix_expires_minutes * 60,
        payment_id=new_payment_id(),
        bot_id=bot.bot_id,
        telegram_user_id=user_id,
        lead_ref=keys.lead(bot.bot_id, user_id)[0],
        offer_id=offer.offer_id,
        offer_name=offer.title,
        pixel_id=lead.get("pixel_id") or attribution.get("pixel_id") or bot.pixel_id,
        currency="XTR" if stars else offer.currency,
        method=method,
        attribution=attribution,
    )


def _create_payment(deps: BotDeps, payment: Payment, offer: OfferView, **extra: Any) -> None:
    """One conditional put: the payment and its attribution snapshot together. The lead's link to it
    goes first, so a person's every payment can be found (data-subject requests,
    ``funil.operator.subjects``); a link whose payment was never written leads nowhere, harmlessly.
    ``extra``: the order bump's fields (a bump's part, ``bundle_of``, stays out of the pending index)."""
    item = payment.to_item()
    if payment.method == "stars":
        item.update(fiat_amount_cents=offer.price_cents, fiat_currency=offer.currency)
    item.update(extra)
    if extra.get("bundle_of"):
        item.pop("gsi2pk", None)
        item.pop("gsi2sk", None)
    pk, sk = keys.lead_payment(str(payment.bot_id), str(payment.telegram_user_id), payment.payment_id)
    deps.table.put(
        {
            "pk": pk,
            "sk": sk,
            "type": "lead_payment",
            "tenant_id": payment.tenant_id,
            "payment_id": payment.payment_id,
            "created_at": payment.created_at,
        }
    )
    deps.table.put(item, condition="attribute_not_exists(pk)")


def _claim(
    deps: BotDeps,
    key: tuple[str, str],
    existing: Mapping[str, Any] | None,
    payment: Payment,
    bot: BotView,
) -> bool:
    expires = parse_iso(payment.charge_expires_at)
    return storage.claim_charge(
        deps.table,
        key,
        replaces=str(existing["payment_id"]) if existing else None,
        fields={
            "tenant_id": bot.tenant_id,
            "bot_id": bot.bot_id,
            "telegram_user_id": payment.telegram_user_id,
            "offer_id": payment.offer_id,
            "method": payment.method,
            "payment_id": payment.payment_id,
            "created_at": payment.created_at,
            "charge_expires_at": payment.charge_expires_at,
            "expires_at": to_epoch_s(expires + timedelta(days=2)),  # TTL only tidies up
        },
    )


def _current_charge(deps: BotDeps, key: tuple[str, str]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    existing = storage.get_charge(deps.table, key)
    payment = Payments(deps.table).get(str(existing["payment_id"]), consistent=True) if existing else None
    return existing, payment


# -- PIX ----------------------------------------------------------------------------------------------


def send_pix(
    api: BotApi,
    deps: BotDeps,
    chat_id: int,
    title: str,
    payment: Mapping[str, Any],
    *,
    decline: OfferView | None = None,
) -> None:
    """The QR code, the copy and check buttons; "Não, obrigado" (``n:<offer>``) for an offer with a downsell."""
    brcode = str(payment["brcode"])
    expires = parse_iso(str(payment["charge_expires_at"]))
    caption_code = brcode if len(brcode) <= MAX_BRCODE_IN_CAPTION else "(use o botão para copiar)"
    keyboard: list[list[Button]] = []
    if len(brcode) <= MAX_COPY_TEXT_CHARS:
        keyboard.append([Button(texts.COPY_PIX, copy_text=brcode)])
    keyboard.append([Button(texts.CHECK_PAYMENT, callback_data=f"c:{payment['payment_id']}")])
    if decline is not None and decline.downsell_offer_id:
        keyboard.append([Button(NO_THANKS, callback_data=f"n:{decline.offer_id}")])
    api.send_photo(
        chat_id,
        deps.qr_png(brcode),
        caption=texts.pix_caption(title, int(payment["amount_cents"]), caption_code, expires),
        keyboard=keyboard,
        parse_mode=texts.PARSE_MODE,
    )
    if len(brcode) > MAX_COPY_TEXT_CHARS:  # too long for a copy button: a message of its own to copy
        api.send_message(chat_id, f"<code>{brcode}</code>", parse_mode=texts.PARSE_MODE)


def charge_title(bot: BotView, offer: OfferView, payment: Mapping[str, Any]) -> str:
    """What a PIX charge is for: the offer, and its order bump when the charge pays for both."""
    bump = bot.offer(str(payment["bump_offer_id"])) if payment.get("bump_offer_id") else None
    return f"{offer.title} + {bump.title}" if bump is not None else offer.title


def bump_of(bot: BotView, offer: OfferView) -> OfferView | None:
    """The offer's order bump, when it is configured, enabled and priced in the same currency."""
    bump = bot.offer(offer.bump_offer_id) if offer.bump_offer_id else None
    if bump is None or bump.offer_id == offer.offer_id or bump.currency != offer.currency:
        return None
    return bump


def asks_bump(deps: BotDeps, bot: BotView, offer: OfferView, user_id: int) -> OfferView | None:
    """The bump to ask about before a PIX of ``offer``: none while the lead holds a payable charge
    for it (that charge is shown again, whatever was chosen for it)."""
    bump = bump_of(bot, offer)
    if bump is None:
        return None
    _, current = _current_charge(deps, keys.charge(bot.bot_id, user_id, offer.offer_id, "pix"))
    return None if _reusable(current, "pix", deps.now()) else bump


def ask_bump(api: BotApi, chat_id: int, offer: OfferView, bump: OfferView) -> str:
    """ "Adicionar <bump> por R$ X?": yes (``bb:<offer>``) or no (``bn:<offer>``), both then a PIX."""
    lines = [f"Antes do PIX de <b>{escape(offer.title)}</b>:", ""]
    lines.append(f"Adicionar <b>{escape(bump.title)}</b> por {texts.brl(bump.price_cents)}?")
    if bump.description:
        lines.append(escape(bump.description))
    lines += ["", f"Um PIX só, de {texts.brl(offer.price_cents + bump.price_cents)} pelos dois."]
    keyboard = [
        [Button(ADD_BUMP, callback_data=f"bb:{offer.offer_id}")],
        [Button(SKIP_BUMP, callback_data=f"bn:{offer.offer_id}")],
    ]
    api.send_message(chat_id, "\n".join(lines), keyboard=keyboard, parse_mode=texts.PARSE_MODE)
    return "bump_asked"


def decline(bot: BotView, api: BotApi, chat_id: int, offer: OfferView) -> str:
    """ "Não, obrigado" under a PIX: the offer's cheaper downsell, with its buy buttons."""
    from funil.bot import follow_ups

    downsell = bot.offer(offer.downsell_offer_id) if offer.downsell_offer_id else None
    if downsell is None or downsell.offer_id == offer.offer_id:
        return "declined"
    text = follow_ups.offer_text(DOWNSELL_INTRO, downsell, how_to_stop=False)
    api.send_message(chat_id, text, keyboard=follow_ups.offer_keyboard(downsell), parse_mode=texts.PARSE_MODE)
    return "declined_downsell_shown"


def _show_pix(
    api: BotApi, deps: BotDeps, bot: BotView, chat_id: int, *, offer: OfferView, payment: Mapping[str, Any]
) -> None:
    send_pix(api, deps, chat_id, charge_title(bot, offer, payment), payment, decline=_with_downsell(bot, offer))


def _with_downsell(bot: BotView, offer: OfferView) -> OfferView | None:
    return offer if offer.downsell_offer_id and bot.offer(offer.downsell_offer_id) is not None else None


def _bundle(payment: Payment, bump_payment: Payment) -> tuple[Payment, dict[str, Any], dict[str, Any]]:
    """The main payment charging for both, and the extra fields of each item."""
    main = payment.model_copy(update={"amount_cents": payment.amount_cents + bump_payment.amount_cents})
    main_extra = {
        "bump_payment_id": bump_payment.payment_id,
        "bump_offer_id": bump_payment.offer_id,
        "bump_amount_cents": bump_payment.amount_cents,
    }
    return main, main_extra, {"bundle_of": payment.payment_id}


def buy_pix(
    deps: BotDeps,
    bot: BotView,
    api: BotApi,
    incoming: Incoming,
    *,
    offer: OfferView,
    lead: dict[str, Any],
    bump: OfferView | None = None,
) -> str:
    assert incoming.chat_id is not None
    assert incoming.person is not None
    now = deps.now()
    key = keys.charge(bot.bot_id, incoming.person.user_id, offer.offer_id, "pix")
    existing, current = _current_charge(deps, key)
    if _reusable(current, "pix", now):
        assert current is not None
        _show_pix(api, deps, bot, incoming.chat_id, offer=offer, payment=current)
        return "pix_reused"
    payment = _new_payment(bot, offer, lead, method="pix", now=now)
    bump_payment = _new_payment(bot, bump, lead, method="pix", now=now) if bump is not None else None
    main_extra: dict[str, Any] = {}
    if bump_payment is not None:
        payment, main_extra, bump_extra = _bundle(payment, bump_payment)
    if not _claim(deps, key, existing, payment, bot):
        _, current = _current_charge(deps, key)  # a concurrent tap won: show its charge when ready
        if _reusable(current, "pix", now):
            assert current is not None
            _show_pix(api, deps, bot, incoming.chat_id, offer=offer, payment=current)
            return "pix_reused"
        api.send_message(incoming.chat_id, texts.CHECKOUT_FAILED)
        return "pix_busy"
    if bump_payment is not None and bump is not None:
        _create_payment(deps, bump_payment, bump, **bump_extra)  # first: the main never names a missing part
    _create_payment(deps, payment, offer, **main_extra)
    try:
        routed = route_charge(deps.payments, payment, charge_title(bot, offer, main_extra))
        if not routed.charge.brcode:
            raise NoCharge("the gateway gave no BR Code")
    except NoCharge as error:
        log.error("no PIX charge: %s", error, extra={"payment_id": payment.payment_id, "tenant_id": bot.tenant_id})
        transitions.mark_canceled(deps.table, payment.payment_id, now)  # and its bump's part with it
        api.send_message(incoming.chat_id, texts.CHECKOUT_FAILED)
        return "pix_failed"
    _initiate_checkout(deps, payment)
    stored = Payments(deps.table).get(payment.payment_id, consistent=True) or {}
    offers_after.schedule_unpaid_pix(
        deps.table,
        stored,
        reminder_minutes=offer.pix_reminder_minutes,
        follow_up_minutes=offer.pix_follow_up_minutes,
        now=now,
    )
    _show_pix(api, deps, bot, incoming.chat_id, offer=offer, payment=stored)
    return "pix_bundle_created" if bump_payment is not None else "pix_created"


def check_payment(deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming, payment_id: str) -> str:
    """ "Já paguei": ask the gateway, apply its answer through the one state machine."""
    assert incoming.person is not None
    assert incoming.callback_id is not None
    payment = Payments(deps.table).get(payment_id, consistent=True)
    if not _owned(payment, bot, incoming.person.user_id):
        api.answer_callback_query(incoming.callback_id, texts.UNKNOWN_PAYMENT)
        return "check_unknown"
    assert payment is not None
    status = str(payment.get("status"))
    if status == PaymentStatus.PENDING and payment.get("method", "pix") == "pix" and payment.get("gateway_id"):
        gateway = deps.payments.payments.gateway(str(payment["gateway_id"]))
        if gateway is not None and gateway.get("tenant_id") == bot.tenant_id and payment.get("gateway_charge_id"):
            try:
                charge = deps.payments.adapter(gateway).get_charge(str(payment["gateway_charge_id"]))
            except GatewayError:
                log.warning("payment check: gateway error", extra={"payment_id": payment_id})
                api.answer_callback_query(incoming.callback_id, "Não foi possível verificar agora. Tente em instantes.")
                return "check_gateway_error"
            if charge.status not in (ChargeStatus.PENDING, ChargeStatus.UNKNOWN, ChargeStatus.FAILED):
                seen = Observation(
                    status=charge.status,
                    amount_cents=charge.amount_cents,
                    currency=charge.currency,
                    occurred_at=charge.paid_at,
                )
                apply(deps.payments, payment, seen)
                status = str((Payments(deps.table).get(payment_id, consistent=True) or payment).get("status"))
    api.answer_callback_query(incoming.callback_id, texts.status_answer(status), show_alert=status == "paid")
    return f"check_{status}"


def _owned(payment: Mapping[str, Any] | None, bot: BotView, user_id: int) -> bool:
    return (
        payment is not None
        and payment.get("tenant_id") == bot.tenant_id
        and payment.get("bot_id") == bot.bot_id
        and payment.get("telegram_user_id") == user_id
    )


# -- Telegram Stars -------------------------------------------------------------------------------


def _send_invoice(api: BotApi, chat_id: int, offer: OfferView, payment: Mapping[str, Any]) -> None:
    api.send_invoice(
        chat_id,
        title=offer.title,
        description=offer.description or offer.title,
        payload=f"{INVOICE_PAYLOAD_PREFIX}{payment['payment_id']}",
        stars=int(payment["amount_cents"]),
    )


def buy_stars(
    deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming, *, offer: OfferView, lead: dict[str, Any]
) -> str:
    assert incoming.chat_id is not None
    assert incoming.person is not None
    if not offer.stars_price:
        api.send_message(incoming.chat_id, texts.OFFER_GONE)
        return "stars_unavailable"
    now = deps.now()
    key = keys.charge(bot.bot_id, incoming.person.user_id, offer.offer_id, "xtr")
    existing, current = _current_charge(deps, key)
    if _reusable(current, "stars", now) and current is not None and current.get("amount_cents") == offer.stars_price:
        _send_invoice(api, incoming.chat_id, offer, current)
        return "stars_reused"
    payment = _new_payment(bot, offer, lead, method="stars", now=now)
    if not _claim(deps, key, existing, payment, bot):
        api.send_message(incoming.chat_id, texts.CHECKOUT_FAILED)
        return "stars_busy"
    _create_payment(deps, payment, offer)
    _initiate_checkout(deps, payment)
    _send_invoice(api, incoming.chat_id, offer, payment.to_item())
    return "stars_created"


def _invoice_payment(deps: BotDeps, payload: object) -> dict[str, Any] | None:
    if not isinstance(payload, str) or not payload.startswith(INVOICE_PAYLOAD_PREFIX):
        return None
    payment_id = payload[len(INVOICE_PAYLOAD_PREFIX) :]
    if len(payment_id) != 32 or not all(char in "0123456789abcdef" for char in payment_id):
        return None
    return Payments(deps.table).get(payment_id, consistent=True)


def _stars_problem(
    payment: Mapping[str, Any] | None, bot: BotView, user_id: int, query: Mapping[str, Any]
) -> str | None:
    if not _owned(payment, bot, user_id):
        return "unknown_payment"
    assert payment is not None
    if payment.get("method") != "stars" or query.get("currency") != "XTR":
        return "not_stars"
    if query.get("total_amount") != payment.get("amount_cents"):
        return "amount_mismatch"
    return None


def pre_checkout(deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming) -> str:
    """Answer within Telegram's 10 s: yes only for our pending Stars payment, same buyer and amount."""
    assert incoming.person is not None
    assert incoming.callback_id is not None
    assert incoming.payment is not None
    query = incoming.payment
    payment = _invoice_payment(deps, query.get("invoice_payload"))
    problem = _stars_problem(payment, bot, incoming.person.user_id, query)
    if problem is None and payment is not None and payment.get("status") != PaymentStatus.PENDING:
        problem = f"status_{payment.get('status')}"
    api.answer_pre_checkout_query(incoming.callback_id, ok=problem is None, error_message=texts.PRE_CHECKOUT_REFUSED)
    return "pre_checkout_ok" if problem is None else f"pre_checkout_refused_{problem}"


def successful_payment(deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming) -> str:
    """Stars received: keyed by ``telegram_payment_charge_id``, confirmed through the one state machine."""
    assert incoming.person is not None
    assert incoming.payment is not None
    assert incoming.chat_id is not None
    paid = incoming.payment
    charge_id = paid.get("telegram_payment_charge_id")
    payment = _invoice_payment(deps, paid.get("invoice_payload"))
    problem = _stars_problem(payment, bot, incoming.person.user_id, paid)
    if problem is not None or payment is None or not isinstance(charge_id, str) or not charge_id:
        anomaly("stars_unmatched", "Stars payment without a matching payment", problem=problem, bot_id=bot.bot_id)
        return f"stars_unmatched_{problem}"
    payment_id = str(payment["payment_id"])
    index = keys.stars_charge_index(charge_id)
    try:
        deps.table.update(
            *keys.payment(payment_id),
            "SET telegram_payment_charge_id = :charge, provider_payment_charge_id = :provider, "
            "gsi1pk = :gsi1pk, gsi1sk = :gsi1sk",
            {
                ":charge": charge_id,
                ":provider": str(paid.get("provider_payment_charge_id") or ""),
                ":gsi1pk": index["gsi1pk"],
                ":gsi1sk": index["gsi1sk"],
            },
            condition="attribute_exists(pk) AND (attribute_not_exists(telegram_payment_charge_id) "
            "OR telegram_payment_charge_id = :charge)",
        )
    except Exception as error:
        from funil.adapters.dynamo import is_conditional_failure

        if not is_conditional_failure(error):
            raise
        anomaly("stars_second_charge", "a second Stars charge for one payment", payment_id=payment_id)
        return "stars_second_charge"
    seen = Observation(
        status=ChargeStatus.PAID,
        amount_cents=int(paid["total_amount"]),
        currency="XTR",
        occurred_at=incoming.sent_at or deps.now(),
    )
    outcome = apply(deps.payments, payment, seen)
    if outcome == "confirmed":
        api.send_message(incoming.chat_id, texts.STARS_PAID)
    return f"stars_{outcome}"


def refunded_payment(deps: BotDeps, bot: BotView, incoming: Incoming) -> str:
    """Telegram tells us a Stars payment was refunded: paid → refunded through the state machine."""
    assert incoming.payment is not None
    charge_id = incoming.payment.get("telegram_payment_charge_id")
    payment = Payments(deps.table).by_stars_charge(charge_id) if isinstance(charge_id, str) else None
    if payment is None or payment.get("bot_id") != bot.bot_id or payment.get("tenant_id") != bot.tenant_id:
        return "refund_unmatched"
    return f"refund_{apply(deps.payments, payment, Observation(status=ChargeStatus.REFUNDED, kind='refund'))}"


def refund_stars(deps: BotDeps, bot: BotView, api: BotApi, payment_id: str) -> str:
    """Support refunds a Stars payment: refundStarPayment, then paid → refunded (Refund to Meta)."""
    payment = Payments(deps.table).get(payment_id, consistent=True)
    if payment is None or payment.get("bot_id") != bot.bot_id or payment.get("tenant_id") != bot.tenant_id:
        return "unknown_payment"
    charge_id = payment.get("telegram_payment_charge_id")
    if payment.get("method") != "stars" or not charge_id or payment.get("status") != PaymentStatus.PAID:
        return f"not_refundable_{payment.get('status')}"
    api.refund_star_payment(int(payment["telegram_user_id"]), str(charge_id))
    return f"refund_{apply(deps.payments, payment, Observation(status=ChargeStatus.REFUNDED, kind='refund'))}"
