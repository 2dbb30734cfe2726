"""Reads template.yaml: the functions, their routes, queues, table streams, schedules and environment.

The local stack and the tests both derive everything from the template, so what runs locally is
what SAM deploys.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short-form intrinsics (!Ref, !GetAtt…) as dicts."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str

    def pattern(self) -> re.Pattern[str]:
        # {name} is one path segment; {name+} is greedy and spans slashes.
        regex = re.sub(
            r"\\\{(\w+)(\\\+)?\\\}",
            lambda m: f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)",
            re.escape(self.path),
        )
        return re.compile(f"^{regex}\\Z")  # \Z: no trailing newline slips through (``$`` allows one)


@dataclass(frozen=True)
class QueueTrigger:
    queue: str  # logical id of the queue
    batch_size: int
    report_failures: bool


@dataclass(frozen=True)
class StreamTrigger:
    """A ``Type: DynamoDB`` event: Lambda's event source mapping on a table's stream.

    Defaults are Lambda's (docs: "Lambda parameters for Amazon DynamoDB event source mappings").
    """

    table: str  # logical id of the table whose stream it reads (Stream: !GetAtt Table.StreamArn)
    starting_position: str = "LATEST"  # or TRIM_HORIZON
    batch_size: int = 100
    batching_window: float = 0  # MaximumBatchingWindowInSeconds
    bisect_on_error: bool = False  # BisectBatchOnFunctionError
    maximum_retry_attempts: int = -1  # -1: until the record expires (capped locally, see local.streams)
    report_failures: bool = False  # FunctionResponseTypes: [ReportBatchItemFailures]
    on_failure: str | None = None  # logical id of the OnFailure destination (an SQS queue)
    filters: tuple[str, ...] = ()  # FilterCriteria.Filters[].Pattern, each a JSON string
    enabled: bool = True
    not_emulated: tuple[str, ...] = ()  # properties set in the template that the local stack ignores


# Stream event properties the local stack reads; any other one set in the template is reported.
_STREAM_PROPERTIES = {
    "Stream",
    "StartingPosition",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "FunctionResponseTypes",
    "DestinationConfig",
    "FilterCriteria",
    "Enabled",
}


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Schedule:
    name: str  # the event's name in the template
    expression: str  # rate(5 minutes), cron(...)
    input: str | None = None  # a fixed Input replaces EventBridge's event, as on AWS

    @property
    def period_seconds(self) -> float | None:
        """The period of a ``rate(...)``; None for cron expressions (run only on request locally)."""
        found = _RATE.fullmatch(self.expression.strip())
        if found is None:
            return None
        return int(found.group(1)) * _UNIT_SECONDS[found.group(2).rstrip("s")]


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, Any]
    routes: tuple[HttpRoute, ...] = ()
    queues: tuple[QueueTrigger, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    timeout: int = 10
    streams: tuple[StreamTrigger, ...] = ()

    def schedule(self, name: str | None) -> Schedule | None:
        """The named schedule, or the first when no name is given."""
        return next((s for s in self.schedules if name in {None, s.name}), None)

    @property
    def module_path(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def function_name(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass
class Template:
    raw: dict[str, Any]
    functions: dict[str, Function] = field(default_factory=dict)

    def resources_of(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.raw["Resources"].items() if res["Type"] == kind}

    def parameter_defaults(self) -> dict[str, Any]:
        return {name: spec.get("Default") for name, spec in (self.raw.get("Parameters") or {}).items()}


def _queue_logical_id(ref: Any) -> str:
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        return str(ref["Fn::GetAtt"][0])
    if isinstance(ref, dict) and "Ref" in ref:
        return str(ref["Ref"])
    raise ValueError(f"unsupported queue reference {ref!r}")


def _arn_logical_id(ref: Any, attribute: str) -> str:
    """The resource behind ``!GetAtt X.<attribute>``, ``!Ref X`` or a literal ARN (locally, names are logical ids)."""
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        logical, got = ref["Fn::GetAtt"]
        if got != attribute:
            raise ValueError(f"expected !GetAtt {logical}.{attribute}, got {got}")
        return str(logical)
    if isinstance(ref, dict) and "Ref" in ref:
        return str(ref["Ref"])
    if isinstance(ref, str) and ref.startswith("arn:"):
        resource = ref.split(":", 5)[5]  # table/Name/stream/label, or the queue's name
        return resource.split("/")[1] if resource.startswith("table/") else resource
    raise ValueError(f"unsupported reference {ref!r}")


def _filter_patterns(criteria: Any) -> tuple[str, ...]:
    """FilterCriteria's patterns as canonical JSON (a Pattern is a JSON string; a mapping is accepted too)."""
    patterns = []
    for entry in (criteria or {}).get("Filters") or []:
        pattern = entry["Pattern"]
        parsed = json.loads(pattern) if isinstance(pattern, str) else pattern
        patterns.append(json.dumps(parsed, sort_keys=True))
    return tuple(patterns)


def stream_trigger(props: dict[str, Any]) -> StreamTrigger:
    """A ``Type: DynamoDB`` event's properties as a StreamTrigger."""
    destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    return StreamTrigger(
        table=_arn_logical_id(props["Stream"], "StreamArn"),
        starting_position=str(props.get("StartingPosition") or "LATEST"),
        batch_size=int(props.get("BatchSize", 100)),
        batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
        report_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
        on_failure=_arn_logical_id(destination, "Arn") if destination else None,
        filters=_filter_patterns(props.get("FilterCriteria")),
        enabled=props.get("Enabled", True) is not False,
        not_emulated=tuple(sorted(set(props) - _STREAM_PROPERTIES)),
    )


@lru_cache(maxsize=4)
def load(path: Path = TEMPLATE_PATH) -> Template:
    raw = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    template = Template(raw)
    globals_fn = (raw.get("Globals") or {}).get("Function") or {}
    global_env = ((globals_fn.get("Environment") or {}).get("Variables")) or {}
    for name, res in template.resources_of("AWS::Serverless::Function").items():
        props = res["Properties"]
        routes, queues, schedules, streams = [], [], [], []
        for event_name, event in (props.get("Events") or {}).items():
            event_props = event.get("Properties") or {}
            if event["Type"] == "HttpApi":
                routes.append(HttpRoute(event_props["Method"].upper(), event_props["Path"]))
            elif event["Type"] == "SQS":
                queues.append(
                    QueueTrigger(
                        _queue_logical_id(event_props["Queue"]),
                        int(event_props.get("BatchSize", 10)),
                        "ReportBatchItemFailures" in (event_props.get("FunctionResponseTypes") or []),
                    )
                )
            elif event["Type"] == "DynamoDB":
                streams.append(stream_trigger(event_props))
            elif event["Type"] in {"Schedule", "ScheduleV2"}:
                raw_input = event_props.get("Input")
                schedules.append(
                    Schedule(
                        event_name,
                        str(event_props.get("Schedule") or event_props.get("ScheduleExpression") or ""),
                        raw_input if isinstance(raw_input, str) else None,
                    )
                )
        env = {**global_env, **((props.get("Environment") or {}).get("Variables") or {})}
        template.functions[name] = Function(
            logical_id=name,
            code_uri=ROOT / props["CodeUri"],
            handler=props["Handler"],
            environment=env,
            routes=tuple(routes),
            queues=tuple(queues),
            schedules=tuple(schedules),
            timeout=int(props.get("Timeout") or globals_fn.get("Timeout") or 10),
            streams=tuple(streams),
        )
    return template
