"""Create: a new express cluster, available, answered with every attribute."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aurora_express.local.moto_express import ExpressSemantics
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import naming
from tests.support.aws import clusters, tags

ATTRIBUTES = {
    "ClusterIdentifier",
    "RestoredFrom",
    "ClusterArn",
    "ClusterResourceId",
    "Endpoint",
    "ReaderEndpoint",
    "Port",
    "MasterUsername",
    "EngineVersion",
    "InstanceIdentifier",
    "IamDbUserArn",
}


def test_create_with_defaults_answers_success_with_every_attribute(
    sim: LifecycleSimulator, rds: Any
) -> None:
    result = sim.create({})
    assert result.status == "SUCCESS", result.reason
    assert set(result.data) == ATTRIBUTES
    cluster = clusters(rds)[result.physical_id]
    assert result.data["ClusterIdentifier"] == result.physical_id
    assert result.data["Endpoint"] == cluster["Endpoint"]
    assert result.data["MasterUsername"] == "postgres"
    assert result.data["InstanceIdentifier"] == f"{result.physical_id}-instance-1"
    assert result.data["IamDbUserArn"] == (
        f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{cluster['DbClusterResourceId']}/postgres"
    )


def test_the_default_identifier_is_derived_from_stack_and_logical_id(
    sim: LifecycleSimulator,
) -> None:
    result = sim.create({})
    assert result.physical_id is not None and result.physical_id.startswith("app-db-")
    assert naming.is_valid(result.physical_id)


def test_the_cluster_is_created_with_express_configuration_ownership_and_on_delete_tags(
    sim: LifecycleSimulator, rds: Any
) -> None:
    result = sim.create({})
    cluster = clusters(rds)[result.physical_id]
    assert cluster["Engine"] == "aurora-postgresql"
    assert cluster["Status"] == "available"
    assert tags(cluster) == {
        naming.OWNER_STACK_TAG: sim.stack_id,
        naming.OWNER_LOGICAL_TAG: "Db",
        naming.ON_DELETE_TAG: "Delete",
    }


def test_the_answer_waits_for_the_cluster_and_its_writer(sim: LifecycleSimulator, rds: Any) -> None:
    result = sim.create({})
    assert result.seconds is not None and result.seconds >= 0.3  # CREATE_SECONDS
    writer = rds.describe_db_instances(DBInstanceIdentifier=f"{result.physical_id}-instance-1")
    assert writer["DBInstances"][0]["DBInstanceStatus"] == "available"


def test_create_with_every_property_applies_each_of_them(sim: LifecycleSimulator, rds: Any) -> None:
    result = sim.create(
        {
            "ClusterIdentifier": "feature/ABC-123_Login",
            "MasterUsername": "app_admin",
            "EngineVersion": "17.5",
            "AllowMajorVersionUpgrade": True,
            "MinCapacity": 0.5,
            "MaxCapacity": 8,
            "SecondsUntilAutoPause": 600,
            "EnableDataApi": True,
            "BackupRetentionPeriod": 7,
            "DeletionProtection": True,
            "Tags": [{"Key": "team", "Value": "data"}],
            "OnDelete": "Snapshot",
            "ExpiresAfter": "72h",
            "ServiceTimeout": 1800,
        }
    )
    assert result.status == "SUCCESS", result.reason
    assert result.physical_id == "feature-abc-123-login"
    cluster = clusters(rds)["feature-abc-123-login"]
    assert cluster["MasterUsername"] == "app_admin"
    assert cluster["EngineVersion"] == "17.5"
    assert cluster["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 0.5,
        "MaxCapacity": 8.0,
        "SecondsUntilAutoPause": 600,
    }
    assert cluster["HttpEndpointEnabled"] is True
    assert cluster["BackupRetentionPeriod"] == 7
    assert cluster["DeletionProtection"] is True
    assert tags(cluster)["team"] == "data"
    assert naming.EXPIRES_AT_TAG in tags(cluster)
    assert result.data["EngineVersion"] == "17.5"
    assert result.data["MasterUsername"] == "app_admin"


def test_engine_version_and_data_api_are_applied_after_creation(
    sim: LifecycleSimulator, rds_calls: list[str]
) -> None:
    """Express configuration refuses both at creation: a ModifyDBCluster follows."""
    result = sim.create({"EngineVersion": "17.5", "EnableDataApi": True})
    assert result.status == "SUCCESS", result.reason
    assert rds_calls.index("CreateDBCluster") < rds_calls.index("ModifyDBCluster")


def test_without_refused_settings_no_modification_follows(
    sim: LifecycleSimulator, rds_calls: list[str]
) -> None:
    sim.create({"MaxCapacity": 4})
    assert "ModifyDBCluster" not in rds_calls


BAD_INPUTS: list[tuple[str, Any]] = [
    ("MaxCapacity", "300"),
    ("MinCapacity", "0.3"),
    ("SecondsUntilAutoPause", "60"),
    ("BackupRetentionPeriod", "40"),
    ("DeletionProtection", "sometimes"),
    ("EnableDataApi", "on-demand"),
    ("OnDelete", "Keep"),
    ("ExpiresAfter", "forever"),
    ("ClusterIdentifier", "__"),
    ("MasterUsername", "9lives"),
    ("EngineVersion", "newest"),
    ("Tags", [{"Key": "aws:x", "Value": "y"}]),
    ("Colour", "blue"),
]


@pytest.mark.parametrize(("prop", "value"), BAD_INPUTS)
def test_a_bad_input_fails_naming_the_property_before_any_rds_call(
    sim: LifecycleSimulator, rds_calls: list[str], prop: str, value: Any
) -> None:
    result = sim.create({prop: value})
    assert result.status == "FAILED"
    assert prop in result.reason
    assert rds_calls == []


def test_max_capacity_below_min_capacity_fails_before_any_rds_call(
    sim: LifecycleSimulator, rds_calls: list[str]
) -> None:
    result = sim.create({"MinCapacity": 8, "MaxCapacity": 2})
    assert result.status == "FAILED" and "MaxCapacity" in result.reason
    assert rds_calls == []


def test_a_failed_create_answers_an_id_that_names_no_cluster(sim: LifecycleSimulator) -> None:
    result = sim.create({"MaxCapacity": "300"})
    assert result.physical_id is not None and not naming.is_valid(result.physical_id)


def test_a_repeated_create_adopts_the_cluster_it_created(
    sim: LifecycleSimulator, rds: Any, rds_calls: list[str]
) -> None:
    first = sim.create({}, request_id="same-request")
    again = sim.create({}, request_id="same-request")
    assert again.status == "SUCCESS", again.reason
    assert again.physical_id == first.physical_id
    assert list(clusters(rds)) == [first.physical_id]
    assert rds_calls.count("CreateDBCluster") == 1


def _foreign_cluster(rds: Any, identifier: str, owner_tags: dict[str, str]) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine="aurora-postgresql",
        WithExpressConfiguration=True,
        Tags=[{"Key": k, "Value": v} for k, v in owner_tags.items()],
    )


def test_create_over_a_cluster_owned_by_someone_else_fails_and_leaves_it_alone(
    sim: LifecycleSimulator, rds: Any, rds_calls: list[str]
) -> None:
    _foreign_cluster(rds, "shared-db", {"team": "billing"})
    result = sim.create({"ClusterIdentifier": "shared-db"})
    assert result.status == "FAILED"
    assert "shared-db" in result.reason and "own" in result.reason
    assert not naming.is_valid(result.physical_id or "")
    assert tags(clusters(rds)["shared-db"]) == {"team": "billing"}
    assert set(rds_calls) <= {"DescribeDBClusters", "DescribeDBInstances"}


def test_create_over_a_cluster_of_another_stack_fails(sim: LifecycleSimulator, rds: Any) -> None:
    _foreign_cluster(
        rds, "other-db", naming.ownership_tags("arn:aws:cloudformation:::stack/other/1", "Db")
    )
    result = sim.create({"ClusterIdentifier": "other-db"})
    assert result.status == "FAILED" and "other-db" in result.reason


def test_a_cluster_ending_in_a_failed_state_fails_the_create_with_its_id(
    sim: LifecycleSimulator, express: ExpressSemantics
) -> None:
    """The physical id names the cluster, so the stack's Delete removes it."""
    express.fail_creation("doomed", status="incompatible-parameters")
    result = sim.create({"ClusterIdentifier": "doomed"})
    assert result.status == "FAILED"
    assert "doomed" in result.reason and "incompatible-parameters" in result.reason
    assert result.physical_id == "doomed"


def test_a_major_engine_version_without_allow_major_version_upgrade_fails_naming_it(
    sim: LifecycleSimulator,
) -> None:
    """Express creates the default major version; going to another one must be allowed."""
    result = sim.create({"ClusterIdentifier": "old-major", "EngineVersion": "16.4"})
    assert result.status == "FAILED"
    assert "EngineVersion" in result.reason and "AllowMajorVersionUpgrade" in result.reason
    assert result.physical_id == "old-major"


def test_a_quota_refusal_says_so_plainly_naming_cluster_operation_and_code(
    sim: LifecycleSimulator, express: ExpressSemantics, rds: Any
) -> None:
    express.refuse_next_create("DBClusterQuotaExceededFault")
    result = sim.create({"ClusterIdentifier": "one-too-many"})
    assert result.status == "FAILED"
    for part in ("quota", "one-too-many", "CreateDBCluster", "DBClusterQuotaExceededFault"):
        assert part in result.reason
    assert len(result.reason) < 240
    assert not naming.is_valid(result.physical_id or "")
    assert clusters(rds) == {}


def test_the_response_stays_under_4096_bytes_with_the_longest_names(
    sim: LifecycleSimulator,
) -> None:
    result = sim.create({"ClusterIdentifier": "x" * 255, "MasterUsername": "u" * 63})
    assert result.status == "SUCCESS", result.reason
    assert len(json.dumps(result.response).encode()) < 4096
