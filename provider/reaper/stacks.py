"""The reaper's CloudFormation calls: what became of a cluster's owning stack, and
whether that stack's record shows the provider made the cluster.

``DescribeStacks`` by stack id (an ARN) also finds deleted stacks, as
``DELETE_COMPLETE``, for 90 days; after that, or for a stack that never
existed, it answers ``ValidationError`` "... does not exist". Only those two
answers mean the stack is gone. Any other error (throttling, access denied)
leaves the question open, and the cluster is kept.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from provider.reaper.classify import GONE, StackLookup

# How a template may declare the provider's cluster resource.
CLUSTER_TYPES = frozenset({"Custom::AuroraExpress", "AWS::CloudFormation::CustomResource"})
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8}, read_timeout=20)


def new_client(region: str | None = None) -> Any:
    return boto3.client("cloudformation", region_name=region, config=CLIENT_CONFIG)


class StackDirectory:
    """Looks stacks up by id, once each per run."""

    def __init__(self, client: Any) -> None:
        self._cfn = client
        self._seen: dict[str, StackLookup] = {}

    def lookup(self, stack_id: str) -> StackLookup:
        if stack_id not in self._seen:
            self._seen[stack_id] = self._describe(stack_id)
        return self._seen[stack_id]

    def _describe(self, stack_id: str) -> StackLookup:
        try:
            stacks = self._cfn.describe_stacks(StackName=stack_id).get("Stacks") or []
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code")), str(error.get("Message", ""))
            if code == "ValidationError" and "does not exist" in message:
                return GONE
            return StackLookup(exists=None, detail=f"DescribeStacks failed with {code}")
        except BotoCoreError as exc:
            return StackLookup(exists=None, detail=f"DescribeStacks failed: {type(exc).__name__}")
        if not stacks:
            return GONE
        return StackLookup(exists=True, status=str(stacks[0].get("StackStatus", "")))

    def proves(self, stack_id: str, logical_id: str, cluster: str) -> bool:
        """Whether the stack's record (kept 90 days after a delete) names ``cluster`` as the
        physical id of its ``logical_id``, a cluster resource. Any doubt is False."""
        try:
            found = (
                self._cfn.describe_stack_resources(
                    StackName=stack_id, LogicalResourceId=logical_id
                ).get("StackResources")
                or []
            )
        except (ClientError, BotoCoreError):
            return False
        return any(
            r.get("PhysicalResourceId") == cluster and r.get("ResourceType") in CLUSTER_TYPES
            for r in found
        )
