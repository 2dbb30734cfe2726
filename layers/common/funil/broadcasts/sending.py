"""Sending a broadcast: the bot's leads, page by page, each person at most once, within Telegram's limits.

One run (a ``{"broadcast_id"}`` message of the broadcast queue), in order:

1. The broadcast item: gone, done or cancelled → nothing (a duplicate message is harmless);
   ``scheduled`` → ``sending``.
2. The bot's send lease (``BOTSEND#<bot>`` / ``LEASE``, conditional put): one run per bot at a time,
   so the bot's pace holds across runs and duplicate messages. Held by another run → the message
   is put back with a delay, and this run ends.
3. The bot's leads from the cursor on (gsi1 ``BOTLEADS#<bot>``, pattern 11, oldest start first), a
   page at a time. Per lead of the segment: opted out (``opted_out_at``) → skipped; known to have
   blocked the bot (``reachable`` false) → blocked; else the recipient ``TO#<user>`` is **claimed**
   (conditional put) before the send, so nobody is ever sent twice, whatever dies when. Then
   sendMessage / sendPhoto with the offers' buttons, paced to ``rate_per_second`` (25 by default;
   Telegram allows about 30 per bot, one message per chat is a broadcast's nature), and the outcome
   recorded on the recipient: sent; blocked (403: the lead is marked unreachable, as the bot does);
   failed (400, Telegram down); a 429 waits ``retry_after`` and tries that person again.
4. After each page the cursor (the index's LastEvaluatedKey) and the counts are written together,
   conditional on ``sending`` (a cancel stops the run here). The last page → ``done``.

Out of time (the function's limit nears) the run stops between two people, releases the lease and
puts its message back: the next run re-walks the page after the checkpoint, where a recipient
already claimed is counted by its recorded status (sent, blocked, failed), never sent again; one
claimed but never recorded (a run that died between the two) is counted ``unknown``. A claimed
person whose 429 wait would outlast the run is released (the claim deleted) and sent next run.

A bot whose token Telegram refuses (401) ends the broadcast (``stopped_reason = bot_token_invalid``).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from funil import encryption, keys
from funil.adapters.dynamo import Table, is_conditional_failure, serialize
from funil.adapters.telegram import (
    BotTokenInvalid,
    Button,
    RateLimited,
    TelegramClient,
    TelegramFailure,
    UserUnreachable,
    markup,
)
from funil.bot import storage, texts
from funil.bot.views import BotView
from funil.broadcasts.runs import CANCELLED, COUNTS, DONE, SCHEDULED, SENDING, matches
from funil.clock import Clock, iso, to_epoch_s
from funil.observability import count
from funil.ports import Secrets

log = logging.getLogger(__name__)

__all__ = ["BroadcastDeps", "message_body", "parse_message", "run"]

RECIPIENT_TTL = timedelta(days=30)  # the claims outlive any run of the broadcast; then they go (personal data)
LEASE_WAIT_SECONDS = 30  # another run has the bot: try again this much later
MAX_RATE_LIMITS = 5  # 429s in a row for one person before it counts as failed
SEND_SECONDS = 2.0  # time kept for one more send when judging whether the run still has time


@dataclass
class BroadcastDeps:
    """What a run needs; ``monotonic`` and ``sleep`` are injectable so tests pace on a fake clock."""

    items: Table
    secrets: Secrets
    telegram: Callable[[str], TelegramClient]  # bot token (decrypted, memory only) → its client
    requeue: Callable[[str, int], None]  # (message body, delay in seconds) → the broadcast queue
    now: Clock
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rate_per_second: float = 25.0
    page_size: int = 100

    def bot(self, bot_id: str) -> BotView | None:
        return storage.load_bot(self.items, bot_id)

    def api(self, bot: BotView) -> TelegramClient | None:
        if not bot.token_ciphertext:
            return None
        return self.telegram(encryption.bot_token(self.secrets, bot.bot_id, bot.token_ciphertext))


def message_body(broadcast_id: str) -> str:
    return json.dumps({"broadcast_id": broadcast_id})


def parse_message(body: str) -> str | None:
    """The broadcast id of a queue message (None: not one of ours; dropped)."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    broadcast_id = decoded.get("broadcast_id") if isinstance(decoded, dict) else None
    if isinstance(broadcast_id, str) and 0 < len(broadcast_id) <= 64 and broadcast_id.isascii():
        return broadcast_id if broadcast_id.replace("_", "").replace("-", "").isalnum() else None
    return None


class _Pace:
    """At most ``rate`` sends a second, evenly spaced (any 1-second window holds ≤ rate + 1)."""

    def __init__(self, rate: float, monotonic: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.gap = 1.0 / rate
        self.monotonic = monotonic
        self.sleep = sleep
        self.next_at = monotonic()

    def wait(self) -> None:
        now = self.monotonic()
        if now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.gap


class _OutOfTime(Exception):
    pass


@dataclass
class _Run:
    deps: BroadcastDeps
    broadcast: dict[str, Any]
    bot: BotView
    api: TelegramClient
    deadline: float
    run_id: str
    pace: _Pace
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # recorded in batches (flush)

    @property
    def broadcast_id(self) -> str:
        return str(self.broadcast["broadcast_id"])

    def time_left(self) -> float:
        return self.deadline - self.deps.monotonic()

    def keyboard(self) -> list[list[Button]]:
        rows = []
        for offer_id in self.broadcast.get("offer_ids") or []:
            offer = self.bot.offer(str(offer_id))
            if offer is not None:  # disabled since: its button is left out
                rows.append([Button(texts.buy_button(offer), callback_data=f"b:{offer.offer_id}")])
        return rows

    # -- one person --

    def claim(self, user_id: int) -> bool:
        key = keys.broadcast_recipient(self.broadcast_id, user_id)
        now = self.deps.now()
        item = {
            "pk": key[0],
            "sk": key[1],
            "type": "broadcast_recipient",
            "broadcast_id": self.broadcast_id,
            "telegram_user_id": user_id,
            "status": "claimed",
            "claimed_at": iso(now),
            "run_id": self.run_id,
            "expires_at": to_epoch_s(now + RECIPIENT_TTL),
        }
        try:
            self.deps.items.put(item, condition="attribute_not_exists(pk)")
        except Exception as error:
            if is_conditional_failure(error):
                return False
            raise
        return True

    def recorded(self, user_id: int) -> str:
        """The status of a recipient claimed before (``claimed`` left by a dead run becomes ``unknown``)."""
        key = keys.broadcast_recipient(self.broadcast_id, user_id)
        found = self.deps.items.get(*key, consistent=True) or {}
        status = str(found.get("status") or "unknown")
        if status == "claimed":
            self._record(user_id, "unknown", expected="claimed")
            return "unknown"
        return status if status in COUNTS else "unknown"

    def _record(self, user_id: int, status: str, *, expected: str = "claimed") -> None:
        key = keys.broadcast_recipient(self.broadcast_id, user_id)
        try:
            self.deps.items.update(
                *key,
                "SET #status = :status, recorded_at = :at",
                {":status": status, ":at": iso(self.deps.now()), ":expected": expected},
                names={"#status": "status"},
                condition="#status = :expected",
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise

    def outcome(self, user_id: int, status: str) -> None:
        """A send's outcome, written with the page's others (``flush``): the claim already guards the person."""
        pk, sk = keys.broadcast_recipient(self.broadcast_id, user_id)
        now = self.deps.now()
        self.outcomes.append(
            {
                "pk": pk,
                "sk": sk,
                "type": "broadcast_recipient",
                "broadcast_id": self.broadcast_id,
                "telegram_user_id": user_id,
                "status": status,
                "run_id": self.run_id,
                "recorded_at": iso(now),
                "expires_at": to_epoch_s(now + RECIPIENT_TTL),
            }
        )

    def flush(self) -> None:
        """The outcomes so far, 25 per BatchWriteItem (a run that dies first leaves them ``unknown``)."""
        pending = [{"PutRequest": {"Item": serialize(item)}} for item in self.outcomes]
        self.outcomes.clear()
        table, client = self.deps.items.name, self.deps.items.client
        for start in range(0, len(pending), 25):
            requests = pending[start : start + 25]
            for _attempt in range(8):
                answer = client.batch_write_item(RequestItems={table: requests})  # type: ignore[dict-item]
                requests = list((answer.get("UnprocessedItems") or {}).get(table) or [])  # type: ignore[arg-type]
                if not requests:
                    break
                self.deps.sleep(0.05 * (_attempt + 1))
            if requests:
                raise RuntimeError(f"{len(requests)} broadcast outcomes left unwritten")

    def release(self, user_id: int) -> None:
        """Give back a claim this run made and did not use (the person is sent by a later run)."""
        pk, sk = keys.broadcast_recipient(self.broadcast_id, user_id)
        try:
            self.deps.items.client.delete_item(
                TableName=self.deps.items.name,
                Key={"pk": {"S": pk}, "sk": {"S": sk}},
                ConditionExpression="run_id = :run AND #status = :claimed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":run": {"S": self.run_id}, ":claimed": {"S": "claimed"}},
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise

    def send(self, user_id: int, keyboard: list[list[Button]]) -> str:
        """sent | blocked | failed, after waiting out 429s; _OutOfTime when a wait would outlast the run."""
        text, photo = str(self.broadcast["text"]), self.broadcast.get("photo_url")
        for _attempt in range(MAX_RATE_LIMITS):
            self.pace.wait()
            try:
                if photo:
                    self.api.call(
                        self.api.bot.send_photo(
                            user_id, str(photo), caption=text, parse_mode="HTML", reply_markup=markup(keyboard)
                        )
                    )
                else:
                    self.api.send_message(user_id, text, keyboard=keyboard or None, parse_mode="HTML")
                return "sent"
            except UserUnreachable as error:
                storage.mark_lead_unreachable(self.deps.items, self.bot.bot_id, user_id, self.deps.now(), str(error))
                return "blocked"
            except RateLimited as error:
                count("BroadcastRateLimited")
                if error.retry_after + SEND_SECONDS > self.time_left():
                    raise _OutOfTime from None
                self.deps.sleep(error.retry_after)
                self.pace.next_at = max(self.pace.next_at, self.deps.monotonic())
            except BotTokenInvalid:
                raise
            except TelegramFailure as error:
                log.warning("broadcast send failed", extra={"reason": type(error).__name__})
                return "failed"
        return "failed"


# -- a run ----------------------------------------------------------------------------------------


def _lease(deps: BroadcastDeps, bot_id: str, run_id: str, broadcast_id: str, seconds: float) -> bool:
    """The bot's send lease for ``seconds`` (taken over once the holder's time is up: a dead run)."""
    now = to_epoch_s(deps.now())
    pk, sk = keys.bot_send_lease(bot_id)
    item = {
        "pk": pk,
        "sk": sk,
        "type": "bot_send_lease",
        "run_id": run_id,
        "broadcast_id": broadcast_id,
        "until": now + int(seconds) + 1,
        "expires_at": now + 86_400,
    }
    try:
        deps.items.client.put_item(
            TableName=deps.items.name,
            Item=serialize(item),
            ConditionExpression="attribute_not_exists(pk) OR #until < :now",
            ExpressionAttributeNames={"#until": "until"},
            ExpressionAttributeValues={":now": {"N": str(now)}},
        )
    except Exception as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def _unlease(deps: BroadcastDeps, bot_id: str, run_id: str) -> None:
    pk, sk = keys.bot_send_lease(bot_id)
    try:
        deps.items.client.delete_item(
            TableName=deps.items.name,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConditionExpression="run_id = :run",
            ExpressionAttributeValues={":run": {"S": run_id}},
        )
    except Exception as error:
        if not is_conditional_failure(error):
            raise


def _set_status(deps: BroadcastDeps, broadcast_id: str, expression: str, values: Mapping[str, Any]) -> bool:
    """One write conditional on the broadcast still ``sending``; False: it was cancelled meanwhile."""
    try:
        deps.items.update(
            *keys.broadcast(broadcast_id),
            expression,
            {**values, ":sending": SENDING},
            names={"#status": "status", "#cursor": "cursor"} if "#cursor" in expression else {"#status": "status"},
            condition="#status = :sending",
        )
    except Exception as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def run(deps: BroadcastDeps, broadcast_id: str, *, budget_seconds: float, run_id: str) -> str:
    """One run of a broadcast (see the module's docstring). Returns what it did, for the logs."""
    deadline = deps.monotonic() + budget_seconds
    broadcast = deps.items.get(*keys.broadcast(broadcast_id), consistent=True)
    if broadcast is None or broadcast.get("type") != "broadcast":
        return "unknown_broadcast"
    status = broadcast.get("status")
    if status in (DONE, CANCELLED):
        return f"already_{status}"
    resumed = status == SENDING
    if status == SCHEDULED:
        try:
            deps.items.update(
                *keys.broadcast(broadcast_id),
                "SET #status = :sending, started_at = :now",
                {":sending": SENDING, ":scheduled": SCHEDULED, ":now": iso(deps.now())},
                names={"#status": "status"},
                condition="#status = :scheduled",
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            return "raced"  # cancelled or started meanwhile: the message that started it carries on
    bot_id = str(broadcast["bot_id"])
    if not _lease(deps, bot_id, run_id, broadcast_id, budget_seconds + 60):
        deps.requeue(message_body(broadcast_id), LEASE_WAIT_SECONDS)
        return "bot_busy"
    try:
        return _send_pages(deps, broadcast, deadline, run_id, resumed)
    finally:
        _unlease(deps, bot_id, run_id)


def _finish(deps: BroadcastDeps, broadcast_id: str, counts: Mapping[str, int], reason: str | None = None) -> str:
    values: dict[str, Any] = {":done": DONE, ":now": iso(deps.now()), ":counts": dict(counts)}
    expression = "SET #status = :done, finished_at = :now, counts = :counts"
    if reason:
        expression += ", stopped_reason = :reason"
        values[":reason"] = reason
    return "done" if _set_status(deps, broadcast_id, expression + " REMOVE #cursor", values) else "cancelled"


class _Halt(Exception):
    """The run ends inside a page: ``why`` is its outcome (out of time, a refused token)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _visit(sender: _Run, lead: dict[str, Any], keyboard: list[list[Button]], rewalk: bool, page: Counter[str]) -> None:
    """One lead of the page: counted, and sent to at most once (see the module's docstring)."""
    user_id = int(lead["telegram_user_id"])
    page["matched"] += 1
    if lead.get("opted_out_at"):
        page["skipped"] += 1
        return
    if lead.get("reachable") is False:
        page["blocked"] += 1
        return
    if sender.time_left() < SEND_SECONDS:
        raise _Halt("out_of_time")
    if not sender.claim(user_id):
        if rewalk:
            page[sender.recorded(user_id)] += 1
        else:  # seen twice in one walk: a new /start moved the lead further down the index
            page["matched"] -= 1
        return
    try:
        outcome = sender.send(user_id, keyboard)
    except _OutOfTime:
        sender.release(user_id)
        raise _Halt("out_of_time") from None
    except BotTokenInvalid:
        sender.release(user_id)
        raise _Halt("bot_token_invalid") from None
    sender.outcome(user_id, outcome)
    page[outcome] += 1


def _send_pages(deps: BroadcastDeps, broadcast: dict[str, Any], deadline: float, run_id: str, resumed: bool) -> str:
    broadcast_id, bot_id = str(broadcast["broadcast_id"]), str(broadcast["bot_id"])
    counts: Counter[str] = Counter({name: int((broadcast.get("counts") or {}).get(name) or 0) for name in COUNTS})
    bot = deps.bot(bot_id)
    api = deps.api(bot) if bot is not None else None
    if bot is None or api is None or bot.tenant_id != broadcast.get("tenant_id"):
        return _finish(deps, broadcast_id, counts, "bot_unavailable")
    sender = _Run(deps, broadcast, bot, api, deadline, run_id, _Pace(deps.rate_per_second, deps.monotonic, deps.sleep))
    keyboard = sender.keyboard()
    segment = broadcast.get("segment") or {}
    cursor = broadcast.get("cursor")
    rewalk = resumed  # the first page after a checkpoint may hold people a previous run reached
    while True:
        leads, last = deps.items.query_page(
            "gsi1pk = :pk",
            {":pk": keys.bot_leads_index(bot_id, "")["gsi1pk"]},
            index="gsi1",
            limit=deps.page_size,
            start=cursor,
        )
        page: Counter[str] = Counter()
        try:
            for lead in leads:
                if lead.get("type") == "lead" and lead.get("tenant_id") == bot.tenant_id and matches(segment, lead):
                    _visit(sender, lead, keyboard, rewalk, page)
        except _Halt as halt:
            sender.flush()
            if halt.why == "bot_token_invalid":
                storage.mark_bot_health(deps.items, bot_id, "token_invalid", "telegram_401", deps.now())
                return _finish(deps, broadcast_id, counts + page, halt.why)
            return _stop(deps, broadcast_id, halt.why)  # the checkpoint stands: the next run re-walks this page
        sender.flush()
        counts.update(page)
        if page["sent"]:
            count("BroadcastMessagesSent", page["sent"])
        if last is None:
            return _finish(deps, broadcast_id, counts)
        checkpoint = {":cursor": last, ":counts": {name: counts[name] for name in COUNTS}}
        if not _set_status(deps, broadcast_id, "SET #cursor = :cursor, counts = :counts", checkpoint):
            return "cancelled"
        cursor, rewalk = last, False


def _stop(deps: BroadcastDeps, broadcast_id: str, why: str) -> str:
    """Out of time: the checkpoint stands; the next run (this message, put back) carries on from it."""
    deps.requeue(message_body(broadcast_id), 0)
    return why
