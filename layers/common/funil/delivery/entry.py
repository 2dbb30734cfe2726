"""The delivery queue's consumer: each paid payment's buyer gets the product once.

Plain logic: the handler gives it the table, a Telegram port and the clock. Per message:

1. read the payment (consistent); not paid → nothing to do (acknowledged);
2. claim the delivery record (records.DeliveryRecords): final → duplicate, acknowledged; leased by
   a live consumer → retried later (never dropped on a guess);
3. a new invite link for this buyer when the offer delivers access to a private chat
   (``member_limit`` 1, or a join-request link approved only for the buyer) — kept on the record so a
   retry reuses it; never a link shared by all buyers;
4. the message (link previews disabled), then the record is marked delivered.

An offer with ``access_days`` (funil.access.grants), before step 3: the payment begins, extends or
restarts the buyer's access period (once per payment). A renewal paid while the access lasts sends
"Acesso renovado até …" and no new link; a new or restarted period gets the link and its end date.

A refunded payment takes the access back (``revoke_access``): the buyer's invite link is revoked
with ``revokeChatInviteLink`` and join requests through it are declined from then on. Only joins
through a join-request link are known (``joined_at``: we approve them), so only those report
``already_used``; a one-member link is revoked either way (a member who joined stays: removing one
is support's decision). Safe to repeat.

Telegram errors: 403 → the lead is unreachable (their state, never the bot's), acknowledged;
429 → retried after ``retry_after`` (the message's visibility timeout); 401 → the bot's token is
invalid, retried (the message reaches the dead-letter queue if it stays so); other failures retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

from pydantic import ValidationError

from funil import keys
from funil.access import texts as access_texts
from funil.access.grants import grant_for_delivery
from funil.bot import offers_after
from funil.clock import Clock, iso, to_epoch_s
from funil.delivery.models import DeliveryJob, DeliveryKind, DeliverySpec, DeliveryStatus, Outcome
from funil.delivery.storage import Busy, DeliveryRecords
from funil.observability import anomaly, count
from funil.payments.models import PaymentStatus
from funil.ports import Items

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 12 * 3600  # SQS's visibility timeout ceiling


# -- the Telegram port ----------------------------------------------------------------------------


class Unreachable(Exception):
    """403: the buyer blocked the bot or deleted their account."""


class RetryLater(Exception):
    def __init__(self, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class TokenInvalid(RetryLater):
    """401: the bot's token was revoked."""

    def __init__(self) -> None:
        super().__init__("bot_token_invalid")


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    url: str


class DeliveryTelegram(Protocol):
    """What delivery needs from the Bot API, per Funil bot id. Raises Unreachable / RetryLater."""

    def create_invite_link(
        self, bot_id: str, chat_id: int, *, name: str, join_request: bool, expire_date: int | None
    ) -> str: ...

    def send_message(self, bot_id: str, chat_id: int, text: str, button: Button | None) -> int: ...

    def revoke_invite_link(self, bot_id: str, chat_id: int, invite_link: str) -> None: ...


# -- the batch -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    public_base_url: str = ""
    lease_seconds: int = 60


@dataclass
class DeliveryDeps:
    items: Items
    telegram: DeliveryTelegram
    delay_retry: Callable[[str, int], None]  # (receipt handle, seconds) → the message's visibility timeout
    now: Clock
    new_claim_id: Callable[[], str]
    mark_bot_token_invalid: Callable[[str], None] = lambda _bot_id: None
    settings: DeliverySettings = field(default_factory=DeliverySettings)

    @property
    def records(self) -> DeliveryRecords:
        return DeliveryRecords(self.items, self.settings.lease_seconds)


def handle_message(message_id: str, receipt_handle: str, body: str, deps: DeliveryDeps) -> Outcome:
    """One delivery message. Raises for a retry (the batch reports the message as failed)."""
    try:
        job = DeliveryJob.model_validate_json(body)
    except ValidationError:
        log.error("delivery message %s is not a delivery job; dropped", message_id)
        return "skipped"
    try:
        return deliver(job, deps)
    except RetryLater as retry:
        if retry.retry_after:
            _delay(deps, message_id, receipt_handle, retry.retry_after)
        raise
    except Exception:
        log.exception("delivery of payment %s failed; retried", job.payment_id)
        count("DeliveriesFailed")
        raise


def _delay(deps: DeliveryDeps, message_id: str, receipt_handle: str, seconds: int) -> None:
    try:
        deps.delay_retry(receipt_handle, max(1, min(seconds, MAX_RETRY_AFTER_SECONDS)))
    except Exception:
        log.warning("could not delay message %s; it comes back after the queue's timeout", message_id)


# -- one payment ---------------------------------------------------------------------------------


def deliver(job: DeliveryJob, deps: DeliveryDeps) -> Outcome:
    """Deliver one payment's product. Raises RetryLater (or anything else) for a retry."""
    payment = deps.items.get(*keys.payment(job.payment_id), consistent=True)
    if payment is None or (job.tenant_id and payment.get("tenant_id") != job.tenant_id):
        log.warning("delivery for unknown payment %s; dropped", job.payment_id)
        return "skipped"
    if payment.get("status") == PaymentStatus.REFUNDED:
        return revoke_access(payment, deps)
    if payment.get("status") != PaymentStatus.PAID:
        log.info("payment %s is %s, not paid: nothing to deliver", job.payment_id, payment.get("status"))
        return "skipped"
    bot_id, chat_id = payment.get("bot_id"), payment.get("telegram_user_id")
    if not bot_id or chat_id is None:
        log.error("payment %s has no buyer chat (bot/user); nothing to deliver", job.payment_id)
        return "skipped"

    records = deps.records
    now = deps.now()
    claim = records.claim(payment, deps.new_claim_id(), now)
    if isinstance(claim, Busy):
        if claim.final:
            return "duplicate"
        raise RetryLater("claimed_by_another_consumer")

    spec = _delivery_spec(payment, deps)
    if spec is None:
        records.final(job.payment_id, claim.claim_id, DeliveryStatus.UNDELIVERABLE, "offer_without_delivery", now)
        log.error("payment %s: its offer has no valid delivery configured", job.payment_id)
        return "undeliverable"

    try:
        # The access period first (funil.access): a renewal keeps the buyer in the chat, so no new link;
        # counted once per payment, so a retried delivery never extends it twice.
        period = grant_for_delivery(deps.items, payment, spec.chat_id, now)
        if period is not None and period.keeps_access:
            text, button = renewal_message(payment, period.ends_at, deps.settings.public_base_url)
        else:
            access = _access_link(payment, spec, record=claim.record, claim_id=claim.claim_id, deps=deps, now=now)
            text, button = delivery_message(payment, spec, access, deps.settings.public_base_url)
            if period is not None:
                text += f"\n\n{access_texts.valid_until(period.ends_at)}"
        message_id = deps.telegram.send_message(str(bot_id), int(chat_id), text, button)
    except Unreachable:
        records.final(job.payment_id, claim.claim_id, DeliveryStatus.UNREACHABLE, "user_blocked_bot", now)
        _mark_lead_unreachable(deps, payment, now)
        log.info("payment %s: buyer unreachable (blocked the bot); acknowledged", job.payment_id)
        return "unreachable"
    except RetryLater as retry:
        records.release(job.payment_id, claim.claim_id, retry.reason, now)
        if isinstance(retry, TokenInvalid):
            deps.mark_bot_token_invalid(str(bot_id))
        raise
    except Exception:
        records.release(job.payment_id, claim.claim_id, "error", now)
        raise
    records.delivered(job.payment_id, claim.claim_id, message_id, deps.now())
    offers_after.schedule_upsell(deps.items, payment, deps.now())  # the offer's upsell, sent by the timers
    return "delivered"


def revoke_access(payment: Mapping[str, Any], deps: DeliveryDeps) -> Outcome:
    """A refunded payment: revoke the buyer's invite link if they have not joined through it yet.

    The INVITE item is marked first, so join requests are declined even while Telegram is retried;
    revoking a revoked link is accepted by Telegram, so a retry after a failure repeats it safely.
    """
    payment_id = str(payment["payment_id"])
    records = deps.records
    record = records.get(payment_id) or {}
    link, chat_id = record.get("invite_link"), record.get("invite_chat_id")
    if not link or chat_id is None:
        leased = int(record.get("claim_expires_at") or 0) > to_epoch_s(deps.now())
        if record.get("status") == DeliveryStatus.IN_PROGRESS and leased:
            # A consumer that read the payment as paid is delivering now: look again once it is done.
            raise RetryLater("delivery_in_progress")
        return "skipped"  # no link was handed out (a message delivery, or refunded before delivery)
    if record.get("access_revoked_at"):
        return "duplicate"
    now = deps.now()
    records.mark_invite_revoked(str(link), now)
    if (records.invite(str(link)) or {}).get("joined_at"):
        # Revoking would not remove a member; removing one is support's decision, not ours.
        records.access_revoked(payment_id, now, "already_used")
        log.info("payment %s refunded: its invite link was already used", payment_id)
        return "already_used"
    try:
        deps.telegram.revoke_invite_link(str(payment["bot_id"]), int(chat_id), str(link))
    except Unreachable:
        records.access_revoked(payment_id, now, "bot_not_in_chat")
        anomaly(
            "invite_not_revoked",
            "refunded, but the bot cannot revoke the invite link (not in the chat)",
            payment_id=payment_id,
        )
        return "unreachable"
    except TokenInvalid:
        deps.mark_bot_token_invalid(str(payment["bot_id"]))
        raise
    records.access_revoked(payment_id, now, "revoked")
    log.info("payment %s refunded: invite link revoked", payment_id)
    return "revoked"


def _delivery_spec(payment: Mapping[str, Any], deps: DeliveryDeps) -> DeliverySpec | None:
    raw = payment.get("delivery")
    if raw is None and payment.get("offer_id"):
        offer = deps.items.get(*keys.offer(str(payment.get("bot_id")), payment["offer_id"]))
        if offer is not None and offer.get("tenant_id") in (None, payment.get("tenant_id")):
            raw = offer.get("delivery")
    if not isinstance(raw, Mapping):
        return None
    try:
        return DeliverySpec.model_validate(raw)
    except ValidationError:
        return None


def _access_link(
    payment: Mapping[str, Any],
    spec: DeliverySpec,
    *,
    record: Mapping[str, Any],
    claim_id: str,
    deps: DeliveryDeps,
    now: datetime,
) -> str | None:
    """The buyer's own invite link (reused from an earlier attempt), or the offer's content link."""
    if spec.kind is DeliveryKind.MESSAGE:
        return spec.url
    assert spec.chat_id is not None
    if record.get("invite_link") and record.get("invite_chat_id") == spec.chat_id:
        return str(record["invite_link"])
    join_request = spec.kind is DeliveryKind.JOIN_REQUEST
    expire = to_epoch_s(now + timedelta(hours=spec.link_expire_hours)) if spec.link_expire_hours else None
    link = deps.telegram.create_invite_link(
        str(payment["bot_id"]),
        spec.chat_id,
        name=f"Funil {str(payment['payment_id'])[:24]}",
        join_request=join_request,
        expire_date=expire,
    )
    records = deps.records
    records.keep_invite_link(str(payment["payment_id"]), claim_id, link, spec.chat_id)
    records.index_invite(link, dict(payment), spec.chat_id, join_request, now)
    return link


def delivery_page_url(public_base_url: str, payment: Mapping[str, Any]) -> str | None:
    """The delivery page on the host the buyer's click came through (a seller's own domain serves
    ``/d/`` too, docs/domains.md), else on the deployment's public origin."""
    token = payment.get("delivery_token")
    host = (payment.get("attribution") or {}).get("host")
    origin = f"https://{host}" if isinstance(host, str) and host else public_base_url.rstrip("/")
    if not token or not origin:
        return None
    return f"{origin}/d/{quote(str(token), safe='')}"


def delivery_message(
    payment: Mapping[str, Any], spec: DeliverySpec, access: str | None, public_base_url: str
) -> tuple[str, Button | None]:
    """The pt-BR delivery message and its button (the access link)."""
    title = str(payment.get("offer_name") or payment.get("offer_title") or "").strip()[:200]
    lines = ["✅ Pagamento confirmado!" + (f" {title}" if title else "")]
    if spec.text:
        lines += ["", spec.text]
    elif spec.kind is DeliveryKind.MESSAGE:
        lines += ["", "Obrigado pela compra! Aqui está o seu acesso:"]
    if spec.kind is DeliveryKind.INVITE_LINK:
        lines += ["", "Seu link de acesso (é só seu e vale para uma pessoa):"]
    elif spec.kind is DeliveryKind.JOIN_REQUEST:
        lines += ["", "Toque no link e peça para entrar; a sua entrada é aprovada automaticamente:"]
    if access:
        lines.append(access)
    page = delivery_page_url(public_base_url, payment)
    if page:
        lines += ["", f"Comprovante e acesso: {page}"]
    button = Button(spec.button_text, access) if access else None
    return "\n".join(lines), button


def renewal_message(payment: Mapping[str, Any], ends_at: datetime, public_base_url: str) -> tuple[str, Button | None]:
    """A renewal paid while the access lasts: the buyer stays in the chat, so no link, the new end."""
    title = str(payment.get("offer_name") or payment.get("offer_title") or "").strip()[:200]
    lines = ["✅ Pagamento confirmado!" + (f" {title}" if title else ""), "", access_texts.renewed(ends_at)]
    page = delivery_page_url(public_base_url, payment)
    if page:
        lines += ["", f"Comprovante: {page}"]
    return "\n".join(lines), None


def _mark_lead_unreachable(deps: DeliveryDeps, payment: Mapping[str, Any], now: datetime) -> None:
    """The buyer's own state (docs/architecture.md §9: one user's block is never the bot's health)."""
    try:
        deps.items.update(
            *keys.lead(payment["bot_id"], payment["telegram_user_id"]),
            "SET reachable = :no, unreachable_reason = :reason, unreachable_at = :now",
            {":no": False, ":reason": "blocked_bot", ":now": iso(now)},
            condition="attribute_exists(pk)",
        )
    except Exception:
        log.warning("could not mark the lead of payment %s unreachable", payment.get("payment_id"))
