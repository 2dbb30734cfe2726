"""Data-subject requests (LGPD art. 18): everything a tenant stores about one person, exported or erased.

A person is named by exactly one identifier: their Telegram user id, or an e-mail or phone they gave
(normalised as the conversions builder normalises them, ``funil.conversions.normalize``). Everything
is scoped to the caller's tenant: a Telegram user id is global, but only the leads of this tenant's
bots count, and every item read is checked to be the tenant's before it is shown or touched.

Finding a person:

- Telegram user id → a lead per bot of the tenant (``LEAD#<bot>#<user>``, one Query of its partition:
  the lead, its touches, its charges, its periods of access and its payment links);
- e-mail / phone → the items carrying it, through sparse indexes holding a salted hash
  (``funil.keys.subject_index``: payers by e-mail on gsi1, payers and shared phones on gsi2) → the
  payments those payers paid → the Telegram users of those payments → the same chain as above;
- from the leads: their payments (named by their ``CHARGE#`` items and payment links), each payment's
  partition (payer, delivery record), the invite links of the deliveries, the clicks the touches,
  the lead and the payments name (only the tenant's), and the conversion records of the person's
  events (``pv_<token>``, ``lead_<bot>_<user>``, ``ic_``/``purchase_``/``refund_<payment>``) for each
  of the tenant's pixels.

Erasing keeps the books and exactly-once intact:

- deleted: clicks, leads with their touches, charges, accesses and payment links, payer items, invite items,
  and the conversion records of the Lead and the PageViews (their keys hold the Telegram id and the
  click token; without the lead and the click those events cannot be built, so none is sent again);
- anonymised (``anonymised_at``): payments keep amounts, status, dates, offer, gateway and charge ids
  and the campaign they came from (``link_slug``, ``pixel_id``, ``utm``, ``ad``), and lose the
  Telegram id, the lead reference and the click's identifiers (token, fbc, fbp, click ids, IP hash,
  device); delivery records keep their status and dates and lose the Telegram id, the invite link
  and the message id; the other conversion records keep their status (so nothing is sent twice) and
  lose the event's ``user_data`` and Meta's messages;
- a delivery or a conversion leased by a consumer right now loses its lease (``claim_id``): the
  consumer's own write back fails and its retry finds the person gone, so nothing personal is
  written again after the erasure;
- a payment still pending can still be confirmed by its gateway or the reconciler: the state machine
  moves it as usual (the money is recorded), no payer item is written for it
  (``funil.payments.transitions.store_payer``), its Purchase has no customer information (the sender
  refuses it) and its delivery has no buyer to go to (skipped).

The writes go in DynamoDB transactions of ≤ 100: first what nothing else leads to (conversion
records, clicks, touches, invites, delivery records), then the payments with everything that leads
to them (payers, charges, payment links, leads) and the request's log entry, in one transaction
when they fit (unless a person has dozens of payments). A person's usual erasure is all or nothing;
one that fails part-way leaves the links in place, so repeating it finishes it (an erasure finds
only what is left: repeating it is harmless).

Every request (export or erase) is logged under the tenant (``AUDIT#<tenant>`` / ``DSR#<iso>#<id>``)
with the API key that asked, when, the kind of identifier (never its value) and the counts.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from funil import keys
from funil.adapters.dynamo import Write, is_conditional_failure
from funil.bot.leads import lead_event_id
from funil.click.fields import click_fields
from funil.clock import iso
from funil.conversions import normalize
from funil.conversions.storage import EventStatus
from funil.delivery.models import DeliveryStatus
from funil.messages import EVENT_ID_PREFIX, EventKind
from funil.operator.api_keys import Caller
from funil.operator.errors import Conflict, FieldProblem, Invalid
from funil.operator.paging import Page, list_page
from funil.operator.ports import Store

IDENTIFIERS = ("telegram_user_id", "email", "phone")
KINDS = (
    "leads",
    "touches",
    "charges",
    "accesses",
    "clicks",
    "payments",
    "payers",
    "deliveries",
    "invites",
    "conversions",
)
TRANSACTION_LIMIT = 100  # DynamoDB's items per transaction
ERASED_CLAIM = "erased"  # the lease a consumer held is no longer its own
# What a payment keeps of its click: the campaign that sold, never who clicked.
KEPT_ATTRIBUTION = ("link_slug", "pixel_id", "utm", "ad")
# Never shown: keys and index keys, leases, and the delivery page's bearer token.
HIDDEN = frozenset(
    {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "type", "claim_id", "claim_expires_at", "delivery_token"}
)
# A Telegram start parameter (a click token or anything else given after /start).
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Action = Literal["export", "erase"]


class SubjectRequest(BaseModel):
    """Exactly one of the three identifiers."""

    model_config = ConfigDict(extra="forbid")

    telegram_user_id: StrictInt | None = Field(
        default=None, ge=1, le=2**63 - 1, description="The person's Telegram user id (what the bot saw as from.id)"
    )
    email: str | None = Field(
        default=None, min_length=3, max_length=254, description="An e-mail a gateway reported for their payment"
    )
    phone: str | None = Field(
        default=None,
        min_length=4,
        max_length=40,
        description="A phone they shared in the bot or a gateway reported; a Brazilian national number gets +55",
    )


@dataclass(frozen=True)
class Subject:
    """The person asked about: which identifier, and its normalised value."""

    kind: str
    value: int | str

    def as_json(self) -> dict[str, Any]:
        return {self.kind: self.value}


def subject_of(request: SubjectRequest) -> Subject:
    """The one identifier given, normalised; Invalid naming the fields otherwise."""
    given = [name for name in IDENTIFIERS if getattr(request, name) is not None]
    if len(given) != 1:
        message = "give exactly one of telegram_user_id, email, phone"
        raise Invalid("invalid input", [FieldProblem(name, message) for name in given or IDENTIFIERS])
    if request.telegram_user_id is not None:
        return Subject("telegram_user_id", request.telegram_user_id)
    if request.email is not None:
        email = normalize.email(request.email)
        if not email or "@" not in email:  # the normaliser passes a SHA-256 through: not an address
            raise Invalid.field("email", "not an e-mail address")
        return Subject("email", email)
    phone = normalize.phone(request.phone)
    if not phone or not phone.isdigit():
        raise Invalid.field("phone", "not a phone number (international, or Brazilian with its area code)")
    return Subject("phone", phone)


# -- finding ----------------------------------------------------------------------------------------


Key = tuple[str, str]


@dataclass
class Found:
    """A person's items in one tenant, by kind, each once (by key)."""

    leads: dict[Key, dict[str, Any]] = field(default_factory=dict)
    touches: dict[Key, dict[str, Any]] = field(default_factory=dict)
    charges: dict[Key, dict[str, Any]] = field(default_factory=dict)
    accesses: dict[Key, dict[str, Any]] = field(default_factory=dict)  # periods of access to a chat
    links: dict[Key, dict[str, Any]] = field(default_factory=dict)  # lead → payment links
    clicks: dict[Key, dict[str, Any]] = field(default_factory=dict)
    payments: dict[Key, dict[str, Any]] = field(default_factory=dict)
    payers: dict[Key, dict[str, Any]] = field(default_factory=dict)
    deliveries: dict[Key, dict[str, Any]] = field(default_factory=dict)
    invites: dict[Key, dict[str, Any]] = field(default_factory=dict)
    conversions: dict[Key, dict[str, Any]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {kind: len(getattr(self, kind)) for kind in KINDS}


def _key(item: Mapping[str, Any]) -> Key:
    return str(item["pk"]), str(item["sk"])


def _tenant_entities(items: Store, tenant_id: str, kind: str) -> list[dict[str, Any]]:
    """The tenant's configuration entities of one ``type`` (pattern 4, spelled as ``Entity`` writes it)."""
    listing = keys.tenant_index(tenant_id, kind.upper(), "")
    return [
        item
        for item in items.query(
            "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
            {":pk": listing["gsi1pk"], ":prefix": listing["gsi1sk"]},
            index="gsi1",
        )
        if item.get("tenant_id") == tenant_id and item.get("type") == kind
    ]


def _carrying(items: Store, tenant_id: str, subject: Subject) -> list[dict[str, Any]]:
    """The tenant's items that carry this e-mail or phone (their sparse index)."""
    index, partition = keys.subject_partition(tenant_id, subject.kind, str(subject.value))
    return [
        item
        for item in items.query(f"{index}pk = :pk", {":pk": partition}, index=index)
        if item.get("tenant_id") == tenant_id
    ]


def _partition(items: Store, pk: str) -> list[dict[str, Any]]:
    return list(items.query("pk = :pk", {":pk": pk}))


def _user_id(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def find(items: Store, tenant_id: str, subject: Subject) -> Found:
    """Everything the tenant stores about the person (only what exists now: an erased person has nothing)."""
    finder = _Finder(items, tenant_id)
    if subject.kind == "telegram_user_id":
        finder.users.add(int(subject.value))
    else:
        finder.carrying(subject)
    finder.leads()
    finder.payments()
    finder.invites()
    finder.clicks()
    finder.conversions()
    return finder.found


class _Finder:
    """The chain of lookups, each step from what the previous ones found (always this tenant's only)."""

    def __init__(self, items: Store, tenant_id: str) -> None:
        self.items = items
        self.tenant_id = tenant_id
        self.found = Found()
        self.users: set[int] = set()  # the person's Telegram user ids (one, unless payers named more)
        self.by_payer: set[str] = set()  # payments found through a payer item carrying the identifier
        self.payment_ids: set[str] = set()
        self.carrying_leads: set[tuple[str, int]] = set()  # (bot, user) of leads carrying the phone
        self.lead_pairs: list[tuple[str, int]] = []  # (bot, user) of the lead partitions found
        self.tokens: set[str] = set()

    def _ours(self, item: Mapping[str, Any] | None) -> bool:
        return item is not None and item.get("tenant_id") == self.tenant_id

    def carrying(self, subject: Subject) -> None:
        """Payers and leads carrying the e-mail/phone, and the Telegram users of those payers' payments."""
        for item in _carrying(self.items, self.tenant_id, subject):
            if item.get("type") == "payer" and item.get("payment_id"):
                self.found.payers[_key(item)] = item
                self.by_payer.add(str(item["payment_id"]))
            elif item.get("type") == "lead" and _user_id(item.get("telegram_user_id")) is not None:
                self.users.add(int(item["telegram_user_id"]))
                self.carrying_leads.add((str(item.get("bot_id")), int(item["telegram_user_id"])))
        for payment_id in sorted(self.by_payer):
            payment = self.items.get(*keys.payment(payment_id), consistent=True)
            user = _user_id((payment or {}).get("telegram_user_id"))
            if self._ours(payment) and user is not None:
                self.users.add(user)  # who bought it: the payer's Telegram account

    def leads(self) -> None:
        """The person's lead in each of the tenant's bots: lead, touches, charges, accesses, payment links."""
        buckets = {
            "lead": self.found.leads,
            "touch": self.found.touches,
            "charge": self.found.charges,
            "access": self.found.accesses,
            "lead_payment": self.found.links,
        }
        bots = [str(bot["bot_id"]) for bot in _tenant_entities(self.items, self.tenant_id, "bot") if bot.get("bot_id")]
        pairs = {(bot_id, user) for bot_id in bots for user in self.users} | self.carrying_leads
        for bot_id, user in sorted(pairs):
            partition = [item for item in _partition(self.items, keys.lead(bot_id, user)[0]) if self._ours(item)]
            if partition:
                self.lead_pairs.append((bot_id, user))
            for item in partition:
                bucket = buckets.get(str(item.get("type")))
                if bucket is None:
                    continue
                bucket[_key(item)] = item
                if item.get("type") in ("charge", "lead_payment") and item.get("payment_id"):
                    self.payment_ids.add(str(item["payment_id"]))

    def payments(self) -> None:
        """Each payment's partition: the payment, its payer and its delivery record."""
        for payment_id in sorted(self.payment_ids | self.by_payer):
            for item in _partition(self.items, keys.payment(payment_id)[0]):
                if not self._ours(item):
                    continue
                kind = item.get("type")
                buyer = _user_id(item.get("telegram_user_id"))
                # From the person's own charge or link (possibly anonymised already), or through their payer.
                if kind == "payment" and (buyer in self.users or buyer is None or payment_id in self.by_payer):
                    self.found.payments[_key(item)] = item
                elif kind == "payer":
                    self.found.payers[_key(item)] = item
                elif kind == "delivery":
                    self.found.deliveries[_key(item)] = item
        # The payer and delivery of a payment that is not the person's are not theirs either.
        kept = self.kept_payments()
        self.found.payers = {key: item for key, item in self.found.payers.items() if item.get("payment_id") in kept}
        self.found.deliveries = {
            key: item for key, item in self.found.deliveries.items() if item.get("payment_id") in kept
        }

    def kept_payments(self) -> set[str]:
        return {str(item["payment_id"]) for item in self.found.payments.values()}

    def invites(self) -> None:
        kept = self.kept_payments()
        for record in self.found.deliveries.values():
            link = record.get("invite_link")
            invite = self.items.get(*keys.invite(str(link)), consistent=True) if link else None
            if invite is not None and self._ours(invite) and invite.get("payment_id") in kept:
                self.found.invites[_key(invite)] = invite

    def clicks(self) -> None:
        self.tokens = _click_tokens(self.found)
        for token in sorted(self.tokens):
            click = self.items.get(*keys.click(token), consistent=True)
            if click is not None and self._ours(click):
                self.found.clicks[_key(click)] = click

    def conversions(self) -> None:
        """The records of the person's events (a click's may outlive the click) at any of the pixels."""
        event_ids = [f"{EVENT_ID_PREFIX[EventKind.PAGE_VIEW]}{token}" for token in sorted(self.tokens)]
        event_ids += [lead_event_id(bot_id, user) for bot_id, user in self.lead_pairs]
        event_ids += [
            f"{EVENT_ID_PREFIX[kind]}{payment_id}"
            for payment_id in sorted(self.kept_payments())
            for kind in (EventKind.INITIATE_CHECKOUT, EventKind.PURCHASE, EventKind.REFUND)
        ]
        pixels = _pixels(self.items, self.tenant_id, self.found)
        for event_id in event_ids:
            for pixel_id in pixels:
                record = self.items.get(*keys.conversion_record(pixel_id, event_id), consistent=True)
                if record is not None and self._ours(record):
                    self.found.conversions[_key(record)] = record


def _click_tokens(found: Found) -> set[str]:
    """Every click token the person's touches, leads and payments name (well-formed ones only)."""
    named: list[object] = []
    for touch in found.touches.values():
        named += [touch.get("click_token"), touch.get("start_parameter")]
    for lead in found.leads.values():
        named.append((lead.get("attribution") or {}).get("click_token"))
        named += [(lead.get(name) or {}).get("click_token") for name in ("first_touch", "last_touch")]
    for payment in found.payments.values():
        named.append((payment.get("attribution") or {}).get("click_token"))
    return {token for token in named if isinstance(token, str) and _TOKEN.fullmatch(token)}


def _pixels(items: Store, tenant_id: str, found: Found) -> list[str | None]:
    """The pixels the person's events may have gone to: the tenant's, those the items name, and none."""
    named: set[str] = {str(pixel["pixel_id"]) for pixel in _tenant_entities(items, tenant_id, "pixel")}
    for item in (*found.leads.values(), *found.payments.values()):
        for value in (item.get("pixel_id"), (item.get("attribution") or {}).get("pixel_id")):
            if isinstance(value, str) and value:
                named.add(value)
    for click in found.clicks.values():
        pixel_id = click_fields(click).get("pixel_id")
        if isinstance(pixel_id, str) and pixel_id:
            named.add(pixel_id)
    return [*sorted(named), None]


# -- what the export shows --------------------------------------------------------------------------


def item_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """A stored item as the export shows it: no keys, leases, bearer tokens or ciphertexts."""
    return {name: value for name, value in item.items() if name not in HIDDEN and not name.endswith("_ciphertext")}


def click_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """A click under the names the rest of Funil reads (it is stored compact)."""
    return item_view(click_fields(item, visitor=True))


def _views(
    items: Iterable[dict[str, Any]], view: Callable[[Mapping[str, Any]], dict[str, Any]]
) -> list[dict[str, Any]]:
    return [view(item) for item in items]


# -- the requests -----------------------------------------------------------------------------------


def _log(
    tenant_id: str, caller: Caller, subject: Subject, *, action: Action, counts: Mapping[str, int], now: datetime
) -> dict[str, Any]:
    """The request's entry in the tenant's log: who, when, what kind of identifier (not its value), counts."""
    request_id = f"dsr_{secrets.token_hex(8)}"
    at = iso(now)
    pk, sk = keys.subject_request(tenant_id, at, request_id)
    return {
        "pk": pk,
        "sk": sk,
        "type": "subject_request",
        "tenant_id": tenant_id,
        "request_id": request_id,
        "action": action,
        "identifier": subject.kind,
        "key_id": caller.key_id,
        "requested_at": at,
        "counts": dict(counts),
    }


def export_subject(items: Store, tenant_id: str, caller: Caller, subject: Subject, now: datetime) -> dict[str, Any]:
    """Everything stored about the person, as JSON; the request is logged."""
    found = find(items, tenant_id, subject)
    entry = _log(tenant_id, caller, subject, action="export", counts=found.counts(), now=now)
    items.put(entry, condition="attribute_not_exists(pk)")
    return {
        "subject": subject.as_json(),
        "leads": _views(found.leads.values(), item_view),
        "touches": _views(found.touches.values(), item_view),
        "charges": _views(found.charges.values(), item_view),
        "accesses": _views(found.accesses.values(), item_view),
        "clicks": _views(found.clicks.values(), click_view),
        "payments": _views(found.payments.values(), item_view),
        "payers": _views(found.payers.values(), item_view),
        "deliveries": _views(found.deliveries.values(), item_view),
        "invites": _views(found.invites.values(), item_view),
        "conversions": _views(found.conversions.values(), item_view),
        "exported_at": entry["requested_at"],
        "request_id": entry["request_id"],
    }


def _delete(item: Mapping[str, Any], tenant_id: str) -> Write:
    # Gone since it was read is fine; another tenant's item under the same key never is touched.
    return Write(
        key=_key(item),
        condition="attribute_not_exists(pk) OR tenant_id = :tenant",
        values={":tenant": tenant_id},
    )


def _update(
    item: Mapping[str, Any], tenant_id: str, sets: Mapping[str, Any], removes: Iterable[str], now: datetime
) -> Write:
    names: dict[str, str] = {}
    values: dict[str, Any] = {":tenant": tenant_id, ":now": iso(now)}
    clauses = ["anonymised_at = if_not_exists(anonymised_at, :now)"]
    for index, (name, value) in enumerate(sets.items()):
        names[f"#s{index}"] = name
        values[f":s{index}"] = value
        clauses.append(f"#s{index} = :s{index}")
    removed = [name for name in removes if name in item]
    for index, name in enumerate(removed):
        names[f"#r{index}"] = name
    expression = "SET " + ", ".join(clauses)
    if removed:
        expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(removed)))
    return Write(
        key=_key(item),
        expression=expression,
        values=values,
        names=names or None,
        condition="attribute_exists(pk) AND tenant_id = :tenant",
    )


def _payment_write(payment: Mapping[str, Any], tenant_id: str, now: datetime) -> Write:
    """The books stay (amounts, status, dates, offer, gateway ids, the campaign); the person goes."""
    attribution = payment.get("attribution") or {}
    kept = {name: attribution[name] for name in KEPT_ATTRIBUTION if attribution.get(name) not in (None, "", {})}
    sets: dict[str, Any] = {"attribution": kept} if kept else {}
    removes = ["telegram_user_id", "lead_ref"] + ([] if kept else ["attribution"])
    return _update(payment, tenant_id, sets, removes, now)


def _delivery_write(record: Mapping[str, Any], tenant_id: str, now: datetime) -> Write:
    sets = {"claim_id": ERASED_CLAIM} if record.get("status") == DeliveryStatus.IN_PROGRESS else {}
    return _update(record, tenant_id, sets, ["telegram_user_id", "invite_link", "message_id"], now)


def _conversion_write(record: Mapping[str, Any], tenant_id: str, now: datetime) -> Write:
    kind = record.get("kind")
    if kind in (EventKind.LEAD, EventKind.PAGE_VIEW):
        # Its key holds the Telegram id or the click token. Without the lead or the click the event
        # cannot be built again (the sender refuses it), so no second send can follow.
        return _delete(record, tenant_id)
    sets: dict[str, Any] = {}
    payload = record.get("payload")
    if isinstance(payload, Mapping) and "user_data" in payload:
        sets["payload"] = {name: value for name, value in payload.items() if name != "user_data"}
    if record.get("status") == EventStatus.IN_PROGRESS:
        sets["claim_id"] = ERASED_CLAIM
    return _update(record, tenant_id, sets, ["meta_messages", "error_message", "error_user_message"], now)


def _transact(items: Store, writes: list[Write]) -> None:
    try:
        items.transact_write(writes)
    except Exception as error:
        if is_conditional_failure(error):
            raise Conflict("the person's data changed while it was being erased: send the request again") from error
        raise


def erase_subject(items: Store, tenant_id: str, caller: Caller, subject: Subject, now: datetime) -> dict[str, Any]:
    """Delete or anonymise everything stored about the person (module docstring); the counts per kind."""
    found = find(items, tenant_id, subject)
    # First what nothing else leads to; then the payments with everything that leads to them (payers,
    # charges, payment links, leads) and the log entry, in one transaction when they fit (unless the
    # person has dozens of payments): a failure anywhere leaves the links, so repeating it finishes.
    head: list[Write] = [_conversion_write(record, tenant_id, now) for record in found.conversions.values()]
    head += [
        _delete(item, tenant_id) for item in (*found.clicks.values(), *found.touches.values(), *found.accesses.values())
    ]
    head += [_delete(invite, tenant_id) for invite in found.invites.values()]
    head += [_delivery_write(record, tenant_id, now) for record in found.deliveries.values()]
    tail: list[Write] = [_payment_write(payment, tenant_id, now) for payment in found.payments.values()]
    for bucket in (found.payers, found.charges, found.links, found.leads):
        tail += [_delete(item, tenant_id) for item in bucket.values()]
    entry = _log(tenant_id, caller, subject, action="erase", counts=found.counts(), now=now)
    tail.append(Write(item=entry, condition="attribute_not_exists(pk)"))
    for writes in (head, tail):
        for start in range(0, len(writes), TRANSACTION_LIMIT):
            _transact(items, writes[start : start + TRANSACTION_LIMIT])
    return {
        "subject": {"kind": subject.kind},
        "erased": found.counts(),
        "erased_at": entry["requested_at"],
        "request_id": entry["request_id"],
    }


# -- the log ----------------------------------------------------------------------------------------


def request_view(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": item.get("request_id"),
        "action": item.get("action"),
        "identifier": item.get("identifier"),
        "key_id": item.get("key_id"),
        "requested_at": item.get("requested_at"),
        "counts": item.get("counts") or {},
    }


def list_requests(items: Store, tenant_id: str, limit: int, cursor: str | None) -> Page:
    """The tenant's data-subject requests, newest first."""
    pk, prefix = keys.subject_requests(tenant_id)
    listing = {"pk": pk, "sk": prefix}
    return list_page(items, listing, limit=limit, cursor=cursor, view=request_view, newest_first=True)
