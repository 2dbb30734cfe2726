"""Lambda's DynamoDB Streams event source mapping, locally: read a table's stream in moto, invoke with
Lambda's DynamoDB event, checkpoint, retry, bisect, and report what was given up to OnFailure.

Semantics follow AWS (Lambda developer guide: "Using AWS Lambda with Amazon DynamoDB", its error
handling, partial batch response and event filtering pages):

- records reach the function in stream order, one batch at a time per shard, at most ``BatchSize``
  records, gathered for up to ``MaximumBatchingWindowInSeconds`` (0: as soon as there are any);
- records that match none of ``FilterCriteria``'s patterns are skipped: the shard moves past them and
  ``BatchSize`` counts only matching records;
- a function error retries the same batch; with ``BisectBatchOnFunctionError`` the failed batch is
  split in two and the halves are retried in order (a split does not count as a retry);
- with ``ReportBatchItemFailures``, ``{"batchItemFailures": [{"itemIdentifier": <SequenceNumber>}]}``
  checkpoints before the lowest reported sequence number and retries from it; an empty or null list
  is a success, a malformed answer (an empty, null or unknown identifier) fails the whole batch;
- after ``MaximumRetryAttempts`` retries the records are discarded: an invocation record (where they
  are in the stream, not the records) goes to the ``OnFailure`` SQS queue, and the shard moves on.

Locally, ``MaximumBatchingWindowInSeconds`` is capped at a second (``BATCHING_WINDOW_CAP``), and
``MaximumRetryAttempts: -1`` (AWS: retry until the records expire from the stream, 24 hours)
is capped at ``UNBOUNDED_RETRY_ATTEMPTS`` retries: a poison record blocks its shard for about a minute
and a half, in plain sight in the log, then goes to OnFailure as if its retries had run out.

moto's stream differs from DynamoDB's in two ways corrected here, so the function never sees them:
an UpdateItem that creates an item writes two INSERT records (the first with only the key), and a
write that changes nothing writes a MODIFY record (DynamoDB writes none).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from local.aws import ACCOUNT, REGION, Resources
from local.template import Function, StreamTrigger

log = logging.getLogger("local.streams")

Invoke = Callable[[Function, dict[str, Any]], Any]
READ_LIMIT = 1000  # GetRecords returns at most 1,000 records
UNBOUNDED_RETRY_ATTEMPTS = 100  # what MaximumRetryAttempts -1 means locally
RETRY_DELAY = 0.05  # seconds before the first retry, doubling up to RETRY_DELAY_MAX
RETRY_DELAY_MAX = 1.0
# Locally a batching window is at most a second: a test or a demo waits for what a consumer did, not
# for fuller batches (in AWS the window only trades latency for fewer, fuller invocations).
BATCHING_WINDOW_CAP = 1.0
EVENT_VERSION = "1.1"  # what Lambda sends for DynamoDB Streams records (the docs' examples say 1.0)

# -- the event ------------------------------------------------------------------------------------


def _json_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB attribute value as it appears in Lambda's JSON event (binary as base64)."""
    shaped: dict[str, Any] = {}
    for kind, inner in value.items():
        if kind == "B":
            shaped[kind] = base64.b64encode(inner).decode()
        elif kind == "BS":
            shaped[kind] = [base64.b64encode(item).decode() for item in inner]
        elif kind == "M":
            shaped[kind] = _json_image(inner)
        elif kind == "L":
            shaped[kind] = [_json_attribute(item) for item in inner]
        else:
            shaped[kind] = inner
    return shaped


def _json_image(image: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _json_attribute(value) for name, value in image.items()}


def _epoch_seconds(moment: Any) -> float:
    """ApproximateCreationDateTime: epoch seconds, rounded down to the second as DynamoDB Streams does."""
    if isinstance(moment, datetime):
        return float(int(moment.timestamp()))
    return float(int(float(moment)))


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda passes it: the same fields, JSON-safe, plus eventSourceARN."""
    stream = record["dynamodb"]
    dynamodb: dict[str, Any] = {}
    if "ApproximateCreationDateTime" in stream:
        dynamodb["ApproximateCreationDateTime"] = _epoch_seconds(stream["ApproximateCreationDateTime"])
    for image in ("Keys", "NewImage", "OldImage"):
        if image in stream:
            dynamodb[image] = _json_image(stream[image])
    dynamodb["SequenceNumber"] = stream["SequenceNumber"]
    dynamodb["SizeBytes"] = int(stream["SizeBytes"])
    dynamodb["StreamViewType"] = stream["StreamViewType"]
    shaped: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # TTL deletions: {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        shaped["userIdentity"] = dict(record["userIdentity"])
    return shaped


def without_moto_artifacts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records DynamoDB itself would have written (see the module docstring)."""
    kept = []
    for index, record in enumerate(records):
        stream = record["dynamodb"]
        following = records[index + 1] if index + 1 < len(records) else None
        if (
            record["eventName"] == "INSERT"
            and following is not None
            and following["eventName"] == "INSERT"
            and following["dynamodb"]["Keys"] == stream["Keys"]
        ):
            continue  # two INSERTs of one key in a row: moto's UpdateItem wrote the key alone first
        if record["eventName"] == "MODIFY" and "OldImage" in stream and stream.get("NewImage") == stream["OldImage"]:
            continue  # nothing changed: DynamoDB writes no stream record
        kept.append(record)
    return kept


# -- filter criteria ------------------------------------------------------------------------------

_OPERATORS = {"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists"}
_NUMERIC = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def parse_pattern(pattern: str | Mapping[str, Any]) -> dict[str, Any]:
    """A FilterCriteria pattern, checked: an operator the local stack does not know fails here, not silently."""
    parsed = json.loads(pattern) if isinstance(pattern, str) else dict(pattern)
    _check_pattern(parsed)
    return parsed


def _check_pattern(pattern: Any) -> None:
    if not isinstance(pattern, Mapping) or not pattern:
        raise ValueError(f"a filter pattern is a non-empty JSON object, not {pattern!r}")
    for key, rule in pattern.items():
        if key.startswith("$"):
            raise ValueError(f"filter operator {key} is not emulated locally")
        if isinstance(rule, Mapping):
            _check_pattern(rule)
        elif isinstance(rule, list) and rule:
            for value in rule:
                if isinstance(value, Mapping) and (len(value) != 1 or next(iter(value)) not in _OPERATORS):
                    raise ValueError(f"filter rule {value!r} is not emulated locally")
        else:
            raise ValueError(f"the filter rule for {key!r} must be a non-empty list or an object")


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Lambda's event filtering (EventBridge's pattern syntax): every field of the pattern must match.

    A nested object descends into the event; a list matches when any of its rules does; when the
    event's value is a list, any element may match. Strings and numbers compare exactly (300 is not
    300.0); ``numeric`` matches JSON numbers only.
    """
    for key, rule in pattern.items():
        present = isinstance(event, Mapping) and key in event
        value = event[key] if present else None
        if isinstance(rule, Mapping):
            if not matches(rule, value if isinstance(value, Mapping) else {}):
                return False
        elif not _leaf_matches(rule, present, value):
            return False
    return True


def _leaf_matches(rules: list[Any], present: bool, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, Mapping) and "exists" in rule:
            if bool(rule["exists"]) == present:
                return True
        elif present and any(_rule_matches(rule, item) for item in values):
            return True
    return False


def _rule_matches(rule: Any, value: Any) -> bool:
    if not isinstance(rule, Mapping):
        return json.dumps(rule) == json.dumps(value)  # exact: no case folding, 300 != 300.0, true != 1
    (operator, argument), *_ = rule.items()
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(argument).casefold()
    if operator == "anything-but":
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_rule_matches(item, value) for item in excluded)
    if operator == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        pairs = zip(argument[::2], argument[1::2], strict=True)
        return all(_NUMERIC[op](value, bound) for op, bound in pairs)
    return False


def passes(filters: tuple[dict[str, Any], ...], record: Mapping[str, Any]) -> bool:
    """No filters: every record; otherwise a record that matches any one of them."""
    return not filters or any(matches(pattern, record) for pattern in filters)


# -- partial batch responses and failure records --------------------------------------------------


def first_to_retry(sequence_numbers: list[str], result: Any, report_failures: bool) -> int | None:
    """Index of the first record to retry after the handler returned ``result``; None: all done."""
    if not report_failures or result is None:
        return None
    if not isinstance(result, Mapping):
        return 0  # not a valid response: the whole batch failed
    failures = result.get("batchItemFailures")
    if not failures:
        return None  # empty or null list: complete success
    if not isinstance(failures, list):
        return 0
    indexes = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in sequence_numbers:
            return 0  # empty, null or unknown identifiers fail the whole batch
        indexes.append(sequence_numbers.index(identifier))
    return min(indexes)  # Lambda checkpoints before the lowest sequence number reported


def _iso(moment: float, milliseconds: bool = False) -> str:
    stamp = datetime.fromtimestamp(moment, UTC)
    if milliseconds:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def invocation_record(
    function: Function,
    shard_id: str,
    stream_arn: str,
    records: list[dict[str, Any]],
    *,
    invoke_count: int,
    function_error: bool,
    now: float | None = None,
) -> dict[str, Any]:
    """What Lambda sends the OnFailure destination for discarded stream records (their place, not them)."""
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = "Unhandled"
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.logical_id}",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(time.time() if now is None else now, milliseconds=True),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime", 0)),
            "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime", 0)),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


# -- the poller -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamConsumer:
    function: Function
    trigger: StreamTrigger
    stream_arn: str
    on_failure_url: str | None = None  # the OnFailure queue's URL
    filters: tuple[dict[str, Any], ...] = ()


def stream_consumer(function: Function, trigger: StreamTrigger, resources: Resources) -> StreamConsumer:
    """A function's stream trigger, resolved against the provisioned resources (its filters checked)."""
    if trigger.table not in resources.stream_arns:
        raise ValueError(f"{function.logical_id} reads the stream of {trigger.table}, which has no StreamSpecification")
    on_failure_url = None
    if trigger.on_failure is not None:
        on_failure_url = resources.queues.get(trigger.on_failure)
        if on_failure_url is None:
            log.warning(
                "%s: OnFailure destination %s is not an SQS queue of the stack; not emulated, discarded "
                "records are only logged",
                function.logical_id,
                trigger.on_failure,
            )
    if trigger.not_emulated:
        log.warning("%s: %s not emulated locally", function.logical_id, ", ".join(trigger.not_emulated))
    return StreamConsumer(
        function,
        trigger,
        resources.stream_arns[trigger.table],
        on_failure_url,
        tuple(parse_pattern(pattern) for pattern in trigger.filters),
    )


@dataclass
class _Shard:
    shard_id: str
    after: str | None  # the last sequence number read; None: from the trim horizon
    pending: deque[dict[str, Any]] = field(default_factory=deque)  # read, matching, not yet delivered
    window_opened: float | None = None
    idle_since: float = float("-inf")  # when the last poll that found nothing to deliver began
    in_flight: bool = False


@dataclass
class _Attempt:
    records: list[dict[str, Any]]
    retries: int = 0


def _forget_iterators(*iterators: str | None) -> None:
    """Drop used shard iterators from moto, which keeps every one (AWS expires them after 15 minutes).

    Each poll makes two, about 1 KB each; at five polls a second a day-long local stack would
    otherwise grow by hundreds of megabytes.
    """
    try:
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        known = dynamodbstreams_backends[ACCOUNT][REGION].shard_iterators
    except (ImportError, AttributeError, KeyError):
        return
    for iterator in iterators:
        if iterator:
            known.pop(iterator, None)


class StreamPoller:
    """One thread per stream trigger; a handler error never stops the thread.

    Positions are sequence numbers, and every read asks for a fresh iterator after the last one:
    moto replaces a table (its stream included) when it rolls back a cancelled transaction, so an
    iterator held across reads could be left on a stream nobody writes anymore.
    """

    def __init__(
        self, invoke: Invoke, interval: float = 0.2, unbounded_retry_attempts: int = UNBOUNDED_RETRY_ATTEMPTS
    ) -> None:
        self._invoke = invoke
        self._interval = interval
        self._unbounded_retry_attempts = unbounded_retry_attempts
        self._client = boto3.client("dynamodbstreams", region_name=REGION)
        self._sqs = boto3.client("sqs", region_name=REGION)
        self._consumers: list[tuple[StreamConsumer, list[_Shard]]] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._started = False
        self.invocations = 0  # every invocation so far (the stack's drain watches it move)

    @property
    def consumers(self) -> list[StreamConsumer]:
        return [consumer for consumer, _ in self._consumers]

    def add(self, consumer: StreamConsumer) -> None:
        """Register a trigger; its StartingPosition is taken now, as when Lambda creates the mapping."""
        if not consumer.trigger.enabled:
            log.info("%s: stream trigger disabled (Enabled: false)", consumer.function.logical_id)
            return
        shards = self._position(consumer)
        self._consumers.append((consumer, shards))
        if self._started:
            self._spawn(consumer, shards)

    def start(self) -> None:
        self._started = True
        for consumer, shards in self._consumers:
            self._spawn(consumer, shards)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _spawn(self, consumer: StreamConsumer, shards: list[_Shard]) -> None:
        name = f"stream-{consumer.function.logical_id}-{consumer.trigger.table}"
        thread = threading.Thread(target=self._run, args=(consumer, shards), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self, consumer: StreamConsumer, shards: list[_Shard]) -> None:
        while not self._stop.is_set():
            delivered = False
            for shard in shards:
                try:
                    delivered = self.poll_once(consumer, shard) or delivered
                except Exception:
                    log.exception(
                        "reading the %s stream for %s failed", consumer.trigger.table, consumer.function.logical_id
                    )
            if not delivered:
                self._stop.wait(self._interval)

    # -- reading ------------------------------------------------------------------------------------

    def _position(self, consumer: StreamConsumer) -> list[_Shard]:
        """The stream's shards, each at the trigger's StartingPosition (moto's stream has one, never closed)."""
        description = self._client.describe_stream(StreamArn=consumer.stream_arn)["StreamDescription"]
        shards = [_Shard(shard["ShardId"], None) for shard in description.get("Shards", [])]
        if consumer.trigger.starting_position == "LATEST":
            for shard in shards:
                self._read(consumer.stream_arn, shard)  # moves past everything there is
        return shards

    def _read(self, stream_arn: str, shard: _Shard) -> list[dict[str, Any]]:
        """Every record after the shard's position, as GetRecords returns them; the position moves past them."""
        records: list[dict[str, Any]] = []
        while True:
            position: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
            if shard.after is not None:
                position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.after}
            iterator = self._client.get_shard_iterator(StreamArn=stream_arn, ShardId=shard.shard_id, **position)
            answer = self._client.get_records(ShardIterator=iterator["ShardIterator"], Limit=READ_LIMIT)
            _forget_iterators(iterator["ShardIterator"], answer.get("NextShardIterator"))
            read = answer.get("Records", [])
            records.extend(read)
            if read:
                shard.after = read[-1]["dynamodb"]["SequenceNumber"]
            if len(read) < READ_LIMIT:
                return records

    def poll_once(self, consumer: StreamConsumer, shard: _Shard) -> bool:
        """Read what is new and deliver one batch; False when there was nothing to deliver yet."""
        began = time.monotonic()
        for record in without_moto_artifacts(self._read(consumer.stream_arn, shard)):
            shaped = lambda_record(record, consumer.stream_arn)
            if passes(consumer.filters, shaped):
                shard.pending.append(shaped)
        trigger = consumer.trigger
        if not shard.pending:
            shard.idle_since = began
            return False
        if len(shard.pending) < trigger.batch_size and trigger.batching_window > 0:
            if shard.window_opened is None:
                shard.window_opened = began
            if time.monotonic() - shard.window_opened < min(trigger.batching_window, BATCHING_WINDOW_CAP):
                return False  # gathering a fuller batch
        shard.window_opened = None
        batch = [shard.pending.popleft() for _ in range(min(trigger.batch_size, len(shard.pending)))]
        shard.in_flight = True
        try:
            self._deliver(consumer, shard, batch)
        finally:
            shard.in_flight = False
        return True

    # -- delivering ---------------------------------------------------------------------------------

    def _max_retries(self, trigger: StreamTrigger) -> int:
        attempts = trigger.maximum_retry_attempts
        return self._unbounded_retry_attempts if attempts < 0 else attempts

    def _deliver(self, consumer: StreamConsumer, shard: _Shard, batch: list[dict[str, Any]]) -> None:
        """Invoke until every record of the batch is done or given up on, the shard waiting meanwhile."""
        trigger, function = consumer.trigger, consumer.function
        work = deque([_Attempt(batch)])
        while work and not self._stop.is_set():
            attempt = work.popleft()
            records = attempt.records
            self.invocations += 1
            raised = False
            failed_from: int | None
            try:
                result = self._invoke(function, {"Records": records})
            except Exception:
                log.exception("%s failed on %d stream record(s)", function.logical_id, len(records))
                raised, failed_from = True, 0
            else:
                sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in records]
                failed_from = first_to_retry(sequence_numbers, result, trigger.report_failures)
            if failed_from is None:
                continue
            if failed_from > 0:
                records = records[failed_from:]  # checkpointed up to the lowest failure; retry from it
            elif raised and trigger.bisect_on_error and len(records) > 1:
                half = (len(records) + 1) // 2  # split, not retried: the halves keep the retry count
                work.appendleft(_Attempt(records[half:], attempt.retries))
                work.appendleft(_Attempt(records[:half], attempt.retries))
                continue
            if attempt.retries >= self._max_retries(trigger):
                self._discard(consumer, shard, records, attempt.retries + 1, raised)
                continue
            work.appendleft(_Attempt(records, attempt.retries + 1))
            self._stop.wait(min(RETRY_DELAY_MAX, RETRY_DELAY * 2**attempt.retries))

    def _discard(
        self, consumer: StreamConsumer, shard: _Shard, records: list[dict[str, Any]], invokes: int, raised: bool
    ) -> None:
        record = invocation_record(
            consumer.function,
            shard.shard_id,
            consumer.stream_arn,
            records,
            invoke_count=invokes,
            function_error=raised,
        )
        info = record["DDBStreamBatchInfo"]
        log.error(
            "%s gave up on stream records %s..%s (%d) after %d invocation(s)%s",
            consumer.function.logical_id,
            info["startSequenceNumber"],
            info["endSequenceNumber"],
            len(records),
            invokes,
            "; sent to OnFailure" if consumer.on_failure_url else "; no OnFailure destination, discarded",
        )
        if consumer.on_failure_url:
            self._sqs.send_message(QueueUrl=consumer.on_failure_url, MessageBody=json.dumps(record))

    # -- waiting ------------------------------------------------------------------------------------

    def caught_up(self, since: float) -> bool:
        """Every trigger found nothing new after ``since`` (monotonic) and has nothing in flight."""
        return all(
            shard.idle_since >= since and not shard.in_flight and not shard.pending
            for _, shards in self._consumers
            for shard in shards
        )

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every record written before this call has been delivered or given up on."""
        since = time.monotonic()
        deadline = since + timeout
        while not self.caught_up(since):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True
