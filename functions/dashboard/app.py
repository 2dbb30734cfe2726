"""/app…: the seller's dashboard (docs/dashboard.md): its pages and files, sign-in by one-time link,
and the JSON it reads (session, stats, a sale's trace, delivery health), per tenant session.

A function of its own: it writes only sign-in links and sessions, reads the rest, holds no KMS key,
and a busy dashboard cannot take the operator's API's or the webhooks' concurrency.
"""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

from pathlib import Path
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import wiring
from funil.config import settings
from funil.dashboard.routes import build
from funil.dashboard.static import StaticFiles
from funil.observability import logger, metrics

APP = build(wiring.dashboard(settings()), StaticFiles(Path(__file__).parent / "static"))


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return APP.resolve(event, context)


cold_start.done()
