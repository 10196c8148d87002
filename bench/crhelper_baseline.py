"""The baseline: the same cluster lifecycle written the way crhelper's README shows.

``CfnResource`` with its defaults (``polling_interval=2`` minutes,
``sleep_on_delete=120`` seconds), a ``create``/``delete`` that makes the API
call and returns, and ``poll_create``/``poll_delete`` that look and return
the physical id once done. Nothing here is tuned: it is what a user of
crhelper gets.

Two changes, neither in what it does: its response goes over plain HTTP (the
bench's ResponseURL is on loopback; crhelper's sender knows only HTTPS), and
the clock is scaled, so a run takes seconds: the bench's EventBridge
fires at ``scale`` times crhelper's rate, and the Delete's 120-s sleep lasts
``scale`` times as long; ``nominal_waits`` keeps the unscaled seconds so that
the bench can report the figure scaled back.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from typing import Any

import boto3
from crhelper import CfnResource

POLLING_INTERVAL_MINUTES = 2  # crhelper's default
SLEEP_ON_DELETE = 120  # crhelper's default


class ScaledClockCfnResource(CfnResource):
    """crhelper unchanged, but its Delete sleep runs ``scale`` times as long (and is recorded)."""

    def __init__(self, scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale
        self.nominal_sleeps: list[float] = []

    def _wait_for_cwlogs(self, sleep: Any = time.sleep) -> None:
        def scaled(seconds: float) -> None:
            self.nominal_sleeps.append(seconds)
            sleep(seconds * self.scale)

        super()._wait_for_cwlogs(sleep=scaled)  # type: ignore[misc]

    def _send(self, status: str | None = None, reason: str = "", send_response: Any = None) -> None:
        # crhelper's sender speaks only HTTPS (and retries forever); the bench's
        # ResponseURL is plain HTTP on loopback. Same body, same single PUT.
        super()._send(status, reason, send_response=_http_put)  # type: ignore[misc]


def _http_put(url: str, body: dict[str, Any], ssl_verify: Any = None) -> None:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(data))}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def build(scale: float) -> tuple[ScaledClockCfnResource, Any]:
    """A README-style crhelper resource for ``Custom::AuroraExpress``, and its Lambda handler."""
    helper = ScaledClockCfnResource(
        scale, json_logging=False, log_level="INFO", boto_level="CRITICAL"
    )
    rds = boto3.client("rds", region_name=os.environ.get("AWS_REGION", "us-east-1"))

    def identifier(event: dict[str, Any]) -> str:
        return str(
            event.get("PhysicalResourceId") or event["ResourceProperties"]["ClusterIdentifier"]
        )

    @helper.create
    def create(event: dict[str, Any], context: Any) -> None:
        rds.create_db_cluster(
            DBClusterIdentifier=identifier(event),
            Engine="aurora-postgresql",
            WithExpressConfiguration=True,
        )

    @helper.poll_create
    def poll_create(event: dict[str, Any], context: Any) -> str | None:
        ident = identifier(event)
        cluster = rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]
        instance = rds.describe_db_instances(DBInstanceIdentifier=f"{ident}-instance-1")
        if cluster["Status"] == "available" and (
            instance["DBInstances"][0]["DBInstanceStatus"] == "available"
        ):
            helper.Data.update(Endpoint=cluster["Endpoint"], Port=str(cluster["Port"]))
            return ident
        return None

    @helper.delete
    def delete(event: dict[str, Any], context: Any) -> None:
        ident = identifier(event)
        rds.delete_db_instance(DBInstanceIdentifier=f"{ident}-instance-1")
        rds.delete_db_cluster(DBClusterIdentifier=ident, SkipFinalSnapshot=True)

    @helper.poll_delete
    def poll_delete(event: dict[str, Any], context: Any) -> bool | None:
        try:
            rds.describe_db_clusters(DBClusterIdentifier=identifier(event))
        except rds.exceptions.DBClusterNotFoundFault:
            return True
        return None

    def handler(event: dict[str, Any], context: Any) -> None:
        helper(event, context)

    return helper, handler
