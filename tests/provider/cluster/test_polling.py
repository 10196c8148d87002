"""Work longer than one invocation goes on in crhelper's scheduled polls, and ends in time."""

from __future__ import annotations

import json
from typing import Any

import boto3

from aurora_express.local.moto_express import ExpressSemantics
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import handler
from provider.common.custom_resource import STARTED_AT
from tests.support.aws import clusters

LAMBDA_SECONDS = 3.0  # leaves about one second of waiting per invocation


def test_work_that_fits_in_the_first_invocation_schedules_no_poll(
    sim: LifecycleSimulator,
) -> None:
    result = sim.create({})
    assert [i.kind for i in result.invocations] == ["request"]
    assert boto3.client("events", region_name="us-east-1").list_rules()["Rules"] == []


def test_a_create_outliving_the_first_invocation_finishes_through_polling(
    sim: LifecycleSimulator, express: ExpressSemantics
) -> None:
    express.set_timings(create_seconds=3.0)
    result = sim.create({}, timeout_seconds=LAMBDA_SECONDS)
    assert result.status == "SUCCESS", result.reason
    assert result.polls >= 1
    assert result.data["ClusterIdentifier"] == result.physical_id
    assert result.rules_left == []  # crhelper removed its schedule


def test_a_delete_outliving_the_first_invocation_finishes_through_polling(
    sim: LifecycleSimulator, express: ExpressSemantics, rds: Any
) -> None:
    sim.create({})
    express.set_timings(delete_seconds=3.0)
    result = sim.delete({}, timeout_seconds=LAMBDA_SECONDS)
    assert result.status == "SUCCESS", result.reason
    assert result.polls >= 1
    assert clusters(rds) == {}
    assert result.rules_left == []


def test_polls_carry_no_cluster_state_only_the_request_start(
    express: ExpressSemantics, cfn: Any
) -> None:
    """Every decision in a poll is re-derived from DescribeDBClusters."""
    payloads: list[dict[str, Any]] = []

    def recording(event: dict[str, Any], context: Any) -> None:
        payloads.append(json.loads(json.dumps(event)))
        handler.handler(event, context)

    sim = LifecycleSimulator(recording, cfn)
    express.set_timings(create_seconds=3.0)
    result = sim.create({}, timeout_seconds=LAMBDA_SECONDS)
    assert result.status == "SUCCESS", result.reason
    polls = [p for p in payloads if "CrHelperPoll" in p]
    assert polls
    assert all(set(p["CrHelperData"]) <= {STARTED_AT, "PhysicalResourceId"} for p in polls)


def test_polling_gives_up_with_failed_before_cloudformations_timeout(
    sim: LifecycleSimulator, express: ExpressSemantics
) -> None:
    express.set_timings(create_seconds=60)
    result = sim.create({"ServiceTimeout": 8}, timeout_seconds=LAMBDA_SECONDS)
    assert result.status == "FAILED", result.reason
    assert "Gave up" in result.reason and "creating" in result.reason, result.reason
    assert result.seconds is not None and result.seconds < 8, result.invocations
    assert result.physical_id is not None and result.physical_id.startswith("app-db-")
    assert result.rules_left == []


def test_a_delete_still_running_near_the_timeout_fails_with_the_same_physical_id(
    sim: LifecycleSimulator, express: ExpressSemantics
) -> None:
    created = sim.create({})
    express.set_timings(delete_seconds=60)
    result = sim.delete({"ServiceTimeout": 8}, timeout_seconds=LAMBDA_SECONDS)
    assert result.status == "FAILED" and "deleting" in result.reason, result.reason
    assert result.physical_id == created.physical_id
