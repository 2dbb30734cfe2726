"""GET /go/{slug}: record the ad click and hand the visitor to Telegram through the bridge page.

The hot path: plain ``funil.http`` rather than the event handler (import cost), one DynamoDB write.
"""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import http, wiring
from funil.click.entry import serve_click
from funil.config import settings
from funil.observability import count, logger, metrics

DEPS = wiring.click(settings())


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> http.Response:
    try:
        return serve_click(event, DEPS)
    except Exception:
        # A page of ours rather than API Gateway's bare 500; RedirectFailuresAlarm watches the count.
        logger.exception("redirect failed")
        count("RedirectFailures")
        return http.response(500, "Erro interno. Tente novamente.")


cold_start.done()
