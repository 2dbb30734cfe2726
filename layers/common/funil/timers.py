"""Work due at a time, found by an index, never by a scan (docs/data-model.md pattern 43).

An item with work due (a buyer's access that is about to end, an unpaid PIX to follow up, a
broadcast to start) carries ``timer = <kind>`` and the sparse index ``gsi2pk = DUE#<shard>``,
``gsi2sk = <due ISO>#<pk>#<sk>``. ``TimersFunction`` runs every minute: per shard, the items whose
due time has come, soonest first; each is claimed by moving its ``gsi2sk`` a lease ahead,
conditional on the value it read, so one runner acts on it at a time; the kind's handler acts and
returns when the item is next due (``None``: nothing more), and the runner sets that, conditional
on its own lease. A runner that dies leaves the item due again when the lease ends; an item whose
handler keeps failing is given up after ``MAX_ATTEMPTS`` (index removed, ``timer_failed`` set,
an alarmed anomaly), never retried forever.

Whoever changes an item's schedule outside a run (a renewal that moves an access's end) calls
``schedule``: it replaces the due time and breaks any lease, so a run in progress cannot write its
stale next time over the new one.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from funil import keys
from funil.clock import Clock, iso
from funil.observability import anomaly

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5
PAGE = 100  # due items read per shard per query

# (the item as claimed, now) → when it is next due, or None when its work is done
Handler = Callable[[dict[str, Any], datetime], datetime | None]


def schedule(items: Any, key: tuple[str, str], kind: str, due_at: datetime | None) -> None:
    """Set (or, with ``None``, clear) an item's due time; breaks any run's lease on it."""
    pk, sk = key
    if due_at is None:
        items.update(
            pk,
            sk,
            "REMOVE gsi2pk, gsi2sk, timer_lease, timer_attempts",
            {":kind": kind},
            condition="attribute_not_exists(timer) OR timer = :kind",
        )
        return
    index = keys.due_index(pk, sk, iso(due_at))
    items.update(
        pk,
        sk,
        "SET timer = :kind, gsi2pk = :gsi2pk, gsi2sk = :gsi2sk REMOVE timer_lease, timer_attempts",
        {":kind": kind, ":gsi2pk": index["gsi2pk"], ":gsi2sk": index["gsi2sk"]},
    )


def due_attributes(key: tuple[str, str], kind: str, due_at: datetime) -> dict[str, str]:
    """The attributes that make an item due at ``due_at``, for an item written whole (put)."""
    return {"timer": kind, **keys.due_index(key[0], key[1], iso(due_at))}


def run_due(
    items: Any,
    handlers: Mapping[str, Handler],
    now: Clock,
    *,
    budget_seconds: float,
    new_lease_id: Callable[[], str],
    monotonic: Callable[[], float] = time.monotonic,
) -> dict[str, int]:
    """Act on every item due by now, shard by shard, until done or out of time. Returns counts."""
    counts: Counter[str] = Counter()
    deadline = monotonic() + budget_seconds
    for shard in range(keys.DUE_SHARDS):
        partition = keys.due_shard_index(shard)["gsi2pk"]
        while monotonic() < deadline:
            moment = now()
            due = list(
                items.query(
                    "gsi2pk = :pk AND gsi2sk <= :now",
                    {":pk": partition, ":now": f"{iso(moment)}#\uffff"},
                    index="gsi2",
                    limit=PAGE,
                )
            )
            if not due:
                break
            for item in due:
                if monotonic() >= deadline:
                    counts["out_of_time"] += 1
                    break
                counts[_run_one(items, handlers, item, now(), new_lease_id())] += 1
            if len(due) < PAGE:
                break
    return dict(counts)


def _run_one(items: Any, handlers: Mapping[str, Handler], seen: dict[str, Any], now: datetime, lease: str) -> str:
    from funil.adapters.dynamo import is_conditional_failure

    pk, sk, kind = str(seen["pk"]), str(seen["sk"]), str(seen.get("timer") or "")
    handler = handlers.get(kind)
    leased = keys.due_index(pk, sk, iso(now + LEASE))["gsi2sk"]
    try:
        claimed = items.update(
            pk,
            sk,
            "SET gsi2sk = :leased, timer_lease = :lease ADD timer_attempts :one",
            {":leased": leased, ":lease": lease, ":seen": seen["gsi2sk"], ":one": 1},
            condition="gsi2sk = :seen",
            return_values="ALL_NEW",
        )
    except Exception as error:
        if is_conditional_failure(error):
            return "taken"  # another run has it, or its schedule just changed
        raise
    if handler is None or int(claimed.get("timer_attempts") or 0) > MAX_ATTEMPTS:
        anomaly("timer_given_up", "due work given up", timer=kind, attempts=claimed.get("timer_attempts"))
        _finish(items, pk, sk, lease, None, failed=True)
        return "given_up"
    try:
        next_due = handler(claimed, now)
    except Exception:
        log.exception("due work failed; retried after its lease", extra={"timer": kind})
        return "failed"
    _finish(items, pk, sk, lease, next_due)
    return f"{kind}_{'rescheduled' if next_due else 'done'}"


def _finish(items: Any, pk: str, sk: str, lease: str, next_due: datetime | None, *, failed: bool = False) -> None:
    from funil.adapters.dynamo import is_conditional_failure

    values: dict[str, Any] = {":lease": lease}
    if next_due is not None:
        values[":gsi2sk"] = keys.due_index(pk, sk, iso(next_due))["gsi2sk"]
        expression = "SET gsi2sk = :gsi2sk REMOVE timer_lease, timer_attempts"
    elif failed:
        expression = "SET timer_failed = :yes REMOVE gsi2pk, gsi2sk, timer_lease"
        values[":yes"] = True
    else:
        expression = "REMOVE gsi2pk, gsi2sk, timer_lease, timer_attempts"
    try:
        items.update(pk, sk, expression, values, condition="timer_lease = :lease")
    except Exception as error:
        if not is_conditional_failure(error):
            raise
        log.info("due work rescheduled while it ran: the new schedule stands", extra={"sk": sk})
