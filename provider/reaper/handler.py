"""Lambda entry point of ``ReaperFunction`` (scheduled by EventBridge): wiring only.

Report-only unless the function's ``REAPER_ARMED`` is ``true`` (the
template's ``ArmReaper``). The answer is the run's summary.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Metrics

from provider.cluster import rds
from provider.cluster.rds import ClusterApi
from provider.common.logging import function_logger
from provider.common.settings import SettingsError
from provider.reaper import report, settings, stacks, sweep

SERVICE = "aurora-express-reaper"
logger = function_logger(SERVICE)
metrics = Metrics(service=SERVICE)  # its namespace: the settings', set on each run


@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One run over the region's clusters.

    A variable of the environment that does not parse stops the run before
    anything is listed: logged, and raised, so the invocation counts as failed.
    """
    logger.append_keys(request_id=getattr(context, "aws_request_id", ""))
    try:
        current = settings.current()
    except SettingsError as exc:
        logger.error("Not running: %s", exc.reason)
        raise
    metrics.namespace = current.metrics_namespace
    arn = str(getattr(context, "invoked_function_arn", ""))
    api = ClusterApi(rds.new_client())
    result = sweep.run(
        api,
        stacks.StackDirectory(stacks.new_client()),
        sweep.provider_delete(api, time.time()),
        settings=sweep.Settings.for_function(arn, current),
        now=datetime.now(UTC),
    )
    return report.publish(result, logger, metrics)
