"""Partition/sort keys of the application table, in one place (docs/data-model.md).

Every key and index attribute is spelled here and nowhere else: items are ``(pk, sk)`` tuples, index
attributes are dicts (``gsi1pk``/``gsi1sk``, ``gsi2pk``/``gsi2sk``) written into the item or read
back for a query. Standard library only: the redirect imports it on its cold path.
"""

from __future__ import annotations

import hashlib

PENDING_SHARDS = 10
NO_PIXEL = "-"  # the pixel part of a conversion record whose event has no pixel


# -- configuration --------------------------------------------------------------------------------


def tenant(tenant_id: str) -> tuple[str, str]:
    """Pattern 1: a tenant by id."""
    return f"TENANT#{tenant_id}", "TENANT"


def link(slug: str) -> tuple[str, str]:
    """Pattern 2: a link by slug."""
    return f"LINK#{slug}", "LINK"


def bot(bot_id: str) -> tuple[str, str]:
    """Pattern 5: a bot by id (its partition also holds its offers, pattern 6)."""
    return f"BOT#{bot_id}", "BOT"


def telegram_bot(telegram_id: int | str) -> tuple[str, str]:
    """Which of the deployment's bots a Telegram bot is (its getMe id): one item per Telegram bot,
    whatever the tenant, since Telegram keeps one webhook per bot."""
    return f"TGBOT#{telegram_id}", "TGBOT"


def offer(bot_id: str, offer_id: str) -> tuple[str, str]:
    """Pattern 6: one offer, under its bot's partition."""
    return f"BOT#{bot_id}", f"OFFER#{offer_id}"


def offers(bot_id: str) -> tuple[str, str]:
    """Pattern 6: the bot's partition and the sort-key prefix of its offers."""
    return offer(bot_id, "")


def pixel(pixel_id: str) -> tuple[str, str]:
    """Pattern 7: a pixel by id."""
    return f"PIXEL#{pixel_id}", "PIXEL"


def gateway(gateway_id: str) -> tuple[str, str]:
    """Pattern 13: a gateway by id."""
    return f"GATEWAY#{gateway_id}", "GATEWAY"


def tenant_index(tenant_id: str, kind: str, entity_id: str) -> dict[str, str]:
    """Pattern 4: GSI1 attributes that list a tenant's configuration entities by kind (``entity_id``
    empty: the ``begins_with`` prefix of that kind)."""
    return {"gsi1pk": f"TENANT#{tenant_id}", "gsi1sk": f"{kind}#{entity_id}"}


def tenant_bot_index(tenant_id: str, bot_id: str = "") -> dict[str, str]:
    """Pattern 4: GSI1 attributes that list a tenant's bots (no ``bot_id``: the prefix of them all)."""
    return tenant_index(tenant_id, "BOT", bot_id)


def tenant_pixel_index(tenant_id: str, pixel_id: str = "") -> dict[str, str]:
    """Pattern 4: GSI1 attributes that list a tenant's pixels."""
    return tenant_index(tenant_id, "PIXEL", pixel_id)


def tenant_link_index(tenant_id: str, slug: str = "") -> dict[str, str]:
    """Pattern 4: GSI1 attributes that list a tenant's links."""
    return tenant_index(tenant_id, "LINK", slug)


def tenant_offers_index(tenant_id: str) -> dict[str, str]:
    """Pattern 4: the GSI1 partition and sort-key prefix of every offer copy of a tenant."""
    return tenant_index(tenant_id, "OFFER", "")


def tenant_offer_index(tenant_id: str, bot_id: str, offer_id: str) -> dict[str, str]:
    """Pattern 4: GSI1 attributes that list a tenant's offers."""
    return tenant_index(tenant_id, "OFFER", f"{bot_id}#{offer_id}")


def tenant_gateway_index(tenant_id: str, gateway_id: str = "") -> dict[str, str]:
    """Pattern 4: GSI1 attributes that list a tenant's gateways (no ``gateway_id``: the prefix of them all)."""
    return tenant_index(tenant_id, "GATEWAY", gateway_id)


def api_key(key_sha256: str) -> tuple[str, str]:
    """An API key by the SHA-256 of its plaintext (the plaintext is never stored)."""
    return f"APIKEY#{key_sha256}", "APIKEY"


OPERATOR = "OPERATOR"  # the gsi1 partition of the deployment operator's keys


def key_index(tenant_id: str | None, key_id: str = "") -> dict[str, str]:
    """GSI1 attributes that list a tenant's API keys (``tenant_id`` None: the operator's keys)."""
    owner = f"TENANT#{tenant_id}" if tenant_id else OPERATOR
    return {"gsi1pk": owner, "gsi1sk": f"KEY#{key_id}"}


def every_tenant_index(tenant_id: str = "") -> dict[str, str]:
    """GSI2 attributes that list every tenant (the operator's ``GET /api/v1/tenants``)."""
    return {"gsi2pk": "TENANTS", "gsi2sk": tenant_id}


def every_bot_index(bot_id: str = "") -> dict[str, str]:
    """Pattern 26: GSI2 attributes that list every bot (the scheduled health check queries ``gsi2pk``)."""
    return {"gsi2pk": "BOTS", "gsi2sk": bot_id}


# -- click and lead -------------------------------------------------------------------------------


def click(token: str) -> tuple[str, str]:
    """Pattern 8: a click by token."""
    return f"CLICK#{token}", "CLICK"


def lead(bot_id: str, user_id: int | str) -> tuple[str, str]:
    """Pattern 9: a lead by bot and Telegram user."""
    return f"LEAD#{bot_id}#{user_id}", "LEAD"


def touch(bot_id: str, user_id: int | str, at: str, token: str | None) -> tuple[str, str]:
    """Pattern 10: one ``/start`` in a lead's touch history (``token`` None: organic)."""
    return lead(bot_id, user_id)[0], f"TOUCH#{at}#{'organic' if token is None else token}"


def bot_leads_index(bot_id: str, last_start: str) -> dict[str, str]:
    """Pattern 11: GSI1 attributes that list a bot's leads, newest first."""
    return {"gsi1pk": f"BOTLEADS#{bot_id}", "gsi1sk": last_start}


def telegram_update(bot_id: str, update_id: int) -> tuple[str, str]:
    """Pattern 12: the marker of a Telegram update handled once."""
    return f"TGUPDATE#{bot_id}#{update_id}", "TGUPDATE"


def charge(bot_id: str, user_id: int | str, offer_id: str, method: str) -> tuple[str, str]:
    """Pattern 18: the lead's pending charge for an offer (``#xtr`` for a Stars invoice)."""
    suffix = "" if method == "pix" else f"#{method}"
    return lead(bot_id, user_id)[0], f"CHARGE#{offer_id}{suffix}"


# -- payments -------------------------------------------------------------------------------------


def payment(payment_id: str) -> tuple[str, str]:
    """Pattern 14: a payment by id."""
    return f"PAYMENT#{payment_id}", "PAYMENT"


def payer(payment_id: str) -> tuple[str, str]:
    """Who paid a payment, as its gateway reported (personal data, with a TTL): beside the payment."""
    return f"PAYMENT#{payment_id}", "PAYER"


def gateway_charge_index(gateway_id: str, gateway_charge_id: str) -> dict[str, str]:
    """Pattern 15: GSI1 attributes that find a payment by (gateway, gateway charge id)."""
    return {"gsi1pk": f"GWCHARGE#{gateway_id}#{gateway_charge_id}", "gsi1sk": "PAYMENT"}


def delivery_token_index(token: str) -> dict[str, str]:
    """Pattern 16: GSI2 attributes that find a payment by delivery token (set when paid)."""
    return {"gsi2pk": f"DELIVERY#{token}", "gsi2sk": "PAYMENT"}


def pending_shard(payment_id: str) -> int:
    """Pattern 17: the shard of a pending payment (its id's last four hex digits)."""
    return int(payment_id[-4:], 16) % PENDING_SHARDS


def pending_shard_index(shard: int) -> dict[str, str]:
    """Pattern 17: the GSI2 partition of one shard of pending payments."""
    return {"gsi2pk": f"PENDING#{shard}"}


def pending_index(payment_id: str, created_at: str) -> dict[str, str]:
    """Pattern 17 (sparse): GSI2 attributes present only while the payment is pending, oldest first."""
    return {**pending_shard_index(pending_shard(payment_id)), "gsi2sk": f"{created_at}#{payment_id}"}


def attempt(payment_id: str, number: int) -> tuple[str, str]:
    """Pattern 19: one charge attempt of a payment."""
    return payment(payment_id)[0], f"ATTEMPT#{number:02d}"


def attempts(payment_id: str) -> tuple[str, str]:
    """Pattern 19: the payment's partition and the sort-key prefix of its attempts."""
    return payment(payment_id)[0], "ATTEMPT#"


def raw_webhook(gateway_id: str, received_iso: str, webhook_id: str) -> tuple[str, str]:
    """Pattern 20: a gateway's webhook as received."""
    return f"WEBHOOK#{gateway_id}#{received_iso}#{webhook_id}", "WEBHOOK"


def stars_charge_index(telegram_payment_charge_id: str) -> dict[str, str]:
    """Pattern 21: GSI1 attributes that find a payment by its Telegram Stars charge id."""
    return {"gsi1pk": f"STARS#{telegram_payment_charge_id}", "gsi1sk": "PAYMENT"}


# -- conversions and delivery ---------------------------------------------------------------------


def conversion_record(pixel_id: str | None, event_id: str) -> tuple[str, str]:
    """Pattern 22: the delivery record of a conversion event, by pixel and event id."""
    return f"CAPI#{pixel_id or NO_PIXEL}#{event_id}", "CAPI"


def conversion_status_index(pixel_id: str | None, status: str, updated_iso: str = "") -> dict[str, str]:
    """Pattern 23: GSI1 attributes that list a pixel's conversion records by status and time."""
    return {"gsi1pk": f"CAPISTATUS#{pixel_id or NO_PIXEL}#{status}", "gsi1sk": updated_iso}


def delivery_record(payment_id: str) -> tuple[str, str]:
    """Pattern 27: the delivery record of a payment."""
    return payment(payment_id)[0], "DELIVERY"


def invite(invite_link: str) -> tuple[str, str]:
    """Pattern 28: the buyer of an invite link (keyed by the link's SHA-256)."""
    return f"INVITE#{hashlib.sha256(invite_link.encode()).hexdigest()}", "INVITE"


# -- data subjects --------------------------------------------------------------------------------

# The index each kind of identifier is found through (sparse: only items that carry one have it).
# A payer item may carry both, so the two kinds use the two indexes.
SUBJECT_INDEXES = {"email": "gsi1", "phone": "gsi2"}


def subject_digest(tenant_id: str, kind: str, normalised: str) -> str:
    """SHA-256 of a normalised e-mail or phone (``funil.conversions.normalize``) within its tenant.

    Never the plaintext in a key; salted with the tenant and the kind so it is not the hash Meta gets
    (``em``/``ph``) nor the same across tenants. It lives on the item holding the plaintext and dies
    with it (erasure, TTL), so it reveals nothing the item does not.
    """
    return hashlib.sha256(f"funil:{tenant_id}:{kind}:{normalised}".encode()).hexdigest()


def subject_partition(tenant_id: str, kind: str, normalised: str) -> tuple[str, str]:
    """The index and partition value that list a tenant's items carrying this e-mail or phone."""
    return SUBJECT_INDEXES[kind], f"SUBJECT#{tenant_id}#{kind}#{subject_digest(tenant_id, kind, normalised)}"


def subject_index(tenant_id: str, kind: str, normalised: str | None, item_key: tuple[str, str]) -> dict[str, str]:
    """Index attributes that find the item ``item_key`` (a payer, a lead) by its e-mail or phone;
    none when the value did not normalise (nothing to find it by)."""
    if not normalised:
        return {}
    index, partition = subject_partition(tenant_id, kind, normalised)
    return {f"{index}pk": partition, f"{index}sk": f"{item_key[0]}#{item_key[1]}"}


def lead_payment(bot_id: str, user_id: int | str, payment_id: str) -> tuple[str, str]:
    """A payment of a lead, under the lead's partition (``type = lead_payment``): what links a person to
    every payment they made, beyond the one ``CHARGE#<offer>`` names now. Written with the payment."""
    return lead(bot_id, user_id)[0], payment(payment_id)[0]


def subject_requests(tenant_id: str) -> tuple[str, str]:
    """A tenant's data-subject request log: its partition and the sort-key prefix of its entries."""
    return f"AUDIT#{tenant_id}", "DSR#"


def subject_request(tenant_id: str, at_iso: str, request_id: str) -> tuple[str, str]:
    """One data-subject request (export or erase) in the tenant's log, in time order."""
    pk, prefix = subject_requests(tenant_id)
    return pk, f"{prefix}{at_iso}#{request_id}"


# -- analytics ------------------------------------------------------------------------------------


def counts(tenant_id: str, day: str) -> tuple[str, str]:
    """Pattern 24: a tenant's counters of one Brasília day: its partition and the chunks' sort-key prefix."""
    return f"COUNT#{tenant_id}#{day}", "CHUNK#"


def count_chunk(tenant_id: str, day: str, chunk_id: str) -> tuple[str, str]:
    """One stream batch's counters for a tenant and day, named by the batch's first record of them."""
    pk, prefix = counts(tenant_id, day)
    return pk, f"{prefix}{chunk_id}"


def spend(tenant_id: str, day: str, ad_id: str) -> tuple[str, str]:
    """One ad's spend on one day (the ad account's day), in the tenant's spend partition (pattern 40)."""
    return f"SPEND#{tenant_id}", f"{day}#{ad_id}"


def ad_account(tenant_id: str, digits: str) -> tuple[str, str]:
    """An ad account of a tenant (the tenant is part of the key: tenants never share the item)."""
    return f"ADACCOUNT#{tenant_id}#{digits}", "ADACCOUNT"


def tenant_ad_account_index(tenant_id: str, digits: str = "") -> dict[str, str]:
    """Pattern 4: GSI1 attributes that list a tenant's ad accounts (no ``digits``: the prefix of them all)."""
    return tenant_index(tenant_id, "ADACCOUNT", digits)


NOT_YET_IMPORTED = "0"  # the attempt part of an ad account's import key before any: sorts before every time


def ad_account_import_index(tenant_id: str, digits: str, attempted_iso: str | None) -> dict[str, str]:
    """GSI2 attributes that queue an ad account for the daily spend import, least recently tried first."""
    return {"gsi2pk": "ADACCOUNTS", "gsi2sk": f"{attempted_iso or NOT_YET_IMPORTED}#{tenant_id}#{digits}"}


# -- the dashboard --------------------------------------------------------------------------------


def login_link(token_sha256: str) -> tuple[str, str]:
    """Pattern 32: a dashboard sign-in link by the SHA-256 of its token (the token is never stored)."""
    return f"LOGIN#{token_sha256}", "LOGIN"


def session(cookie_sha256: str) -> tuple[str, str]:
    """Pattern 33: a dashboard session by the SHA-256 of its cookie's value (the value is never stored)."""
    return f"SESSION#{cookie_sha256}", "SESSION"


# -- work due at a time ---------------------------------------------------------------------------

DUE_SHARDS = 10


def due_shard(pk: str, sk: str) -> int:
    """Pattern 43: the shard of an item's due work (a stable hash of its key)."""
    return int(hashlib.sha256(f"{pk}#{sk}".encode()).hexdigest()[-4:], 16) % DUE_SHARDS


def due_shard_index(shard: int) -> dict[str, str]:
    """Pattern 43: the GSI2 partition of one shard of due work."""
    return {"gsi2pk": f"DUE#{shard}"}


def due_index(pk: str, sk: str, due_iso: str) -> dict[str, str]:
    """Pattern 43 (sparse): GSI2 attributes present only while the item has work due, soonest first."""
    return {**due_shard_index(due_shard(pk, sk)), "gsi2sk": f"{due_iso}#{pk}#{sk}"}


# -- what the bot sells after the first sale ------------------------------------------------------


def access(bot_id: str, user_id: int | str, offer_id: str) -> tuple[str, str]:
    """Pattern 44: a buyer's period of access to an offer's chat, under the lead's partition."""
    return lead(bot_id, user_id)[0], f"ACCESS#{offer_id}"


def follow_up(payment_id: str) -> tuple[str, str]:
    """Pattern 45: the follow-ups of an unpaid PIX charge, beside its payment."""
    return payment(payment_id)[0], "FOLLOWUP"


def broadcast(broadcast_id: str) -> tuple[str, str]:
    """Pattern 46: a broadcast (its message, segment, schedule and counts)."""
    return f"BROADCAST#{broadcast_id}", "BROADCAST"


def broadcast_recipient(broadcast_id: str, user_id: int | str) -> tuple[str, str]:
    """Pattern 46: one recipient of a broadcast (claimed before the send: never sent twice)."""
    return broadcast(broadcast_id)[0], f"TO#{user_id}"


def tenant_broadcast_index(tenant_id: str, created_iso: str = "", broadcast_id: str = "") -> dict[str, str]:
    """Pattern 4: GSI1 attributes that list a tenant's broadcasts, in creation order."""
    return tenant_index(tenant_id, "BROADCAST", f"{created_iso}#{broadcast_id}" if created_iso else "")


# -- broadcasts -----------------------------------------------------------------------------------


def bot_send_lease(bot_id: str) -> tuple[str, str]:
    """Pattern 46: the lease of the one broadcast run sending through a bot (its pacing is per bot)."""
    return f"BOTSEND#{bot_id}", "LEASE"


def lead_by_ref(lead_ref: str) -> tuple[str, str]:
    """Pattern 9: the lead a payment's ``lead_ref`` (the lead's pk) names."""
    return lead_ref, lead("", 0)[1]


# -- domains --------------------------------------------------------------------------------------


def domain(host: str) -> tuple[str, str]:
    """Pattern 47: a tenant's own tracking domain by host (lowercase, IDNA A-label; one tenant per host)."""
    return f"DOMAIN#{host}", "DOMAIN"


def tenant_domain_index(tenant_id: str, host: str = "") -> dict[str, str]:
    """Pattern 4: GSI1 attributes that list a tenant's domains (no ``host``: the prefix of them all)."""
    return tenant_index(tenant_id, "DOMAIN", host)


# -- access periods -------------------------------------------------------------------------------


def accesses(bot_id: str, user_id: int | str) -> tuple[str, str]:
    """Pattern 44: a buyer's access periods, every offer (``begins_with(sk, <the second>)``)."""
    return lead(bot_id, user_id)[0], "ACCESS#"


# -- destinations beyond Meta ---------------------------------------------------------------------


def destination(destination_id: str) -> tuple[str, str]:
    """Pattern 48: a destination (UTMify, TikTok, GA4, webhook) by id; its secret's ciphertext on it."""
    return f"DEST#{destination_id}", "DEST"


def tenant_destination_index(tenant_id: str, destination_id: str = "") -> dict[str, str]:
    """Pattern 4: GSI1 attributes that list a tenant's destinations (no id: the prefix of them all)."""
    return tenant_index(tenant_id, "DEST", destination_id)


def destination_record(destination_id: str | None, event_id: str) -> tuple[str, str]:
    """Pattern 49: the delivery record of an event to a destination (its claim and outcome)."""
    return f"DESTOUT#{destination_id or NO_PIXEL}#{event_id}", "DESTOUT"


def destination_status_index(destination_id: str | None, status: str, updated_iso: str = "") -> dict[str, str]:
    """Pattern 49: GSI1 attributes that list a destination's delivery records by status and time."""
    return {"gsi1pk": f"DESTSTATUS#{destination_id or NO_PIXEL}#{status}", "gsi1sk": updated_iso}


# -- the seller's notifications (docs/notifications.md) -------------------------------------------


def notification_code(code_sha256: str) -> tuple[str, str]:
    """Pattern 50: a one-time code that registers an admin chat, by its SHA-256 (the code is stored nowhere)."""
    return f"NOTIFYCODE#{code_sha256}", "NOTIFYCODE"


def admin_chat(tenant_id: str, chat_id: int | str) -> tuple[str, str]:
    """Pattern 51: one of a tenant's admin chats; a tenant's: ``begins_with(sk, CHAT#)``."""
    return f"NOTIFY#{tenant_id}", f"CHAT#{chat_id}"


def admin_chats(tenant_id: str) -> tuple[str, str]:
    """Pattern 51: a tenant's notification partition and the sort-key prefix of its chats."""
    return admin_chat(tenant_id, "")


def notice_claim(tenant_id: str, notice_id: str, chat_id: int | str) -> tuple[str, str]:
    """Pattern 52: one notice to one admin chat, claimed before it is sent (exactly once)."""
    return f"NOTICE#{tenant_id}#{notice_id}", f"CHAT#{chat_id}"


# -- incidents (operational alerts) ---------------------------------------------------------------


def incident(tenant_id: str, kind: str, subject: str) -> tuple[str, str]:
    """Pattern 53: a tenant's incident of one kind about one subject (a bot, a gateway, a pixel…)."""
    return f"TENANT#{tenant_id}", f"INCIDENT#{kind}#{subject}"


def tenant_incidents(tenant_id: str, kind: str = "", *, kinds_starting: str = "") -> tuple[str, str]:
    """Pattern 53: a tenant's incidents (``begins_with(sk, <the second>)``), of one kind when given,
    or of the kinds whose name starts with ``kinds_starting`` (``gateway_``)."""
    return f"TENANT#{tenant_id}", f"INCIDENT#{kind}#" if kind else f"INCIDENT#{kinds_starting}"


def capi_window(tenant_id: str, pixel_id: str, window_start: str) -> tuple[str, str]:
    """Pattern 53: a pixel's Conversions API outcomes in one window (the error-rate watch)."""
    return f"TENANT#{tenant_id}", f"WATCH#capi#{pixel_id}#{window_start}"


def open_incident_index(kind: str, opened_iso: str = "", tenant_id: str = "", subject: str = "") -> dict[str, str]:
    """Pattern 54 (sparse): GSI2 attributes that list open incidents of a kind, oldest first; removed
    by the write that resolves the incident."""
    return {"gsi2pk": f"INCIDENTS#{kind}", "gsi2sk": f"{opened_iso}#{tenant_id}#{subject}" if opened_iso else ""}
