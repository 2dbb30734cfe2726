"""Shared fixtures: moto-backed AWS provisioned from template.yaml, handlers, events, the demo seed."""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from local import aws
from local.handlers import LambdaContext, ensure_layer_on_path, load_handler
from local.template import ROOT, load

ensure_layer_on_path()
aws.use_fake_credentials()
aws.serialise_moto()

OUTSIDE_THE_REPOSITORY = ROOT.parent / "shared"  # where a checkout's siblings may sit; a user's clone has none


def _refuse_reads_outside_the_repository(event: str, args: tuple[Any, ...]) -> None:
    """Every test runs as in a lone clone: opening a sibling folder's file fails the run at once."""
    if event == "open" and isinstance(args[0], str | Path) and Path(args[0]).is_relative_to(OUTSIDE_THE_REPOSITORY):
        raise PermissionError(f"tests and the local stack must not read outside the repository: {args[0]}")


sys.addaudithook(_refuse_reads_outside_the_repository)

EVENTS = ROOT / "events"

pytest_plugins = ["tests.telegram_fixtures"]  # telegram_api, telegram_server: the fake Bot API


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[aws.Resources]:
    """A fresh moto account with the template's tables, queues and key, and the functions' env."""
    with mock_aws():
        template = load()
        resources = aws.provision(template)
        for name, value in aws.function_environment(template, resources).items():
            monkeypatch.setenv(name, value)
        _clear_cached_clients()
        yield resources
        _clear_cached_clients()


def _clear_cached_clients() -> None:
    """boto3 clients are cached per container; each test is a new container."""
    from funil.adapters import dynamo, secrets_manager, sqs

    dynamo.dynamodb_client.cache_clear()
    sqs.sqs_client.cache_clear()
    secrets_manager.secrets_provider.cache_clear()  # its cache holds the secrets read


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every AWS API call made while the test runs, as (service, operation)."""
    from botocore.client import BaseClient

    calls: list[tuple[str, str]] = []
    original = BaseClient._make_api_call

    def recording(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.append((self.meta.service_model.service_name, operation_name))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return calls


@pytest.fixture
def table(aws_env: aws.Resources) -> Any:
    from funil.adapters.dynamo import Table

    return Table(aws_env.tables["AppTable"])


@pytest.fixture
def seed(table: Any) -> Any:
    from local.seed import seed_demo

    return seed_demo(table)


@pytest.fixture
def invoke(aws_env: aws.Resources) -> Callable[..., Any]:
    """invoke("RedirectFunction", event) → the handler's result; modules load fresh per test."""
    template = load()
    loaded: dict[str, Any] = {}

    def _invoke(logical_id: str, event: dict[str, Any]) -> Any:
        function = template.functions[logical_id]
        if logical_id not in loaded:
            loaded[logical_id] = load_handler(function, fresh=True)
        return loaded[logical_id](event, LambdaContext(function, "test-request"))

    return _invoke


def load_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EVENTS / name).read_text()))


@pytest.fixture
def event() -> Callable[[str], dict[str, Any]]:
    return load_event


def page_text(answer: dict[str, Any]) -> str:
    """A handler's HTML answer as the browser reads it: base64 and gzip undone (the bridge page is
    gzip-encoded for clients that accept it), else the body as it is."""
    import base64
    import gzip

    body = answer.get("body") or ""
    if not answer.get("isBase64Encoded"):
        return str(body)
    raw = base64.b64decode(body)
    encoding = (answer.get("headers") or {}).get("content-encoding")
    return (gzip.decompress(raw) if encoding == "gzip" else raw).decode()


def queue_messages(resources: aws.Resources, logical_id: str) -> list[dict[str, Any]]:
    """Every message visible on a queue now (received and left there)."""
    import boto3

    sqs = boto3.client("sqs", region_name=aws.REGION)
    received = sqs.receive_message(QueueUrl=resources.queues[logical_id], MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(message["Body"]) for message in received.get("Messages", [])]


def repo_path(*parts: str) -> Path:
    return Path(ROOT, *parts)


assert os.environ["AWS_DEFAULT_REGION"] == aws.REGION


@pytest.fixture
def funil_log() -> Iterator[list[Any]]:
    """Every record the service logger (Powertools, ``funil``) emits during the test, JSON-formatted too."""
    import logging

    from funil.observability import logger

    records: list[Any] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record.json = logger.registered_formatter.format(record)  # type: ignore[attr-defined]
            records.append(record)

    handler = Keep()
    logging.getLogger("funil").addHandler(handler)
    try:
        yield records
    finally:
        logging.getLogger("funil").removeHandler(handler)


def modules_after_import(resources: aws.Resources, function: str, prefix: str) -> list[str]:
    """The modules whose name starts with ``prefix`` that importing ``function``'s handler loads, in
    a fresh interpreter with the function's environment: what its cold start pays for."""
    import subprocess

    code = (
        "import sys\n"
        "from local.handlers import load_handler\n"
        "from local.template import load\n"
        f"load_handler(load().functions[{function!r}])\n"
        f"print('\\n'.join(sorted(name for name in sys.modules if name.startswith({prefix!r}))))\n"
    )
    env = {**os.environ, **aws.function_environment(load(), resources)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout.split()
