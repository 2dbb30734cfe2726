"""Logs and metrics: Powertools' Logger (structured JSON) and Metrics (CloudWatch EMF), shared.

``logger`` is the service's logger, named ``funil``: the modules' ``logging.getLogger(__name__)``
loggers (``funil.*``) propagate to it, so every line is its JSON with the request's correlation id.
``metrics`` flushes once per invocation (``@metrics.log_metrics`` on the handler). Business and
failure counts go through ``count``; things that must never happen and need a person (a payment's
amount differs from the charge, money received on a voided attempt…) go through ``anomaly``: one
error line naming the kind, and the ``Anomalies`` metric that ``AnomaliesAlarm`` watches.

Never log a secret, a token, a CPF, an email, a phone or a raw IP here: ids only.
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

__all__ = ["MetricUnit", "anomaly", "count", "logger", "metrics"]

logger = Logger(service="funil")
# Its own handler writes every line once; Lambda's root handler would write each a second time.
logging.getLogger("funil").propagate = False
metrics = Metrics(namespace="Funil", service="funil")


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """Add to a metric of this invocation; with dimensions, a metric of its own (e.g. a reason)."""
    if not dimensions:
        metrics.add_metric(name=name, unit=unit, value=value)
        return
    with single_metric(name=name, unit=unit, value=value, namespace=metrics.namespace) as metric:
        for dimension, dimension_value in dimensions.items():
            metric.add_dimension(name=dimension, value=dimension_value)


def anomaly(kind: str, message: str, **fields: Any) -> None:
    """Something a person must look at: one error line (``anomaly`` = kind) and the Anomalies metric."""
    logger.error(message, extra={"anomaly": kind, **fields})
    count("Anomalies")
