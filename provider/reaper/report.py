"""How a run is told: one log record per owned cluster, one summary line, a metric per category.

The metrics (``ExpiredClusters``, ``OrphanClusters``, ``UnfinishedDeletions``,
``KeptClusters``, and ``DeletedClusters`` for deletions started) go out as CloudWatch
embedded metric format through Powertools, zeros included, so an alarm on
``OrphanClusters > 0`` sees every run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from provider.reaper.classify import Action, Category
from provider.reaper.sweep import Report

METRIC_NAMES = {
    Category.EXPIRED: "ExpiredClusters",
    Category.ORPHAN: "OrphanClusters",
    Category.UNFINISHED: "UnfinishedDeletions",
    Category.KEEP: "KeptClusters",
}
DELETED_METRIC = "DeletedClusters"


def publish(report: Report, logger: Logger, metrics: Metrics) -> dict[str, Any]:
    """Log and count ``report``; return its summary (the Lambda's answer)."""
    for verdict in report.verdicts:
        record = dataclasses.asdict(verdict)
        record["owner"] = dataclasses.asdict(verdict.owner)
        logger.info("Reaper verdict", extra={"verdict": record})
    counts = report.counts()
    for category, name in METRIC_NAMES.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=counts[category.value])
    deleted = sum(1 for v in report.verdicts if v.action is Action.DELETE)
    metrics.add_metric(name=DELETED_METRIC, unit=MetricUnit.Count, value=deleted)
    summary = report.summary()
    logger.info("Reaper run", extra={"summary": summary})
    return summary
