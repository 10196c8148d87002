"""Lambda entry point for ``Custom::AuroraExpress``: crhelper wiring only.

Each request type and its scheduled poll run the same ``lifecycle`` function;
it returns an ``Outcome`` when done (answered at once) or ``None`` to let
crhelper's EventBridge poll carry on. ``CustomResource`` is the only place an
exception becomes ``FAILED``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provider.cluster import lifecycle, settings
from provider.cluster.rds import ClusterApi, new_client
from provider.common.custom_resource import CustomResource
from provider.common.logging import function_logger
from provider.common.settings import AwsEnvironment

logger = function_logger("aurora-express-cluster")
_apis: dict[tuple[str | None, str | None], ClusterApi] = {}

Operation = Callable[[lifecycle.Request, ClusterApi], lifecycle.Outcome | None]


def api(aws: AwsEnvironment | None = None) -> ClusterApi:
    """The RDS adapter, built on first use and reused while the Lambda stays warm.

    Keyed by endpoint and region, so a process that points ``AWS_ENDPOINT_URL``
    at another moto server (tests, the demo) gets a client for it.
    """
    aws = aws or settings.current().aws
    key = (aws.endpoint_url, aws.region)
    if key not in _apis:
        _apis[key] = ClusterApi(new_client(aws.region))
    return _apis[key]


def _created_by(event: dict[str, Any], context: Any) -> str | None:
    timing = settings.current().timing
    request = lifecycle.Request.from_event(
        event, context, started_at=helper.started_at(), timing=timing
    )
    return lifecycle.created_by(request, api())


helper = CustomResource(created_by=_created_by)


def _run(operation: Operation, event: dict[str, Any], context: Any) -> str | None:
    # Inside the request: a variable that does not parse fails it, naming the variable.
    current = settings.current()
    request = lifecycle.Request.from_event(
        event, context, started_at=helper.started_at(), timing=current.timing
    )
    logger.append_keys(
        request_id=request.request_id,
        stack_id=request.stack_id,
        logical_id=request.logical_id,
        request_type=request.request_type,
        poll=request.is_poll,
    )
    logger.info("Request received", extra={"physical_id": request.physical_id})
    outcome = operation(request, api(current.aws))
    if outcome is None:
        return None
    helper.Data.update(outcome.attributes)
    logger.info("Request done", extra={"physical_id": outcome.physical_id})
    return outcome.physical_id


@helper.create
@helper.poll_create
def create(event: dict[str, Any], context: Any) -> str | None:
    return _run(lifecycle.create, event, context)


@helper.update
@helper.poll_update
def update(event: dict[str, Any], context: Any) -> str | None:
    return _run(lifecycle.update, event, context)


@helper.delete
@helper.poll_delete
def delete(event: dict[str, Any], context: Any) -> str | None:
    return _run(lifecycle.delete, event, context)


def handler(event: dict[str, Any], context: Any) -> None:
    """The Lambda handler (template.yaml: provider.cluster.handler.handler)."""
    helper(event, context)
