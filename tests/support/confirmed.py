"""Requests CloudFormation knows: the provider confirms each one before it acts.

``confirmed_event`` builds a request as CloudFormation sends it and shows it
in moto's CloudFormation (``aurora_express.local.moto_stacks``) as in
progress, so that ``DescribeStackResource`` confirms it. moto must be active
(``mock_aws`` or a moto server in this process).
"""

from __future__ import annotations

from typing import Any

import boto3

from aurora_express.local import moto_stacks
from aurora_express.local.cfn_local import request_event


def confirmed_event(
    request_type: str,
    resource_type: str,
    properties: dict[str, Any],
    *,
    response_url: str,
    service_token: str,
    logical_id: str,
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
    stack_name: str = "app",
) -> dict[str, Any]:
    stack = moto_stacks.stack_named(boto3.client("cloudformation"), stack_name)
    moto_stacks.declare(
        stack,
        logical_id,
        resource_type,
        None if request_type == "Create" else physical_id,
        stack_status=f"{request_type.upper()}_IN_PROGRESS",
    )
    return request_event(
        request_type,
        resource_type,
        properties,
        response_url=response_url,
        service_token=service_token,
        stack=stack,
        logical_id=logical_id,
        physical_id=physical_id,
        old_properties=old_properties,
    )
