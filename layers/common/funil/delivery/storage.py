"""The delivery record ``PAYMENT#<payment>`` / ``DELIVERY`` and the invite-link index.

The record is the claim that makes a payment's delivery happen once: a conditional update leases it
(``status = in_progress``, ``claim_id``, ``claim_expires_at``) unless it is final (delivered,
unreachable, undeliverable) or leased by a live consumer. It also keeps the invite link created for
the buyer, so a retry reuses it instead of creating another. ``INVITE#<sha256 of link>`` / ``INVITE``
names the buyer of each link, for approving join requests only for them. A refund revokes the
buyer's link (``revoked_at`` on the INVITE item, ``access_revoked_at`` on the record).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from funil import keys
from funil.adapters.dynamo import is_conditional_failure
from funil.clock import iso, to_epoch_s
from funil.delivery.models import FINAL_STATUSES, DeliveryStatus
from funil.ports import Items

RECORD_TTL_DAYS = 400
_CLAIMABLE = (
    "attribute_not_exists(pk) OR (#status <> :delivered AND #status <> :unreachable AND #status <> :undeliverable "
    "AND (attribute_not_exists(claim_expires_at) OR claim_expires_at < :now_s))"
)


@dataclass(frozen=True, slots=True)
class DeliveryClaim:
    claim_id: str
    record: dict[str, Any]  # the record after the claim (invite link of an earlier attempt…)


@dataclass(frozen=True, slots=True)
class Busy:
    """Not claimed: final (``final``) or leased by another consumer."""

    record: dict[str, Any]

    @property
    def final(self) -> bool:
        return self.record.get("status") in FINAL_STATUSES


class DeliveryRecords:
    def __init__(self, items: Items, lease_seconds: int = 60) -> None:
        self.items = items
        self.lease_seconds = lease_seconds

    def claim(self, payment: dict[str, Any], claim_id: str, now: datetime) -> DeliveryClaim | Busy:
        pk, sk = keys.delivery_record(str(payment["payment_id"]))
        try:
            record = self.items.update(
                pk,
                sk,
                "SET #status = :claimed, claim_id = :claim, claim_expires_at = :lease, updated_at = :now, "
                "#type = :type, tenant_id = :tenant, payment_id = :payment, bot_id = :bot, "
                "telegram_user_id = :user, expires_at = :ttl ADD attempts :one",
                {
                    ":claimed": DeliveryStatus.IN_PROGRESS.value,
                    ":claim": claim_id,
                    ":lease": to_epoch_s(now) + self.lease_seconds,
                    ":now": iso(now),
                    ":now_s": to_epoch_s(now),
                    ":type": "delivery",
                    ":tenant": payment.get("tenant_id"),
                    ":payment": payment["payment_id"],
                    ":bot": payment.get("bot_id"),
                    ":user": payment.get("telegram_user_id"),
                    ":ttl": to_epoch_s(now + timedelta(days=RECORD_TTL_DAYS)),
                    ":one": 1,
                    ":delivered": DeliveryStatus.DELIVERED.value,
                    ":unreachable": DeliveryStatus.UNREACHABLE.value,
                    ":undeliverable": DeliveryStatus.UNDELIVERABLE.value,
                },
                condition=_CLAIMABLE,
                names={"#status": "status", "#type": "type"},
                return_values="ALL_NEW",
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            return Busy(self.items.get(pk, sk, consistent=True) or {})
        return DeliveryClaim(claim_id, record)

    def _finish(self, payment_id: str, claim_id: str, expression: str, values: dict[str, Any]) -> None:
        pk, sk = keys.delivery_record(payment_id)
        self.items.update(
            pk,
            sk,
            expression,
            {":claim": claim_id, **values},
            condition="claim_id = :claim",
            names={"#status": "status"} if "#status" in expression else None,
        )

    def keep_invite_link(self, payment_id: str, claim_id: str, invite_link: str, chat_id: int) -> None:
        self._finish(
            payment_id,
            claim_id,
            "SET invite_link = :link, invite_chat_id = :chat",
            {":link": invite_link, ":chat": chat_id},
        )

    def delivered(self, payment_id: str, claim_id: str, message_id: int | None, now: datetime) -> None:
        self._finish(
            payment_id,
            claim_id,
            "SET #status = :status, delivered_at = :now, updated_at = :now, message_id = :message "
            "REMOVE claim_expires_at",
            {":status": DeliveryStatus.DELIVERED.value, ":now": iso(now), ":message": message_id},
        )

    def final(self, payment_id: str, claim_id: str, status: DeliveryStatus, reason: str, now: datetime) -> None:
        self._finish(
            payment_id,
            claim_id,
            "SET #status = :status, reason = :reason, updated_at = :now REMOVE claim_expires_at",
            {":status": status.value, ":reason": reason, ":now": iso(now)},
        )

    def release(self, payment_id: str, claim_id: str, reason: str, now: datetime) -> None:
        """Give the lease back so the retried message can claim at once."""
        self._finish(
            payment_id,
            claim_id,
            "SET #status = :status, reason = :reason, updated_at = :now, claim_expires_at = :zero",
            {":status": DeliveryStatus.RETRY.value, ":reason": reason, ":now": iso(now), ":zero": 0},
        )

    def get(self, payment_id: str) -> dict[str, Any] | None:
        return self.items.get(*keys.delivery_record(payment_id), consistent=True)

    # -- invite links -------------------------------------------------------------------------------

    def index_invite(
        self, invite_link: str, payment: dict[str, Any], chat_id: int, join_request: bool, now: datetime
    ) -> None:
        pk, sk = keys.invite(invite_link)
        self.items.put(
            {
                "pk": pk,
                "sk": sk,
                "type": "invite",
                "tenant_id": payment.get("tenant_id"),
                "payment_id": payment["payment_id"],
                "bot_id": payment.get("bot_id"),
                "telegram_user_id": payment.get("telegram_user_id"),
                "chat_id": chat_id,
                "creates_join_request": join_request,
                "created_at": iso(now),
                "expires_at": to_epoch_s(now + timedelta(days=RECORD_TTL_DAYS)),
            }
        )

    def invite(self, invite_link: str) -> dict[str, Any] | None:
        return self.items.get(*keys.invite(invite_link), consistent=True)

    # -- a refund takes the access back ---------------------------------------------------------------

    def mark_invite_revoked(self, invite_link: str, now: datetime) -> None:
        """Join requests through this link are declined from now on (the first time is kept)."""
        try:
            self.items.update(
                *keys.invite(invite_link),
                "SET revoked_at = if_not_exists(revoked_at, :now)",
                {":now": iso(now)},
                condition="attribute_exists(pk)",
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise

    def access_revoked(self, payment_id: str, now: datetime, outcome: str) -> None:
        """The record's last word on a refund: ``revoked`` (the link), ``already_used``, ``bot_not_in_chat``."""
        self.items.update(
            *keys.delivery_record(payment_id),
            "SET access_revoked_at = if_not_exists(access_revoked_at, :now), access_revoke = :outcome",
            {":now": iso(now), ":outcome": outcome},
            condition="attribute_exists(pk)",
        )
