"""Stacks and clusters as the provider would have left them, in moto (the cap, the reaper)."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aurora_express.local import moto_stacks
from provider.cluster import naming
from tests.support.aws import ACCOUNT, REGION

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:aurora-express-reaper"
_TEMPLATE = json.dumps({"Resources": {"Handle": {"Type": "AWS::SNS::Topic"}}})


class World:
    """Stacks and clusters as the provider would have left them."""

    def __init__(self, rds: Any, cloudformation: Any) -> None:
        self.rds, self.cfn = rds, cloudformation

    def stack(self, name: str) -> str:
        return str(self.cfn.create_stack(StackName=name, TemplateBody=_TEMPLATE)["StackId"])

    def deleted_stack(self, name: str) -> str:
        stack_id = self.stack(name)
        self.cfn.delete_stack(StackName=stack_id)
        return stack_id

    def cluster(
        self,
        identifier: str,
        *,
        stack_id: str | None = None,
        logical_id: str | None = "Db",
        expires_in: timedelta | None = None,
        extra_tags: dict[str, str] | None = None,
        deletion_protection: bool = False,
        by_hand: bool = False,
    ) -> str:
        """A cluster with the tags given; unless ``by_hand``, also as the provider leaves one:
        the owning stack's record (when moto holds the stack) names it as its resource."""
        tags = dict(extra_tags or {})
        if stack_id is not None:
            tags[naming.OWNER_STACK_TAG] = stack_id
            if logical_id is not None:
                tags[naming.OWNER_LOGICAL_TAG] = logical_id
        if expires_in is not None:
            moment = datetime.now(UTC) + expires_in
            tags[naming.EXPIRES_AT_TAG] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.rds.create_db_cluster(
            DBClusterIdentifier=identifier,
            Engine="aurora-postgresql",
            WithExpressConfiguration=True,
            DeletionProtection=deletion_protection,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
        if stack_id is not None and logical_id is not None and not by_hand:
            with contextlib.suppress(Exception):  # a stack moto never held: no record
                moto_stacks.declare(
                    stack_id, logical_id, "Custom::AuroraExpress", identifier, stack_status=None
                )
        return identifier

    def wait_available(self) -> None:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            clusters = self.rds.describe_db_clusters()["DBClusters"]
            instances = self.rds.describe_db_instances()["DBInstances"]
            statuses = [c["Status"] for c in clusters] + [i["DBInstanceStatus"] for i in instances]
            if all(s == "available" for s in statuses):
                return
            time.sleep(0.02)
        raise AssertionError("clusters never became available")

    def clusters(self) -> dict[str, str]:
        """identifier -> status of every cluster moto still holds."""
        return {
            c["DBClusterIdentifier"]: c["Status"]
            for c in self.rds.describe_db_clusters()["DBClusters"]
        }

    def instances(self) -> dict[str, str]:
        return {
            i["DBInstanceIdentifier"]: i["DBInstanceStatus"]
            for i in self.rds.describe_db_instances()["DBInstances"]
        }


@pytest.fixture
def world(rds: Any, cloudformation: Any) -> World:
    return World(rds, cloudformation)
