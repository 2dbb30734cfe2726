"""The bot's reads and writes on the application table (docs/data-model.md patterns 5, 6, 8–12, 18).

Every write that must happen once is conditional: the update marker ``TGUPDATE#<bot>#<update_id>``
(TTL 2 days, a retry-able claim), the lead's ``lead_event_at`` flag, the charge claim
``CHARGE#<offer>`` under the lead. TTL only tidies up: expiry is compared in code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from funil import keys
from funil.adapters.dynamo import Table, is_conditional_failure, serialize
from funil.clock import iso, to_epoch_s

if TYPE_CHECKING:
    from funil.bot.views import BotView

UPDATE_TTL = timedelta(days=2)


class DuplicateUpdate(Exception):
    """This update_id was already handled (Telegram redelivered it)."""


class ForeignLead(Exception):
    """The lead key holds another tenant's lead: never overwritten (tenant isolation)."""


# -- bots -----------------------------------------------------------------------------------------


def load_bot(table: Table, bot_id: str) -> BotView | None:
    """The bot and its offers in one Query (``pk = BOT#<bot>``)."""
    from funil.bot.views import BotView  # only what reads a bot: the delivery and health check write to it

    items = list(table.query("pk = :pk", {":pk": keys.bot(bot_id)[0]}))
    return BotView.from_items(bot_id, items)


def mark_bot_health(
    table: Table, bot_id: str, status: str, reason: str | None, now: datetime, *, extra: dict[str, Any] | None = None
) -> None:
    health: dict[str, Any] = {**(extra or {}), "status": status, "checked_at": iso(now)}
    if reason:
        health["reason"] = reason[:200]
    table.update(*keys.bot(bot_id), "SET health = :health", {":health": health}, condition="attribute_exists(pk)")


# -- updates --------------------------------------------------------------------------------------


def update_item(bot: BotView, update_id: int, kind: str, now: datetime) -> dict[str, Any]:
    bot_id, tenant_id = bot.bot_id, bot.tenant_id
    pk, sk = keys.telegram_update(bot_id, update_id)
    return {
        "pk": pk,
        "sk": sk,
        "type": "tgupdate",
        "tenant_id": tenant_id,
        "bot_id": bot_id,
        "update_id": update_id,
        "kind": kind,
        "status": "handled",
        "received_at": iso(now),
        "expires_at": to_epoch_s(now + UPDATE_TTL),
    }


UPDATE_CONDITION = "attribute_not_exists(pk) OR #status = :retry"


def claim_update(table: Table, bot: BotView, update_id: int, kind: str, now: datetime) -> None:
    """Raise DuplicateUpdate unless this update is new (or was released for a retry)."""
    try:
        table.client.put_item(
            TableName=table.name,
            Item=serialize(update_item(bot, update_id, kind, now)),
            ConditionExpression=UPDATE_CONDITION,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=serialize({":retry": "retry"}),
        )
    except Exception as error:
        if is_conditional_failure(error):
            raise DuplicateUpdate(str(update_id)) from None
        raise


def release_update(table: Table, bot_id: str, update_id: int) -> None:
    """Let Telegram's redelivery of this update be handled again (a transient failure)."""
    table.update(
        *keys.telegram_update(bot_id, update_id),
        "SET #status = :retry",
        {":retry": "retry"},
        names={"#status": "status"},
        condition="attribute_exists(pk)",
    )


# -- leads ----------------------------------------------------------------------------------------


def read_start(table: Table, bot_id: str, user_id: int, token: str | None) -> tuple[dict[str, Any] | None, ...]:
    """(click, lead) in one BatchGetItem; the click under the names its lead copies (``click_fields``)."""
    from funil.click.fields import click_fields  # the webhook's alone among this module's importers

    wanted: list[tuple[str, str]] = [keys.lead(bot_id, user_id)]
    if token:
        wanted.append(keys.click(token))
    found = {(item["pk"], item["sk"]): item for item in table.batch_get(wanted)}
    stored = found.get(keys.click(token)) if token else None
    click = click_fields(stored, visitor=True) if stored is not None else None
    return click, found.get(keys.lead(bot_id, user_id))


def get_lead(table: Table, bot_id: str, user_id: int) -> dict[str, Any] | None:
    return table.get(*keys.lead(bot_id, user_id), consistent=True)


def write_start(
    table: Table,
    *,
    update: dict[str, Any],
    lead_update: tuple[str, dict[str, Any], dict[str, str]],
    tenant_id: str,
    lead_pk: tuple[str, str],
    touch: dict[str, Any],
) -> None:
    """One transaction: the update marker (once), the lead upsert (same tenant only), the touch item."""
    expression, values, names = lead_update
    items: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table.name,
                "Item": serialize(update),
                "ConditionExpression": UPDATE_CONDITION,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": serialize({":retry": "retry"}),
            }
        },
        {
            "Update": {
                "TableName": table.name,
                "Key": serialize({"pk": lead_pk[0], "sk": lead_pk[1]}),
                "UpdateExpression": expression,
                "ConditionExpression": "attribute_not_exists(pk) OR tenant_id = :tenant",
                "ExpressionAttributeValues": serialize({**values, ":tenant": tenant_id}),
                **({"ExpressionAttributeNames": names} if names else {}),
            }
        },
        {"Put": {"TableName": table.name, "Item": serialize(touch)}},
    ]
    try:
        table.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
    except Exception as error:
        reasons = (getattr(error, "response", None) or {}).get("CancellationReasons") or []
        codes = [str(reason.get("Code") or "None") for reason in reasons]
        if codes and codes[0] == "ConditionalCheckFailed":
            raise DuplicateUpdate(str(update.get("update_id"))) from None
        if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
            raise ForeignLead(lead_pk[0]) from None
        raise


def unflag_lead_event(table: Table, bot_id: str, user_id: int, flagged_at: str) -> None:
    """Undo ``lead_event_at`` when the Lead message could not be enqueued (so a retry sends it)."""
    try:
        table.update(
            *keys.lead(bot_id, user_id),
            "REMOVE lead_event_at",
            {":at": flagged_at},
            condition="lead_event_at = :at",
        )
    except Exception as error:
        if not is_conditional_failure(error):
            raise


def mark_lead_unreachable(table: Table, bot_id: str, user_id: int, now: datetime, reason: str) -> None:
    """403 from this user: their state, never the bot's health (docs/architecture.md §9)."""
    try:
        table.update(
            *keys.lead(bot_id, user_id),
            "SET reachable = :no, unreachable_reason = :reason, unreachable_at = :now",
            {":no": False, ":reason": reason[:100], ":now": iso(now)},
            condition="attribute_exists(pk)",
        )
    except Exception as error:
        if not is_conditional_failure(error):
            raise


# -- charges --------------------------------------------------------------------------------------


def get_charge(table: Table, key: tuple[str, str]) -> dict[str, Any] | None:
    return table.get(*key, consistent=True)


def claim_charge(
    table: Table,
    key: tuple[str, str],
    *,
    replaces: str | None,
    fields: Mapping[str, Any],
) -> bool:
    """Point the lead's charge for this offer at a new payment, unless another request just did."""
    item = {"pk": key[0], "sk": key[1], "type": "charge", **fields}
    condition = "attribute_not_exists(pk)" if replaces is None else "payment_id = :old"
    try:
        if replaces is None:
            table.put(item, condition=condition)
        else:
            table.client.put_item(
                TableName=table.name,
                Item=serialize(item),
                ConditionExpression=condition,
                ExpressionAttributeValues=serialize({":old": replaces}),
            )
    except Exception as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def update_fields(table: Table, key: tuple[str, str], fields: Mapping[str, Any], condition: str | None = None) -> None:
    names = {f"#f{index}": name for index, name in enumerate(fields)}
    values = {f":v{index}": value for index, value in enumerate(fields.values())}
    expression = "SET " + ", ".join(f"#f{index} = :v{index}" for index in range(len(fields)))
    table.update(*key, expression, values, names=names, condition=condition or "attribute_exists(pk)")
