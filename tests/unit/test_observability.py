"""Anomalies and counts become CloudWatch EMF metrics the template's alarms watch; logs are JSON."""

from __future__ import annotations

import json
from typing import Any

from funil.observability import anomaly, count, metrics


def test_an_anomaly_is_one_error_line_and_one_anomalies_metric(funil_log: list[Any]) -> None:
    metrics.clear_metrics()
    anomaly("amount_mismatch", "payment amount/currency mismatch: not confirmed", payment_id="p1")
    (record,) = [r for r in funil_log if getattr(r, "anomaly", None)]
    line = json.loads(record.json)
    assert (line["level"], line["anomaly"], line["payment_id"]) == ("ERROR", "amount_mismatch", "p1")
    emf = metrics.serialize_metric_set()
    assert emf["Anomalies"] == [1.0]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Funil"
    metrics.clear_metrics()


def test_counts_add_up_within_an_invocation() -> None:
    metrics.clear_metrics()
    count("ClicksStored")
    count("ClicksStored")
    emf = metrics.serialize_metric_set()
    assert emf["ClicksStored"] == [1.0, 1.0]  # EMF keeps both values; CloudWatch sums them
    metrics.clear_metrics()
