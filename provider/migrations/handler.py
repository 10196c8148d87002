"""Lambda entry point for ``Custom::AuroraExpressMigrations``: wiring only.

- CloudFormation Create/Update (and crhelper's polls of them): apply what is
  pending and answer with the attributes. A run that would outlast the
  invocation stops between migrations and hands over to crhelper's polling;
  the next poll carries on where it stopped (the history says where).
- Delete: ``SUCCESS``, touching nothing (the data goes with the cluster).
- A direct invocation (no ``RequestType``, an ``Action`` of ``plan``,
  ``status`` or ``migrate``) returns JSON, for CI jobs.

Both build a ``migrator.Migrator`` from the properties and the function's
settings (read at cold start; one that does not parse fails the request,
naming the variable).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from provider.common.boundary import direct_invocation
from provider.common.custom_resource import CustomResource
from provider.common.deadline import Deadline, InvocationDeadline
from provider.common.errors import ProviderError
from provider.common.logging import function_logger
from provider.migrations import settings, timing
from provider.migrations.clients import Clients

if TYPE_CHECKING:
    from provider.migrations import migrator, properties

# The engine (psycopg, pglast) and the property models (pydantic) are imported by
# the requests that use them (hence the PLC0415 waivers): a Delete touches nothing
# and a cold start that answers one loads none of them.

logger = function_logger("aurora-express-migrations")
helper = CustomResource()
clients = Clients()

ACTIONS = ("plan", "status", "migrate")
# A direct invocation's own keys, beside the resource's properties.
DIRECT_KEYS = ("Action", "AppliedBy", "StackName")


def physical_id(props: properties.MigrationsProperties) -> str:
    """Stable per cluster, database and history table; a change of any is a new resource."""
    where = props.cluster_identifier or f"{props.endpoint}:{props.port or 5432}"
    return f"{where}/{props.database}/{props.history_table}"


def build(
    props: properties.MigrationsProperties,
    *,
    applied_by: str,
    deadline: Deadline | None,
    direct_stack: str | None = None,
    direct: bool = False,
    request_id: str | None = None,
) -> migrator.Migrator:
    from provider.migrations import migrator  # noqa: PLC0415

    return migrator.for_resource(
        props,
        settings.current(),
        clients,
        applied_by=applied_by,
        deadline=deadline,
        stack=direct_stack,
        direct=direct,
        request_id=request_id,
    )


def applied_by_cloudformation(event: dict[str, Any]) -> str:
    stack = str(event.get("StackId", "")).split("/")
    stack_name = stack[1] if len(stack) > 2 else str(event.get("StackId", ""))
    return (
        f"cloudformation:{stack_name}/{event.get('LogicalResourceId', '')} "
        f"({event.get('RequestType', '')} {event.get('RequestId', '')})"
    )


@helper.create
@helper.update
@helper.poll_create
@helper.poll_update
def apply(event: dict[str, Any], context: Any) -> str | None:
    logger.append_keys(
        request_id=event.get("RequestId"),
        stack_id=event.get("StackId"),
        logical_id=event.get("LogicalResourceId"),
        request_type=event.get("RequestType"),
        poll="CrHelperPoll" in event,
    )
    from provider.migrations import properties  # noqa: PLC0415

    props = properties.parse(event.get("ResourceProperties", {}))
    started_at = helper.started_at()
    # FAILED, saying so, before CloudFormation's own timeout; a share of the time is kept.
    timing.check_in_time(started_at, props.service_timeout)
    deadline = timing.deadline_for(context, started_at=started_at, timeout=props.service_timeout)
    applied_by = applied_by_cloudformation(event)
    # The request's polls share its S3 sources, fetched once (sources.from_s3).
    run = build(
        props, applied_by=applied_by, deadline=deadline, request_id=event.get("RequestId")
    ).migrate()
    result = run.result
    # Counts add up over the polls of one request (crhelper carries Data along).
    helper.Data.update(
        {
            "AppliedCount": int(helper.Data.get("AppliedCount", 0)) + result.applied_count,
            "LatestVersion": result.latest_version or "",
            "SeedsApplied": int(helper.Data.get("SeedsApplied", 0)) + len(result.seeds_applied),
            "HistoryTable": props.history_table,
        }
    )
    if not result.complete:
        left = len(run.remaining)
        timing.check_in_time(started_at, props.service_timeout, remaining=left)
        logger.info(
            "Out of time for this invocation; the next poll carries on", extra={"left": left}
        )
        return None
    return physical_id(props)


@helper.delete
def delete(event: dict[str, Any], context: Any) -> str:
    """Nothing to undo: migrations are not rolled back, the data goes with the cluster."""
    return str(event.get("PhysicalResourceId") or event.get("LogicalResourceId") or "none")


def answer(run: migrator.Migrator, action: str) -> dict[str, Any]:
    """The JSON of ``action`` (plan, status or migrate), the direct invocation's contract."""
    if action == "plan":
        return run.plan().as_json()
    if action == "status":
        return run.status().as_json()
    return run.migrate().as_json()


@direct_invocation
def direct(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``{"Action": ..., <properties>}`` -> JSON; failures are JSON too (``direct_invocation``)."""
    action = str(event.get("Action", "")).lower()
    if action not in ACTIONS:
        raise ProviderError("Action must be plan, status or migrate.")
    request_id = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
    raw = {k: v for k, v in event.items() if k not in DIRECT_KEYS}
    from provider.migrations import properties  # noqa: PLC0415

    props = properties.parse(raw)
    applied_by = str(event.get("AppliedBy") or f"direct-invocation:{request_id}")
    deadline = InvocationDeadline.for_context(context) if context else None
    stack = event.get("StackName")
    run = build(
        props,
        applied_by=applied_by,
        deadline=deadline,
        direct_stack=str(stack) if stack else None,
        direct=True,
    )
    return answer(run, action)


def handler(event: Any, context: Any) -> dict[str, Any] | None:
    if isinstance(event, dict) and "RequestType" not in event and "Action" in event:
        return direct(event, context)
    helper(event, context)
    return None
