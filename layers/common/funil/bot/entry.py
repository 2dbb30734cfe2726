"""``POST /tg/{bot_id}``: one Telegram update, handled once (docs/architecture.md §2.3–2.4).

Order of checks: an unknown bot and a wrong ``X-Telegram-Bot-Api-Secret-Token`` (compared in
constant time with the bot's KMS-decrypted secret, before the body is parsed) get the same 404 and
body, so the route does not tell which bot ids exist (Telegram treats both alike: a non-2xx it
retries, then drops); an update already
handled (``TGUPDATE#<bot>#<update_id>``, conditional put) → 200 and nothing repeated.

Telegram errors while answering an update:

- 403 (the user blocked the bot) → that lead is marked unreachable; 200 (never the bot's health);
- 401 → the bot's health becomes ``token_invalid`` (links skip it); 200 (a retry cannot help);
- 429 and network errors → the update's claim is released and the webhook answers 503, so Telegram
  redelivers it later (it retries non-2xx answers with a growing delay, which honours any
  ``retry_after`` of a few seconds) and the redelivery is handled again — every step is idempotent:
  the lead upsert, the charge reused through ``CHARGE#<offer>``, the confirmation. We do not reply
  through the webhook's HTTP response: its outcome is invisible (no 403/401 detection, no message
  id), and sleeping in the function for ``retry_after`` would hold Telegram's connection.
- a malformed update from Telegram itself (authenticated) → 200 and logged: retrying cannot fix it.
"""

from __future__ import annotations

import hmac
import logging
import re
from datetime import datetime
from typing import Any

from funil import keys
from funil.adapters.telegram import BotTokenInvalid, RateLimited, TelegramUnavailable, UserUnreachable
from funil.bot import leads, menu, phone, storage, texts
from funil.bot.ports import BotApi, BotDeps, BotWithoutToken
from funil.bot.updates import Incoming, parse, start_token
from funil.bot.views import BotView
from funil.observability import anomaly, count
from funil.untrusted import load_object, reject

log = logging.getLogger(__name__)

BOT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Updates the checkout answers. It (the payments' models, storage and routing) is imported on the first of
# them or of the buttons, not with the /start and texts most updates are.
PAYMENT_UPDATES = frozenset({"pre_checkout", "successful_payment", "refunded_payment"})
NOT_FOUND: Result = (404, {"error": "not found"})  # unknown bot and wrong secret alike
Result = tuple[int, dict[str, Any]]


def handle_webhook(deps: BotDeps, bot_id: str, secret_header: str | None, body: bytes | None) -> Result:
    if not BOT_ID.fullmatch(bot_id or ""):
        return NOT_FOUND
    bot = deps.bot(bot_id)
    if bot is None:
        return NOT_FOUND
    expected = deps.webhook_secret(bot)
    given = (secret_header or "").encode("utf-8", "surrogatepass")
    if expected is None or not hmac.compare_digest(expected.encode(), given):
        return NOT_FOUND
    try:
        incoming = parse(load_object(body), bot.username)
    except ValueError as error:  # UntrustedInput or an update of the wrong shape
        reject("telegram", error, bot_id=bot_id)
        return 200, {"ok": True, "outcome": "malformed"}
    if not bot.enabled:
        return 200, {"ok": True, "outcome": "bot_disabled"}
    return process(deps, bot, incoming)


def process(deps: BotDeps, bot: BotView, incoming: Incoming) -> Result:
    now = deps.now()
    claimed = False
    try:
        api = deps.api(bot)
        if incoming.kind == "command" and incoming.command is not None and incoming.command.name == "start":
            claimed = True  # the claim is part of the start's transaction
            outcome = start(deps, bot, api, incoming, now)
        else:
            storage.claim_update(deps.table, bot, incoming.update_id, incoming.kind, now)
            claimed = True
            outcome = dispatch(deps, bot, api, incoming, now)
    except storage.DuplicateUpdate:
        return 200, {"ok": True, "outcome": "duplicate"}
    except storage.ForeignLead:
        anomaly("foreign_lead", "a lead key of this bot belongs to another tenant", bot_id=bot.bot_id)
        return 200, {"ok": True, "outcome": "foreign_lead"}
    except UserUnreachable:
        if incoming.person is not None:
            storage.mark_lead_unreachable(deps.table, bot.bot_id, incoming.person.user_id, now, "blocked_bot")
        return 200, {"ok": True, "outcome": "user_unreachable"}
    except BotTokenInvalid:
        anomaly("bot_token_invalid", "bot token refused by Telegram: bot marked token_invalid", bot_id=bot.bot_id)
        storage.mark_bot_health(deps.table, bot.bot_id, "token_invalid", "telegram_401", now)
        deps.forget_bot(bot.bot_id)
        return 200, {"ok": True, "outcome": "bot_token_invalid"}
    except BotWithoutToken:
        log.error("bot has no token: cannot answer", extra={"bot_id": bot.bot_id})
        return 200, {"ok": True, "outcome": "bot_without_token"}
    except (RateLimited, TelegramUnavailable) as error:
        log.warning("Telegram unavailable (%s): update released for redelivery", type(error).__name__)
        _release(deps, bot, incoming, claimed)
        return 503, {"error": "telegram unavailable, retry"}
    except Exception:
        log.exception("update failed", extra={"bot_id": bot.bot_id, "kind": incoming.kind})
        _release(deps, bot, incoming, claimed)
        return 500, {"error": "internal error, retry"}
    return 200, {"ok": True, "outcome": outcome}


def _release(deps: BotDeps, bot: BotView, incoming: Incoming, claimed: bool) -> None:
    if not claimed:
        return
    try:
        storage.release_update(deps.table, bot.bot_id, incoming.update_id)
    except Exception:
        log.warning("could not release update %s", incoming.update_id)


def start(deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming, now: datetime) -> str:
    """``/start [token]``: the lead (and its Lead event, once) is written, then the offers are shown."""
    person = incoming.person
    assert incoming.command is not None
    if person is None or incoming.chat_id is None:
        storage.claim_update(deps.table, bot, incoming.update_id, "start_ignored", now)
        return "ignored"
    token = start_token(incoming.command)
    click, lead = storage.read_start(deps.table, bot.bot_id, person.user_id, token)
    touch = leads.resolve_click(click, bot, token, now)
    plan = leads.plan_start(
        bot, person, touch, lead, update_id=incoming.update_id, started_at=incoming.sent_at or now, now=now
    )
    storage.write_start(
        deps.table,
        update=storage.update_item(bot, incoming.update_id, "start", now),
        lead_update=(plan.expression, plan.values, plan.names),
        tenant_id=bot.tenant_id,
        lead_pk=keys.lead(bot.bot_id, person.user_id),
        touch=plan.touch_item,
    )
    if plan.lead_event is not None:
        try:
            deps.conversions.send(plan.lead_event.to_json(), {"kind": "Lead"})
        except Exception:
            storage.unflag_lead_event(deps.table, bot.bot_id, person.user_id, plan.values[":now"])
            raise
    count("Starts", attribution="attributed" if touch.attributed else "organic")
    if lead is None:
        count("Leads")
    show_offers(bot, api, incoming.chat_id, person.first_name)
    return "start_attributed" if touch.attributed else f"start_organic_{touch.reason}"


def show_offers(bot: BotView, api: BotApi, chat_id: int, first_name: str | None) -> None:
    api.send_message(
        chat_id, texts.welcome(bot, first_name), keyboard=menu.offers_keyboard(bot), parse_mode=texts.PARSE_MODE
    )


def _ensure_lead(deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming, now: datetime) -> dict[str, Any]:
    """The lead of an update that is not a /start (an organic lead when we never saw this user)."""
    assert incoming.person is not None
    lead = storage.get_lead(deps.table, bot.bot_id, incoming.person.user_id)
    if lead is not None:
        return lead
    touch = leads.resolve_click(None, bot, None, now)
    plan = leads.plan_start(bot, incoming.person, touch, None, update_id=incoming.update_id, started_at=now, now=now)
    deps.table.update(
        *keys.lead(bot.bot_id, incoming.person.user_id),
        plan.expression,
        {**plan.values, ":tenant": bot.tenant_id},
        names=plan.names,
        condition="attribute_not_exists(pk) OR tenant_id = :tenant",
    )
    deps.table.put(plan.touch_item)
    if plan.lead_event is not None:
        deps.conversions.send(plan.lead_event.to_json(), {"kind": "Lead"})
    return storage.get_lead(deps.table, bot.bot_id, incoming.person.user_id) or {}


def dispatch(deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming, now: datetime) -> str:
    kind = incoming.kind
    if kind == "callback":
        return callback(deps, bot, api, incoming, now)
    if kind in PAYMENT_UPDATES:
        from funil.bot import checkout  # the payments' models and storage: only updates that pay need them

        if kind == "refunded_payment":
            return checkout.refunded_payment(deps, bot, incoming)
        if incoming.person is None:
            return "ignored"
        if kind == "pre_checkout":
            return checkout.pre_checkout(deps, bot, api, incoming)
        return checkout.successful_payment(deps, bot, api, incoming)
    if kind == "join_request" and incoming.person is not None and incoming.raw is not None:
        from funil.delivery.join_requests import decide_join_request  # the deliveries' records: only here

        decision = decide_join_request(deps.table, bot.bot_id, incoming.raw, now)
        chat_id = int((incoming.raw.get("chat") or {}).get("id") or 0)
        if decision.approve:
            api.approve_chat_join_request(chat_id, incoming.person.user_id)
        else:
            api.decline_chat_join_request(chat_id, incoming.person.user_id)
        return f"join_{'approved' if decision.approve else 'declined'}_{decision.reason}"
    if kind == "command" and incoming.command is not None and incoming.chat_id is not None:
        from funil.bot import admin  # off the cold path: only a command other than /start needs it

        if admin.asks_for_link(bot, incoming):  # anyone else's /painel is any other text
            return admin.send_link(deps, bot, api, incoming, now)
        if incoming.command.name == "admin" and incoming.person is not None:
            from funil.notifications import bot_commands  # only on /admin: off the webhook's cold path

            return bot_commands.register_chat(deps, bot, api, incoming, now)
        if incoming.command.name == "paysupport":
            api.send_message(incoming.chat_id, texts.support(bot), parse_mode=texts.PARSE_MODE)
            return "paysupport"
        if incoming.command.name in ("parar", "voltar") and incoming.person is not None:
            from funil.bot import follow_ups  # /parar: no follow-ups or broadcasts; /voltar: again

            _ensure_lead(deps, bot, api, incoming, now)
            opt = follow_ups.opt_out if incoming.command.name == "parar" else follow_ups.opt_in
            return opt(deps, bot, api, incoming, now)
        kind = "text"
    if kind == "contact" and incoming.person is not None and incoming.chat_id is not None:
        _ensure_lead(deps, bot, api, incoming, now)
        return phone.shared(deps, bot, api, incoming, now)
    if phone.is_skip(incoming) and incoming.person is not None and incoming.chat_id is not None:
        _ensure_lead(deps, bot, api, incoming, now)
        return phone.skip(deps, bot, api, incoming, now)
    if kind == "text" and incoming.person is not None and incoming.chat_id is not None:
        _ensure_lead(deps, bot, api, incoming, now)
        show_offers(bot, api, incoming.chat_id, incoming.person.first_name)
        return "menu"
    return "ignored"


def callback(deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming, now: datetime) -> str:
    data = incoming.callback_data or ""
    action, _, argument = data.partition(":")
    if incoming.person is None or incoming.chat_id is None or not incoming.callback_id:
        if incoming.callback_id:
            api.answer_callback_query(incoming.callback_id)
        return "callback_ignored"
    from funil.bot import checkout  # every button but a stale one buys or checks a payment

    if action == "c":
        return checkout.check_payment(deps, bot, api, incoming, argument)
    # b/s: buy with PIX/Stars; bb/bn: PIX with/without the order bump; n: "no, thanks" → the downsell
    offer = bot.offer(argument) if action in ("b", "s", "bb", "bn", "n") else None
    if offer is None:
        api.answer_callback_query(incoming.callback_id, texts.OFFER_GONE)
        return "callback_unknown"
    api.answer_callback_query(incoming.callback_id)  # stop the button's spinner at once
    lead = _ensure_lead(deps, bot, api, incoming, now)
    if action == "n":
        return checkout.decline(bot, api, incoming.chat_id, offer)
    bump = checkout.asks_bump(deps, bot, offer, incoming.person.user_id) if action == "b" else None
    if bump is not None:
        return checkout.ask_bump(api, incoming.chat_id, offer, bump)
    if action in ("b", "bb", "bn"):
        bump = checkout.bump_of(bot, offer) if action == "bb" else None
        outcome = checkout.buy_pix(deps, bot, api, incoming, offer=offer, lead=lead, bump=bump)
    else:
        outcome = checkout.buy_stars(deps, bot, api, incoming, offer=offer, lead=lead)
    # The optional phone step comes after the charge, so it can never hold the sale up.
    if outcome.endswith(("_created", "_reused")) and phone.wanted(offer, lead):
        phone.ask(api, incoming.chat_id)
    return outcome
