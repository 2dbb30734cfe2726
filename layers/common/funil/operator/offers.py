"""Offers: one offer sold by several bots, stored as one copy per bot (docs/data-model.md pattern 6).

A tracking link rotates its visitors among the tenant's bots, so each of them must sell the same
thing; the webhook reads a bot's offers from the bot's own partition (``BOT#<bot>`` /
``OFFER#<offer>``, one Query). So an offer is written once per bot, every copy in one transaction,
and read back grouped by its id. Each copy carries the offer's ``revision``: a change conditions
every copy it rewrites on the revision it read, so two concurrent changes cannot leave the bots
selling different things (the second is a 409, to be retried).

Listing groups before it pages: a tenant's offer copies are read whole (the gsi1 index orders them
by bot, then offer, so an offer's copies are spread over the whole index) and the page is cut
between offer ids, never inside one offer: a client sees each offer once and with all its bots.
A tenant's offers are few (its bots list them in one message), so this is one or a few Query pages.
One offer (GET, PATCH) is read from the table itself, copy by copy, so it never lags its last write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from funil import keys
from funil.adapters.dynamo import Write
from funil.bot.models import MAX_STARS, Offer
from funil.bot.texts import brl
from funil.delivery.models import DeliveryKind, DeliverySpec
from funil.ids import OFFER_ID
from funil.operator.errors import Conflict, FieldProblem, Invalid, NotFound
from funil.operator.models import ENTITY_ID
from funil.operator.paging import Page, page_by_id
from funil.operator.ports import Store

MAX_BOTS = 50  # copies of one offer: a change that moves them all stays within a transaction's 100 writes
MAX_TRANSACTION = 100  # DynamoDB's limit of writes in one transaction

BotId = Annotated[str, Field(pattern=ENTITY_ID)]

# Every offer field a request may set, copied as is onto each copy (``bot_ids`` and ``id`` are not).
CONTENT = (
    "title",
    "description",
    "price_cents",
    "stars_price",
    "delivery",
    "position",
    "ask_phone",
    "enabled",
    "listed",
    "access_days",
    "renewal_reminder_days",
    "upsell_offer_id",
    "downsell_offer_id",
    "bump_offer_id",
    "pix_reminder_minutes",
    "pix_follow_up_minutes",
)
KEPT = (*CONTENT, "currency")  # what a change carries over from the copy it read


def _delivery_problems(value: Any, handler: Any) -> Any:
    """DeliverySpec's own checks, with its whole-object ones named by the field they are about.

    Its completeness rule (a message needs text or url; an invite needs chat_id) is a model
    validator, whose error pydantic puts on ``delivery`` itself; the client is told which field.
    """
    try:
        spec = handler(value)
    except ValidationError as error:
        problems = error.errors()
        if not all(problem["type"] == "value_error" and not problem["loc"] for problem in problems):
            raise  # field errors are named already; a delivery that is not an object is ``delivery``'s
        kind = value.get("kind", DeliveryKind.MESSAGE) if isinstance(value, dict) else DeliveryKind.MESSAGE
        field = "text" if kind == DeliveryKind.MESSAGE else "chat_id"
        details = [
            InitErrorDetails(
                type=PydanticCustomError("delivery", str(problem["msg"]).removeprefix("Value error, ")),
                loc=(field,),
                input=value,
            )
            for problem in problems
        ]
        raise ValidationError.from_exception_data("DeliverySpec", details) from None
    return spec


DELIVERY_DOC = (
    "What a buyer receives once paid: {'kind': 'message', 'text'?, 'url'?} (a URL delivery is a "
    "message with url), {'kind': 'invite_link' | 'join_request', 'chat_id'} (a one-buyer invite to "
    "the private channel/group the bot administers). Absent: nothing is delivered automatically."
)


LISTED_DOC = "Shown in the bots' menu; false: sold only as another offer's upsell, downsell or bump"
ACCESS_DOC = (
    "Access to the delivery's private chat ends this many days after payment (needs an invite_link or "
    "join_request delivery); a renewal paid before the end extends from the old end"
)
REMINDERS_DOC = "Days before the access ends when the buyer is reminded, with a renewal button"
UPSELL_DOC = "An offer of the same bots shown right after this one is delivered"
DOWNSELL_DOC = "A cheaper offer of the same bots shown when the lead declines or lets the PIX expire"
BUMP_DOC = "An add-on offer of the same bots proposed at checkout, paid in the same PIX"
PIX_REMINDER_DOC = "Remind a lead this many minutes before their unpaid PIX expires"
PIX_FOLLOW_UP_DOC = "Follow up this many minutes after an unpaid PIX expired (with the downsell when set)"
ReminderDay = Annotated[int, Field(ge=1, le=60)]


class OfferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=OFFER_ID, description="≤ 40 letters, digits, _ or -: the bots' buy buttons carry it")
    title: str = Field(min_length=1, max_length=32, description="The button's and the invoice's title (≤ 32)")
    price_cents: int = Field(gt=0, le=100_000_000, description="Price in BRL cents: 1990 is R$ 19,90")
    bot_ids: list[BotId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_BOTS,
        description="The bots that sell it (the tenant's); default: every bot of the tenant",
    )
    description: str = Field(default="", max_length=255, description="The invoice's description (≤ 255)")
    stars_price: int | None = Field(
        default=None, ge=1, le=MAX_STARS, description="Also sold for this many Telegram Stars"
    )
    delivery: DeliverySpec | None = Field(default=None, description=DELIVERY_DOC)
    position: int = Field(default=0, ge=0, le=1000, description="Order among the bot's offers (lower first)")
    ask_phone: bool = Field(default=False, description="After 'buy', offer the buyer to share their phone")
    enabled: bool = True
    listed: bool = Field(default=True, description=LISTED_DOC)
    access_days: int | None = Field(default=None, ge=1, le=3650, description=ACCESS_DOC)
    renewal_reminder_days: list[ReminderDay] = Field(default=[3, 1], max_length=5, description=REMINDERS_DOC)
    upsell_offer_id: str | None = Field(default=None, pattern=OFFER_ID, description=UPSELL_DOC)
    downsell_offer_id: str | None = Field(default=None, pattern=OFFER_ID, description=DOWNSELL_DOC)
    bump_offer_id: str | None = Field(default=None, pattern=OFFER_ID, description=BUMP_DOC)
    pix_reminder_minutes: int | None = Field(default=None, ge=1, le=24 * 60, description=PIX_REMINDER_DOC)
    pix_follow_up_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60, description=PIX_FOLLOW_UP_DOC)

    _delivery = field_validator("delivery", mode="wrap")(_delivery_problems)


class OfferUpdate(BaseModel):
    """Fields left out keep their value; null removes ``stars_price``, ``delivery``, ``access_days``, the
    linked offers and the PIX follow-ups."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=32)
    price_cents: int | None = Field(default=None, gt=0, le=100_000_000)
    bot_ids: list[BotId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_BOTS,
        description="The whole new list of bots: copies are added to the bots named and removed from the others",
    )
    description: str | None = Field(default=None, max_length=255)
    stars_price: int | None = Field(default=None, ge=1, le=MAX_STARS, description="null: no longer sold for Stars")
    delivery: DeliverySpec | None = Field(default=None, description=DELIVERY_DOC + " null removes it.")
    position: int | None = Field(default=None, ge=0, le=1000)
    ask_phone: bool | None = None
    enabled: bool | None = None
    listed: bool | None = Field(default=None, description=LISTED_DOC)
    access_days: int | None = Field(default=None, ge=1, le=3650, description=ACCESS_DOC + " null: for good.")
    renewal_reminder_days: list[ReminderDay] | None = Field(default=None, max_length=5, description=REMINDERS_DOC)
    upsell_offer_id: str | None = Field(default=None, pattern=OFFER_ID, description=UPSELL_DOC + " null removes it.")
    downsell_offer_id: str | None = Field(
        default=None, pattern=OFFER_ID, description=DOWNSELL_DOC + " null removes it."
    )
    bump_offer_id: str | None = Field(default=None, pattern=OFFER_ID, description=BUMP_DOC + " null removes it.")
    pix_reminder_minutes: int | None = Field(default=None, ge=1, le=24 * 60, description=PIX_REMINDER_DOC)
    pix_follow_up_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60, description=PIX_FOLLOW_UP_DOC)

    _delivery = field_validator("delivery", mode="wrap")(_delivery_problems)

    @field_validator(
        "title",
        "price_cents",
        "bot_ids",
        "description",
        "position",
        "ask_phone",
        "enabled",
        "listed",
        "renewal_reminder_days",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # explicit null (a left-out field is never validated)
            raise ValueError("cannot be null: leave the field out to keep its value")
        return value


CREATE_DOC = (
    "Create an offer on each of its bots (bot_ids; default: every bot of the tenant), all or none: "
    "a tracking link rotates among the bots, so each sells the same thing. An id one of those bots "
    "already has is a 409. Bots show a change within their cache time (30 s by default)."
)
LIST_DOC = (
    "The tenant's offers in id order, each once and whole (every bot that sells it in bot_ids), "
    "limit offers a page; pass next_cursor back as cursor."
)
PATCH_DOC = (
    "Change any field on every bot at once; bot_ids (the whole new list) adds and removes the "
    "offer's copies. One transaction: all the bots change or none. Fields left out keep their value; "
    "null removes stars_price, delivery, access_days, a linked offer or a PIX follow-up. "
    "A concurrent change of the same offer makes this one a "
    "409: read it again and retry. Bots show the change within their cache time (30 s by default)."
)


# -- reading --------------------------------------------------------------------------------------


def _index_query(items: Store, tenant_id: str, index: dict[str, str], kind: str) -> Iterable[dict[str, Any]]:
    """The tenant's items of one ``type`` under a gsi1 listing (its partition and sort-key prefix)."""
    found = items.query(
        "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
        {":pk": index["gsi1pk"], ":prefix": index["gsi1sk"]},
        index="gsi1",
    )
    return (item for item in found if item.get("tenant_id") == tenant_id and item.get("type") == kind)


def tenant_bots(items: Store, tenant_id: str) -> list[str]:
    """The ids of every bot of the tenant (the default sellers of a new offer)."""
    bots = _index_query(items, tenant_id, keys.tenant_bot_index(tenant_id), "bot")
    return sorted(str(item["bot_id"]) for item in bots)


def tenant_offers(items: Store, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every offer copy of the tenant, grouped by offer id."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in _index_query(items, tenant_id, keys.tenant_offers_index(tenant_id), "offer"):
        grouped.setdefault(str(item["offer_id"]), []).append(item)
    return grouped


def _revision(item: dict[str, Any]) -> int:
    """The copy's revision; 0 for a copy written before revisions (the seed's)."""
    value = item.get("revision")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _current(copies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The copy that speaks for the offer: the newest revision (copies agree once written here)."""
    return min(copies, key=lambda item: (-_revision(item), str(item.get("bot_id"))))


def offer_view(copies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One offer as the API shows it, from all its copies."""
    item = _current(copies)
    price = int(item.get("price_cents") or 0)
    return {
        "id": item["offer_id"],
        "bot_ids": sorted(str(copy["bot_id"]) for copy in copies),
        "title": item.get("title"),
        "description": item.get("description", ""),
        "price_cents": price,
        "price": brl(price),
        "currency": item.get("currency", "BRL"),
        "stars_price": item.get("stars_price"),
        "delivery": item.get("delivery"),
        "position": item.get("position", 0),
        "ask_phone": item.get("ask_phone", False),
        "enabled": item.get("enabled", True),
        "listed": item.get("listed", True),
        "access_days": item.get("access_days"),
        "renewal_reminder_days": item.get("renewal_reminder_days", [3, 1]),
        "upsell_offer_id": item.get("upsell_offer_id"),
        "downsell_offer_id": item.get("downsell_offer_id"),
        "bump_offer_id": item.get("bump_offer_id"),
        "pix_reminder_minutes": item.get("pix_reminder_minutes"),
        "pix_follow_up_minutes": item.get("pix_follow_up_minutes"),
    }


def copies_of(items: Store, tenant_id: str, offer_id: str) -> list[dict[str, Any]]:
    """The offer's copies, each read from the table itself (a consistent read: a PATCH right after
    the POST finds what the index may not show yet) on every bot that may hold one: the tenant's
    bots and those the index shows it on. NotFound when the tenant has none (another's offer too)."""
    indexed = tenant_offers(items, tenant_id).get(offer_id, [])
    bots = set(tenant_bots(items, tenant_id)) | {str(copy["bot_id"]) for copy in indexed}
    copies = []
    for bot_id in sorted(bots):
        item = items.get(*keys.offer(bot_id, offer_id), consistent=True)
        if item is not None and item.get("tenant_id") == tenant_id and item.get("type") == "offer":
            copies.append(item)
    if not copies:
        raise NotFound(f"no offer {offer_id}")
    return copies


def get_offer(items: Store, tenant_id: str, offer_id: str) -> dict[str, Any]:
    return offer_view(copies_of(items, tenant_id, offer_id))


def list_offers(items: Store, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
    """A page of the tenant's offers in id order, each whole; the cursor is the last id shown."""
    return page_by_id(tenant_offers(items, tenant_id), limit=limit, cursor=cursor, view=offer_view)


# -- writing --------------------------------------------------------------------------------------


def _checked_bots(items: Store, tenant_id: str, bot_ids: Sequence[str]) -> list[str]:
    """The bots named, each the tenant's and named once; Invalid naming every other (``bot_ids.<n>``).

    Another tenant's bot gets the words of a missing one: whether it exists is not the caller's to know.
    """
    problems, seen = [], set()
    for index, bot_id in enumerate(bot_ids):
        field = f"bot_ids.{index}"
        if bot_id in seen:
            problems.append(FieldProblem(field, f"bot {bot_id} is named twice"))
            continue
        seen.add(bot_id)
        bot = items.get(*keys.bot(bot_id), consistent=True)
        if bot is None or bot.get("tenant_id") != tenant_id or bot.get("type", "bot") != "bot":
            problems.append(FieldProblem(field, f"no bot {bot_id}: add it with POST /api/v1/bots first"))
    if problems:
        raise Invalid("invalid input", problems)
    return list(bot_ids)


LINKED = ("upsell_offer_id", "downsell_offer_id", "bump_offer_id")


def _checked_links(
    items: Store, tenant_id: str, offer_id: str, bot_ids: Sequence[str], content: dict[str, Any]
) -> None:
    """An upsell, downsell or bump names another offer sold by every one of this offer's bots."""
    problems = []
    for field in LINKED:
        linked = content.get(field)
        if not linked:
            continue
        if linked == offer_id:
            problems.append(FieldProblem(field, "an offer cannot follow itself"))
            continue
        missing = [
            bot_id
            for bot_id in bot_ids
            if (items.get(*keys.offer(bot_id, str(linked)), consistent=True) or {}).get("tenant_id") != tenant_id
        ]
        if missing:
            problems.append(FieldProblem(field, f"offer {linked} is not sold by {', '.join(missing)}: create it first"))
    if problems:
        raise Invalid("invalid input", problems)


def _copy_item(tenant_id: str, bot_id: str, offer_id: str, content: dict[str, Any], revision: int) -> dict[str, Any]:
    """One bot's copy as stored: validated by the Offer model, plus the offer's revision."""
    try:
        offer = Offer(tenant_id=tenant_id, bot_id=bot_id, offer_id=offer_id, **content)
    except ValidationError as error:  # the request models keep Offer's rules: this is a safety net
        problems = [
            FieldProblem(".".join(str(part) for part in problem["loc"]) or "body", str(problem["msg"]))
            for problem in error.errors()
        ]
        raise Invalid("invalid input", problems) from None
    return {**offer.to_item(), "revision": revision}


def _cancelled(error: Exception) -> list[str] | None:
    """The cancellation reasons of a failed transaction (one per write), None for any other error."""
    response = getattr(error, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return [str(reason.get("Code") or "None") for reason in response.get("CancellationReasons") or []]


def create_offer(items: Store, tenant_id: str, request: OfferCreate) -> dict[str, Any]:
    """The offer on each of its bots, all or none; Conflict when one of them already has its id."""
    if request.bot_ids is None:
        bot_ids = tenant_bots(items, tenant_id)
        if not bot_ids:
            raise Invalid.field("bot_ids", "the tenant has no bot yet: add one with POST /api/v1/bots first")
        if len(bot_ids) > MAX_BOTS:
            raise Invalid.field("bot_ids", f"an offer is sold by at most {MAX_BOTS} bots: name them in bot_ids")
    else:
        bot_ids = _checked_bots(items, tenant_id, request.bot_ids)
    content = request.model_dump(include=set(CONTENT), exclude_none=True)
    _checked_links(items, tenant_id, request.id, bot_ids, content)
    copies = [_copy_item(tenant_id, bot_id, request.id, content, 1) for bot_id in bot_ids]
    writes = [Write(item=copy, condition="attribute_not_exists(pk)") for copy in copies]
    try:
        items.transact_write(writes)
    except Exception as error:
        reasons = _cancelled(error)
        if reasons is None:
            raise
        taken = [bot for bot, reason in zip(bot_ids, reasons, strict=False) if reason == "ConditionalCheckFailed"]
        if taken:
            raise Conflict(f"offer {request.id} already exists on {', '.join(taken)}") from error
        raise Conflict(f"offer {request.id} is being changed by another request: retry") from error
    return offer_view(copies)


def update_offer(items: Store, tenant_id: str, offer_id: str, request: OfferUpdate) -> dict[str, Any]:
    """Every copy rewritten with the change, copies added and removed per ``bot_ids``, in one
    transaction conditioned on the revision read; NotFound for an offer the tenant does not have."""
    copies = copies_of(items, tenant_id, offer_id)
    changes = request.model_dump(include=set(CONTENT) & request.model_fields_set)
    if not changes and request.bot_ids is None:
        return offer_view(copies)
    current = _current(copies)
    by_bot = {str(copy["bot_id"]): copy for copy in copies}
    kept_order = sorted(by_bot)
    wanted = kept_order if request.bot_ids is None else _checked_bots(items, tenant_id, request.bot_ids)
    content = {field: current[field] for field in KEPT if current.get(field) is not None}
    for field, value in changes.items():
        if value is None:
            content.pop(field, None)
        else:
            content[field] = value
    _checked_links(items, tenant_id, offer_id, wanted, content)
    revision = max(_revision(copy) for copy in copies) + 1
    writes: list[Write] = []
    names = {"#tenant": "tenant_id", "#revision": "revision"}

    def unchanged(copy: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        values: dict[str, Any] = {":tenant": tenant_id}
        if "revision" in copy:
            values[":revision"] = copy["revision"]
            return "attribute_exists(pk) AND #tenant = :tenant AND #revision = :revision", values
        return "attribute_exists(pk) AND #tenant = :tenant AND attribute_not_exists(#revision)", values

    new_copies = []
    for bot_id in wanted:
        item = _copy_item(tenant_id, bot_id, offer_id, content, revision)
        new_copies.append(item)
        if bot_id in by_bot:
            condition, values = unchanged(by_bot[bot_id])
            writes.append(Write(item=item, condition=condition, values=values, names=names))
        else:
            writes.append(Write(item=item, condition="attribute_not_exists(pk)"))
    for bot_id in kept_order:
        if bot_id not in wanted:
            condition, values = unchanged(by_bot[bot_id])
            writes.append(Write(key=keys.offer(bot_id, offer_id), condition=condition, values=values, names=names))
    if len(writes) > MAX_TRANSACTION:
        raise Invalid.field("bot_ids", f"the offer's old and new bots together are more than {MAX_TRANSACTION}")
    try:
        items.transact_write(writes)
    except Exception as error:
        reasons = _cancelled(error)
        if reasons is None:
            raise
        targets = [*wanted, *(bot for bot in kept_order if bot not in wanted)]
        taken = [
            bot
            for bot, reason in zip(targets, reasons, strict=False)
            if reason == "ConditionalCheckFailed" and bot not in by_bot
        ]
        if taken:
            raise Conflict(f"offer {offer_id} already exists on {', '.join(taken)}") from error
        raise Conflict(f"offer {offer_id} was changed by another request meanwhile: read it again and retry") from error
    return offer_view(new_copies)
