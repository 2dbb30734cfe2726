"""Incidents: one per (tenant, kind, subject) while it lasts, one notice when it opens and one when it
resolves (docs/alerts.md).

- ``open`` is a conditional put: it writes only when no incident of that key is open (none yet, or
  the last one resolved). Whoever's put wins sends the ``open`` notice; everyone else learns the
  incident is already open and sends nothing — a thousand failures make one message.
- ``resolve`` is a conditional update: only an open incident is resolved, once, and its winner sends
  the ``resolved`` notice. It removes the sparse open-incidents index keys (pattern 54).
- Failure sites call ``open``/``resolve`` through ``AlertSink``; those calls never raise: an alert
  that cannot be written is logged and dropped, the sale goes on.

An incident's item is overwritten when the same (kind, subject) opens again, with a new id: the
tenant's list shows each subject's latest incident.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from funil import keys
from funil.adapters.dynamo import is_conditional_failure
from funil.clock import Clock, iso, parse_iso, to_epoch_s, utc_now
from funil.event_kinds import AlertKind
from funil.ports import Items, MessageQueue

log = logging.getLogger(__name__)

RESOLVED_KEPT_DAYS = 30  # TTL of a resolved incident's item (tidying only; lists compare times)
DETAIL_MAX = 500


class AlertSink(Protocol):
    """What a failure site is given: open or resolve an incident, never raising."""

    def open(self, tenant_id: str, kind: AlertKind, subject: str, detail: str = "") -> bool: ...

    def resolve(self, tenant_id: str, kind: AlertKind, subject: str, detail: str = "") -> bool: ...


class NoAlerts:
    """Alerts switched off (a test, a tool): nothing is written, nothing is sent."""

    def open(self, tenant_id: str, kind: AlertKind, subject: str, detail: str = "") -> bool:
        return False

    def resolve(self, tenant_id: str, kind: AlertKind, subject: str, detail: str = "") -> bool:
        return False


NO_ALERTS = NoAlerts()


def new_incident_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Incidents:
    """The incident items (patterns 53, 54) and their notices on the notifications queue.

    Args:
        items: the application table.
        notices: the notifications queue (``None``: incidents are recorded, no notice is sent).
        now: the clock.
        new_id: mints an incident's id.
        on_open: called with the kind when an incident opens (the ``Incidents`` metric).
    """

    items: Items
    notices: MessageQueue | None
    now: Clock = utc_now
    new_id: Callable[[], str] = new_incident_id
    on_open: Callable[[AlertKind], None] = field(default=lambda kind: None)

    # -- the failure sites' side (never raises) ------------------------------------------------------

    def open(self, tenant_id: str, kind: AlertKind, subject: str, detail: str = "") -> bool:
        """Open the incident unless one is open; True when this call opened it (and sent its notice)."""
        try:
            return self._open(tenant_id, kind, subject, detail)
        except Exception:
            log.exception("alert not recorded", extra={"tenant_id": tenant_id, "kind": kind, "subject": subject})
            return False

    def resolve(self, tenant_id: str, kind: AlertKind, subject: str, detail: str = "") -> bool:
        """Resolve the incident if it is open; True when this call resolved it (and sent its notice)."""
        try:
            return self.resolve_open(tenant_id, kind, subject, detail, by="auto") is not None
        except Exception:
            log.exception("alert not resolved", extra={"tenant_id": tenant_id, "kind": kind, "subject": subject})
            return False

    # -- reading and the operator's side ------------------------------------------------------------

    def open_of_kind(self, kind: AlertKind) -> Iterator[dict[str, Any]]:
        """Pattern 54: every open incident of a kind, every tenant, oldest first."""
        index = keys.open_incident_index(kind)
        yield from self.items.query("gsi2pk = :pk", {":pk": index["gsi2pk"]}, index="gsi2")

    def of_tenant(self, tenant_id: str, kind: AlertKind | None = None) -> list[dict[str, Any]]:
        """Pattern 53: a tenant's incidents (each subject's latest), of one kind when given."""
        pk, prefix = keys.tenant_incidents(tenant_id, kind.value if kind else "")
        return list(self.items.query("pk = :pk AND begins_with(sk, :sk)", {":pk": pk, ":sk": prefix}))

    def resolve_open(
        self, tenant_id: str, kind: AlertKind, subject: str, detail: str = "", *, by: str = "auto"
    ) -> dict[str, Any] | None:
        """The conditional update; the resolved item, or None when it was not open. Raises on AWS errors."""
        now = self.now()
        try:
            item = self.items.update(
                *keys.incident(tenant_id, kind.value, subject),
                "SET #state = :resolved, resolved_at = :now, resolved_by = :by, resolve_detail = :detail,"
                " updated_at = :now, expires_at = :expires REMOVE gsi2pk, gsi2sk",
                {
                    ":resolved": "resolved",
                    ":now": iso(now),
                    ":by": by,
                    ":detail": detail[:DETAIL_MAX],
                    ":expires": to_epoch_s(now + timedelta(days=RESOLVED_KEPT_DAYS)),
                },
                condition="attribute_exists(gsi2pk)",
                names={"#state": "state"},
                return_values="ALL_NEW",
            )
        except Exception as error:
            if is_conditional_failure(error):
                return None
            raise
        log.info("incident resolved", extra={"tenant_id": tenant_id, "kind": kind.value, "subject": subject})
        self._notify(item, "resolved", now)
        return item

    def resolve_by_id(self, tenant_id: str, incident_id: str, *, by: str) -> dict[str, Any] | None:
        """The operator resolves one of the tenant's incidents by id: the item as it now is (already
        resolved: unchanged, no second notice), None when the tenant has no such incident."""
        for item in self.of_tenant(tenant_id):
            if item.get("incident_id") != incident_id:
                continue
            if not item.get("gsi2pk"):
                return item
            kind = AlertKind(str(item["kind"]))
            resolved = self.resolve_open(tenant_id, kind, str(item["subject"]), "resolved by hand", by=by)
            return resolved or self.items.get(*keys.incident(tenant_id, kind.value, str(item["subject"])), True)
        return None

    # -- inside -------------------------------------------------------------------------------------

    def _open(self, tenant_id: str, kind: AlertKind, subject: str, detail: str) -> bool:
        now = self.now()
        pk, sk = keys.incident(tenant_id, kind.value, subject)
        item = {
            "pk": pk,
            "sk": sk,
            "type": "incident",
            "tenant_id": tenant_id,
            "incident_id": self.new_id(),
            "kind": kind.value,
            "subject": subject,
            "state": "open",
            "detail": detail[:DETAIL_MAX],
            "opened_at": iso(now),
            "updated_at": iso(now),
            **keys.open_incident_index(kind.value, iso(now), tenant_id, subject),
        }
        try:
            # Open ⇔ the sparse index keys are on the item: none yet, or the last one resolved.
            self.items.put(item, condition="attribute_not_exists(gsi2pk)")
        except Exception as error:
            if is_conditional_failure(error):
                return False  # already open: this failure is part of it
            raise
        log.warning("incident opened", extra={"tenant_id": tenant_id, "kind": kind.value, "subject": subject})
        self._notify(item, "open", now)
        self.on_open(kind)
        return True

    def _notify(self, item: dict[str, Any], state: Literal["open", "resolved"], now: datetime) -> None:
        if self.notices is None:
            return
        from funil.messages import AlertNotice  # pydantic only once there is a notice to send

        notice = AlertNotice(
            tenant_id=str(item["tenant_id"]),
            incident_id=str(item["incident_id"]),
            kind=AlertKind(item["kind"]),
            state=state,
            subject=str(item["subject"]),
            detail=str(item.get("detail") if state == "open" else item.get("resolve_detail") or "")[:DETAIL_MAX],
            occurred_at=now,
        )
        try:
            self.notices.send(notice.model_dump_json(), {"type": "alert", "notice_id": notice.notice_id})
        except Exception:
            # The incident stands (the operator's list shows it); its message is lost, not retried.
            log.exception("alert notice not queued", extra={"notice_id": notice.notice_id})


def incident_view(item: dict[str, Any]) -> dict[str, Any]:
    """An incident as the operator's API answers it."""
    return {
        "id": item.get("incident_id"),
        "kind": item.get("kind"),
        "subject": item.get("subject"),
        "state": item.get("state"),
        "detail": item.get("detail") or "",
        "opened_at": item.get("opened_at"),
        "resolved_at": item.get("resolved_at"),
        "resolved_by": item.get("resolved_by"),
    }


def open_and_recent(items: list[dict[str, Any]], now: datetime, recent_days: int) -> list[dict[str, Any]]:
    """The open incidents and those resolved within ``recent_days``, newest first."""
    since = now - timedelta(days=recent_days)
    kept = [
        item
        for item in items
        if item.get("state") == "open" or (item.get("resolved_at") and parse_iso(str(item["resolved_at"])) >= since)
    ]
    return sorted(kept, key=lambda item: str(item.get("opened_at") or ""), reverse=True)
