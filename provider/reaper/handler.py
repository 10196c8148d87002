"""Lambda entry point of ``ReaperFunction`` (scheduled by EventBridge): wiring only.

Report-only unless the function's ``REAPER_ARMED`` is ``true`` (the
template's ``ArmReaper``). The answer is the run's summary.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Metrics

from provider.cluster import rds
from provider.cluster.rds import ClusterApi
from provider.common.logging import function_logger
from provider.reaper import report, stacks, sweep

SERVICE = "aurora-express-reaper"
logger = function_logger(SERVICE)
metrics = Metrics(
    service=SERVICE, namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "AuroraExpress")
)


@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One run over the region's clusters."""
    logger.append_keys(request_id=getattr(context, "aws_request_id", ""))
    settings = sweep.Settings.from_env(str(getattr(context, "invoked_function_arn", "")))
    api = ClusterApi(rds.new_client())
    result = sweep.run(
        api,
        stacks.StackDirectory(stacks.new_client()),
        sweep.provider_delete(api, time.time()),
        settings=settings,
        now=datetime.now(UTC),
    )
    return report.publish(result, logger, metrics)
