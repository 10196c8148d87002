"""The sam local invoke samples in events/ drive the handler; RDS errors read as one sentence."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from aurora_express.local.cfn_local import ResponseCollector
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster.rds import explain
from tests.support.aws import clusters
from tests.support.paths import ROOT

EVENTS = ROOT / "events"


def _sample(name: str, sim: LifecycleSimulator, cfn: ResponseCollector) -> dict[str, Any]:
    event = json.loads((EVENTS / name).read_text())
    event["ResponseURL"] = cfn.url(event["RequestId"])
    event["StackId"] = sim.stack_id  # the stack CloudFormation (the simulator) holds
    return event


def test_the_sample_events_run_a_whole_lifecycle(
    sim: LifecycleSimulator, cfn: ResponseCollector, rds: Any
) -> None:
    answers = {}
    for name in (
        "cluster-create.json",
        "cluster-update-in-place.json",
        "cluster-update-replacement.json",
        "cluster-delete.json",
    ):
        result = sim.run(_sample(name, sim, cfn))
        assert result.status == "SUCCESS", (name, result.reason)
        answers[name] = result.physical_id
    assert answers["cluster-create.json"] == "my-app-db"
    assert answers["cluster-update-replacement.json"] == "my-app-db-v2"
    assert set(clusters(rds)) == {"my-app-db"}  # CloudFormation's cleanup would delete it


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "CreateDBCluster")


def test_an_rds_error_names_the_operation_the_cluster_and_the_code() -> None:
    error = explain("ModifyDBCluster", "db-1", _client_error("InvalidParameterValue", "Bad."))
    assert error.reason == "ModifyDBCluster on cluster db-1 failed with InvalidParameterValue: Bad."
    assert error.code == "InvalidParameterValue"


@pytest.mark.parametrize(
    "code", ["DBClusterQuotaExceededFault", "InstanceQuotaExceeded", "StorageQuotaExceeded"]
)
def test_a_quota_error_says_so_plainly(code: str) -> None:
    error = explain("CreateDBCluster", "db-1", _client_error(code, "quota"))
    assert "quota" in error.reason and "db-1" in error.reason and code in error.reason


def test_the_cluster_quota_error_names_the_default_of_40() -> None:
    error = explain("CreateDBCluster", "db", _client_error("DBClusterQuotaExceededFault", "x"))
    assert "40" in error.reason


def test_a_long_aws_message_is_cut_to_fit_240_characters() -> None:
    error = explain("CreateDBCluster", "d" * 52, _client_error("InvalidParameterValue", "x" * 900))
    assert len(error.reason) <= 240
    assert error.reason.startswith(f"CreateDBCluster on cluster {'d' * 52} failed with ")


def test_an_unreachable_endpoint_is_named() -> None:
    error = explain("DescribeDBClusters", "db", EndpointConnectionError(endpoint_url="https://x"))
    assert "could not reach RDS" in error.reason and "db" in error.reason
