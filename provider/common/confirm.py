"""Only real requests act: a request is confirmed with CloudFormation before anything changes.

Anyone who may deploy a stack may also invoke the function directly, with an
event of their own making. So, before a handler runs:

- the ``ResponseURL`` must be an https URL of CloudFormation's response
  bucket for this region (``cloudformation-custom-resource-response-<region
  without dashes>``); otherwise nobody legitimate is waiting and nothing is
  answered at all (no PUT to a URL of the caller's choosing);
- the stack must be in this account and region, and
  ``DescribeStackResource(StackId, LogicalResourceId)`` must show that
  resource, of the event's type, in an ``*_IN_PROGRESS`` state, with the
  event's physical id for Update and Delete. During a stack's
  ``*_CLEANUP_IN_PROGRESS`` phase, CloudFormation deletes the resource it
  replaced: there the Delete's physical id must differ from the current one.

The decisions are pure (``url_problem``, ``resource_problem``); ``confirm``
makes the one CloudFormation call.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from provider.common import ownership

logger = logging.getLogger(__name__)

_BUCKET_HOST = re.compile(
    r"^cloudformation-custom-resource-response-(?P<region>[a-z0-9]+)"
    r"\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$"
)
_STACK_ARN = re.compile(
    r"^arn:aws[a-z-]*:cloudformation:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):stack/[^/]+/.+$"
)

UNCONFIRMED = "The request could not be confirmed with CloudFormation ({why}); nothing was changed."


@dataclass(frozen=True)
class StackResource:
    """What ``DescribeStackResource`` says of the event's resource."""

    resource_type: str
    status: str
    physical_id: str | None
    stack_status: str | None = None


def url_problem(url: str, region: str, *, allow_loopback: bool = False) -> str | None:
    """Why ``url`` is not CloudFormation's ResponseURL for ``region``, or None.

    ``allow_loopback`` admits ``http://127.0.0.1`` and the like: the offline
    emulation's stand-in, never set in a deployed function.
    """
    parts = urlsplit(url)
    if allow_loopback and parts.scheme == "http" and parts.hostname in ownership.LOOPBACK:
        return None
    if parts.scheme != "https":
        return "the ResponseURL is not an https URL"
    match = _BUCKET_HOST.match(parts.hostname or "")
    if match is None or match["region"] != region.replace("-", ""):
        return f"the ResponseURL is not CloudFormation's response bucket for {region}"
    return None


def stack_problem(stack_id: str, region: str, account: str | None) -> str | None:
    """Why ``stack_id`` is not a stack of this account and region, or None."""
    match = _STACK_ARN.match(stack_id)
    if match is None:
        return "the StackId is not a stack ARN"
    if match["region"] != region or (account is not None and match["account"] != account):
        return "the stack is not in this function's account and region"
    return None


def resource_problem(event: dict[str, Any], found: StackResource | None) -> str | None:
    """Why CloudFormation's record of the resource does not match the event, or None."""
    if found is None:
        return "the stack has no such resource"
    if found.resource_type != event.get("ResourceType"):
        return f"the resource is a {found.resource_type}, not a {event.get('ResourceType')}"
    if event["RequestType"] == "Delete" and (found.stack_status or "").endswith(
        "CLEANUP_IN_PROGRESS"
    ):
        return _cleanup_problem(event, found)
    if not found.status.endswith("_IN_PROGRESS"):
        return f"the resource is {found.status}, not in progress"
    if event["RequestType"] != "Create" and found.physical_id != event.get("PhysicalResourceId"):
        return "the physical id differs from the stack's"
    return None


def _cleanup_problem(event: dict[str, Any], found: StackResource) -> str | None:
    # What a replacement left behind is deleted now; never the current resource.
    if found.physical_id == event.get("PhysicalResourceId"):
        return "the stack is cleaning up, and this is its current resource"
    return None


def describe(cloudformation: Any, event: dict[str, Any]) -> StackResource | None:
    """CloudFormation's record of the event's resource, or None when it has none."""
    try:
        detail = cloudformation.describe_stack_resource(
            StackName=event["StackId"], LogicalResourceId=event["LogicalResourceId"]
        )["StackResourceDetail"]
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code == "ValidationError":  # no such stack, or no such resource in it
            return None
        raise
    stack_status = None
    if event["RequestType"] == "Delete":  # only a Delete may come from a cleanup phase
        try:
            stacks = cloudformation.describe_stacks(StackName=event["StackId"])["Stacks"]
            stack_status = stacks[0]["StackStatus"] if stacks else None
        except Exception:  # the resource's own status decides then
            logger.warning("Could not read the stack's status")
    return StackResource(
        resource_type=str(detail.get("ResourceType", "")),
        status=str(detail.get("ResourceStatus", "")),
        physical_id=detail.get("PhysicalResourceId"),
        stack_status=stack_status,
    )


def confirm(
    cloudformation: Any, event: dict[str, Any], *, region: str, account: str | None
) -> str | None:
    """The reason to refuse ``event`` (for a FAILED answer), or None when it is confirmed."""
    why = stack_problem(str(event.get("StackId", "")), region, account)
    if why is None:
        try:
            why = resource_problem(event, describe(cloudformation, event))
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            why = f"DescribeStackResource failed: {code}"
    return UNCONFIRMED.format(why=why) if why else None
