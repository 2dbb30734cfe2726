"""The stored items a conversion event is built from, loaded in few batch reads.

Shared by the Meta sender (``funil.conversions.sender``) and the destinations beyond Meta
(``funil.destinations.sending``): apart from the sender so that the destinations import neither
the Graph client nor the sender's logic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from funil import clock, keys
from funil.click.fields import PERSONAL_FIELDS, click_fields
from funil.conversions.builder import Sources
from funil.messages import ConversionMessage
from funil.ports import BatchReads

__all__ = ["SourceLoader", "with_click_personal_fields"]


def with_click_personal_fields(
    item: dict[str, Any], found: Mapping[tuple[str, str], Mapping[str, Any]], now_s: int
) -> dict[str, Any]:
    """A lead's or payment's item with its click's raw request data back in its attribution snapshot,
    while that click lives (``expires_at`` checked: DynamoDB deletes expired items days late) and
    belongs to the same tenant; any other item as it is."""
    attribution = item.get("attribution")
    if item.get("type") not in ("lead", "payment") or not isinstance(attribution, Mapping):
        return item
    token = attribution.get("click_token")
    click = found.get(keys.click(str(token))) if token else None
    if click is None or click.get("tenant_id") != item.get("tenant_id"):
        return item
    expires_at = click.get("expires_at")
    if not isinstance(expires_at, int | Decimal) or int(expires_at) <= now_s:
        return item
    fields = click_fields(click)
    restored = {name: fields[name] for name in PERSONAL_FIELDS if fields.get(name) not in (None, "", {})}
    return {**item, "attribution": {**restored, **attribution}}


class SourceLoader:
    """Loads, in few batch reads, the items a batch of messages refers to."""

    def __init__(self, items: BatchReads) -> None:
        self.items = items

    def _get_many(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        wanted = list(dict.fromkeys(pairs))
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(wanted), 100):
            for item in self.items.batch_get(wanted[start : start + 100]):
                found[(str(item["pk"]), str(item["sk"]))] = item
        return found

    def load(self, messages: Sequence[ConversionMessage], now: datetime) -> list[Sources]:
        """``now``: whether the clicks the snapshots name (their raw IP/UA) still live."""
        wanted: list[tuple[str, str]] = []
        for message in messages:
            refs = message.refs
            if message.pixel_id:
                wanted.append(keys.pixel(message.pixel_id))
            if refs.click_token:
                wanted.append(keys.click(refs.click_token))
            if refs.bot_id and refs.telegram_user_id is not None:
                wanted.append(keys.lead(refs.bot_id, refs.telegram_user_id))
            if refs.payment_id:
                wanted.append(keys.payment(refs.payment_id))
                wanted.append(keys.payer(refs.payment_id))  # who paid, once the gateway said (may be absent)
            wanted.append(keys.tenant(message.tenant_id))  # its default country
        found = self._get_many(wanted)
        # The lead of each payment (its Telegram profile), when the message did not name it.
        lead_keys = []
        for message in messages:
            payment = found.get(keys.payment(message.refs.payment_id)) if message.refs.payment_id else None
            if payment and payment.get("bot_id") and payment.get("telegram_user_id") is not None:
                lead_keys.append(keys.lead(payment["bot_id"], payment["telegram_user_id"]))
        found.update(self._get_many(key for key in lead_keys if key not in found))
        # The visitor's raw IP/UA live only on the click (it expires with the attribution window):
        # the snapshots name it by token, and the builder reads them from the snapshot as before.
        snapshot_clicks = [
            keys.click(str(item["attribution"]["click_token"]))
            for item in list(found.values())
            if isinstance(item.get("attribution"), Mapping) and item["attribution"].get("click_token")
        ]
        found.update(self._get_many(key for key in snapshot_clicks if key not in found))
        for key, item in list(found.items()):
            found[key] = with_click_personal_fields(item, found, clock.to_epoch_s(now))
        sources = []
        for message in messages:
            refs = message.refs
            payment = found.get(keys.payment(refs.payment_id)) if refs.payment_id else None
            lead = None
            if refs.bot_id and refs.telegram_user_id is not None:
                lead = found.get(keys.lead(refs.bot_id, refs.telegram_user_id))
            elif payment and payment.get("bot_id"):
                lead = found.get(keys.lead(payment["bot_id"], str(payment.get("telegram_user_id"))))
            click = found.get(keys.click(refs.click_token)) if refs.click_token else None
            sources.append(
                Sources(
                    pixel=found.get(keys.pixel(message.pixel_id)) if message.pixel_id else None,
                    click=click_fields(click) if click is not None else None,  # stored compact
                    lead=lead,
                    payment=payment,
                    payer=found.get(keys.payer(refs.payment_id)) if refs.payment_id else None,
                    tenant=found.get(keys.tenant(message.tenant_id)),
                )
            )
        return sources
