"""Custom::AuroraExpress restored from a snapshot or a point in time, against moto with express.

Every test drives the real handler with CloudFormation events (scalars as strings)
and reads the response crhelper PUTs. The parent is an express cluster created the
way the provider creates one; the restored cluster must end ``available`` with its
writer and IAM auth for its master user, and the parent must be left as it was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import moto
import pytest

from aurora_express.local.cfn_local import ResponseCollector
from aurora_express.local.moto_express import ExpressSemantics, express_semantics
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import handler as cluster_handler
from provider.cluster import naming
from provider.common.custom_resource import STARTED_AT

CREATE_SECONDS = 0.3
DELETE_SECONDS = 0.3
PARENT = "staging"
SNAPSHOT = "staging-nightly"


# -- fixtures (as tests/cluster/conftest.py has them) ----------------------------------


@pytest.fixture(autouse=True)
def fast_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURORA_EXPRESS_POLL_SECONDS", "0.02")
    monkeypatch.setenv("AURORA_EXPRESS_SAFETY_SECONDS", "0.5")
    monkeypatch.setenv("AURORA_EXPRESS_RETRY_SECONDS", "0.1")


@pytest.fixture
def express() -> Iterator[ExpressSemantics]:
    with (
        moto.mock_aws(),
        express_semantics(create_seconds=CREATE_SECONDS, delete_seconds=DELETE_SECONDS) as live,
    ):
        yield live


@pytest.fixture
def rds(express: ExpressSemantics) -> Any:
    return boto3.client("rds", region_name="us-east-1")


@pytest.fixture
def cfn() -> Iterator[ResponseCollector]:
    with ResponseCollector() as collector:
        yield collector


@pytest.fixture
def sim(express: ExpressSemantics, cfn: ResponseCollector) -> LifecycleSimulator:
    """The branch stack ``branch``, resource ``Db``."""
    return LifecycleSimulator(cluster_handler.handler, cfn, stack_name="branch", logical_id="Db")


@pytest.fixture
def calls(express: ExpressSemantics) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The RDS operations the handler calls, with their parameters, in order."""
    seen: list[tuple[str, dict[str, Any]]] = []
    client = cluster_handler.api().client

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append((model.name, dict(params)))

    client.meta.events.register("provide-client-params.rds", record)
    yield seen
    client.meta.events.unregister("provide-client-params.rds", record)


@pytest.fixture
def parent(express: ExpressSemantics, cfn: ResponseCollector, rds: Any) -> str:
    """``staging``, created by the provider for stack ``staging``, and its snapshot."""
    staging = LifecycleSimulator(cluster_handler.handler, cfn, stack_name="staging")
    created = staging.create({"ClusterIdentifier": PARENT, "Tags": [{"Key": "team", "Value": "x"}]})
    assert created.status == "SUCCESS", created.reason
    rds.create_db_cluster_snapshot(DBClusterIdentifier=PARENT, DBClusterSnapshotIdentifier=SNAPSHOT)
    return PARENT


def names(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in calls]


def params_of(calls: list[tuple[str, dict[str, Any]]], operation: str) -> dict[str, Any]:
    (found,) = [params for name, params in calls if name == operation]
    return found


def cluster(rds: Any, identifier: str) -> dict[str, Any]:
    return dict(rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0])


def tags(described: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in described.get("TagList", [])}


def fingerprint(rds: Any, express: ExpressSemantics, identifier: str = PARENT) -> dict[str, Any]:
    """What a restore must never change of its source."""
    described = cluster(rds, identifier)
    instances = rds.describe_db_instances(
        Filters=[{"Name": "db-cluster-id", "Values": [identifier]}]
    )["DBInstances"]
    return {
        "status": described["Status"],
        "tags": tags(described),
        "instances": sorted((i["DBInstanceIdentifier"], i["DBInstanceStatus"]) for i in instances),
        "version": described["EngineVersion"],
        "scaling": described.get("ServerlessV2ScalingConfiguration"),
        "protection": described["DeletionProtection"],
        "master_auth": express.master_auth.get(identifier),
    }


# -- from a snapshot -------------------------------------------------------------------


def test_a_restore_from_a_snapshot_ends_available_with_its_writer_and_iam_auth(
    sim: LifecycleSimulator, parent: str, rds: Any, express: ExpressSemantics
) -> None:
    result = sim.create({"SourceSnapshotIdentifier": SNAPSHOT})
    assert result.status == "SUCCESS", result.reason
    restored = cluster(rds, result.physical_id or "")
    assert restored["Status"] == "available"
    assert restored["IAMDatabaseAuthenticationEnabled"] is True
    writer = rds.describe_db_instances(DBInstanceIdentifier=f"{result.physical_id}-instance-1")
    assert writer["DBInstances"][0]["DBInstanceStatus"] == "available"
    assert writer["DBInstances"][0]["DBInstanceClass"] == "db.serverless"
    assert express.master_auth[result.physical_id or ""] == "iam-db-auth"


def test_a_restore_from_a_snapshot_answers_every_attribute_and_restored_from(
    sim: LifecycleSimulator, parent: str, rds: Any
) -> None:
    result = sim.create({"SourceSnapshotIdentifier": SNAPSHOT})
    restored = cluster(rds, result.physical_id or "")
    taken = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=SNAPSHOT)[
        "DBClusterSnapshots"
    ][0]["SnapshotCreateTime"]
    assert result.data["RestoredFrom"] == (
        f"snapshot:{SNAPSHOT}@{taken.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    )
    assert result.data["ClusterIdentifier"] == result.physical_id
    assert result.data["Endpoint"] == restored["Endpoint"]
    assert result.data["InstanceIdentifier"] == f"{result.physical_id}-instance-1"
    assert result.data["MasterUsername"] == "postgres"
    assert result.data["IamDbUserArn"].endswith(f"{restored['DbClusterResourceId']}/postgres")


def test_the_restore_steps_run_in_order(
    sim: LifecycleSimulator, parent: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    """Restore, then (once available) the writer, then (once it is) IAM auth, then answer."""
    sim.create({"SourceSnapshotIdentifier": SNAPSHOT})
    seen = [n for n in names(calls) if not n.startswith("Describe")]
    assert seen[:4] == [
        "RestoreDBClusterFromSnapshot",
        "CreateDBInstance",
        "ModifyDBCluster",
        "AddTagsToResource",
    ]
    assert params_of(calls, "ModifyDBCluster")["MasterUserAuthenticationType"] == "iam-db-auth"


def test_a_snapshot_restore_asks_for_express_networking_and_iam_auth(
    sim: LifecycleSimulator, parent: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    sim.create({"SourceSnapshotIdentifier": SNAPSHOT, "MaxCapacity": "4"})
    args = params_of(calls, "RestoreDBClusterFromSnapshot")
    assert args["SnapshotIdentifier"] == SNAPSHOT
    assert args["Engine"] == "aurora-postgresql"
    assert (args["EnableInternetAccessGateway"], args["EnableVPCNetworking"]) == (True, False)
    assert args["EnableIAMDatabaseAuthentication"] is True
    assert args["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 4
    writer = params_of(calls, "CreateDBInstance")
    assert writer["DBInstanceClass"] == "db.serverless"
    assert writer["DBInstanceIdentifier"] == f"{writer['DBClusterIdentifier']}-instance-1"


def test_the_restored_cluster_carries_the_ownership_tags_and_the_templates_settings(
    sim: LifecycleSimulator, parent: str, rds: Any
) -> None:
    result = sim.create(
        {
            "SourceSnapshotIdentifier": SNAPSHOT,
            "MaxCapacity": "4",
            "EnableDataApi": "true",
            "ExpiresAfter": "7d",
            "Tags": [{"Key": "branch", "Value": "feature/x"}],
        }
    )
    assert result.status == "SUCCESS", result.reason
    restored = cluster(rds, result.physical_id or "")
    found = tags(restored)
    assert found[naming.OWNER_STACK_TAG] == sim.stack_id
    assert found[naming.OWNER_LOGICAL_TAG] == "Db"
    assert found["branch"] == "feature/x"
    assert naming.EXPIRES_AT_TAG in found
    assert "team" not in found  # the source's own tags are not copied over
    assert restored["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 4
    assert restored["HttpEndpointEnabled"] is True


def test_a_snapshot_named_by_its_arn_is_restored(
    sim: LifecycleSimulator, parent: str, rds: Any
) -> None:
    arn = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=SNAPSHOT)[
        "DBClusterSnapshots"
    ][0]["DBClusterSnapshotArn"]
    result = sim.create({"SourceSnapshotIdentifier": arn})
    assert result.status == "SUCCESS", result.reason
    assert result.data["RestoredFrom"].startswith(f"snapshot:{arn}@")


def test_an_engine_version_above_the_sources_is_applied_after_the_restore(
    sim: LifecycleSimulator, parent: str, rds: Any, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    result = sim.create({"SourceSnapshotIdentifier": SNAPSHOT, "EngineVersion": "17.5"})
    assert result.status == "SUCCESS", result.reason
    assert cluster(rds, result.physical_id or "")["EngineVersion"] == "17.5"
    assert "EngineVersion" not in params_of(calls, "RestoreDBClusterFromSnapshot")


# -- from a point in time ----------------------------------------------------------------


def test_a_restore_to_the_latest_time_ends_available_with_its_writer_and_iam_auth(
    sim: LifecycleSimulator,
    parent: str,
    rds: Any,
    express: ExpressSemantics,
    calls: list[tuple[str, dict[str, Any]]],
) -> None:
    result = sim.create({"SourceClusterIdentifier": PARENT})
    assert result.status == "SUCCESS", result.reason
    args = params_of(calls, "RestoreDBClusterToPointInTime")
    assert args["SourceDBClusterIdentifier"] == PARENT
    assert args["UseLatestRestorableTime"] is True
    assert "RestoreToTime" not in args
    assert args["RestoreType"] == "full-copy"
    assert (args["EnableInternetAccessGateway"], args["EnableVPCNetworking"]) == (True, False)
    assert cluster(rds, result.physical_id or "")["Status"] == "available"
    assert express.master_auth[result.physical_id or ""] == "iam-db-auth"
    assert result.data["RestoredFrom"].startswith(f"cluster:{PARENT}@")


def test_a_restore_to_a_given_time_restores_that_time(
    sim: LifecycleSimulator, parent: str, rds: Any, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    earliest = cluster(rds, PARENT)["EarliestRestorableTime"].astimezone(UTC)
    moment = (earliest + timedelta(seconds=1)).replace(microsecond=0)  # whole seconds, inside
    while datetime.now(UTC) <= moment:  # and restorable: the latest time is now (moto)
        time.sleep(0.05)
    when = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = sim.create({"SourceClusterIdentifier": PARENT, "RestoreToTime": when})
    assert result.status == "SUCCESS", result.reason
    args = params_of(calls, "RestoreDBClusterToPointInTime")
    assert args["RestoreToTime"] == moment
    assert "UseLatestRestorableTime" not in args
    assert result.data["RestoredFrom"] == f"cluster:{PARENT}@{when}"


def test_a_clone_is_restored_copy_on_write_from_the_latest_time(
    sim: LifecycleSimulator, parent: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    result = sim.create({"SourceClusterIdentifier": PARENT, "RestoreType": "copy-on-write"})
    assert result.status == "SUCCESS", result.reason
    args = params_of(calls, "RestoreDBClusterToPointInTime")
    assert (args["RestoreType"], args["UseLatestRestorableTime"]) == ("copy-on-write", True)


def test_a_source_cluster_named_as_its_template_named_it_is_found(
    sim: LifecycleSimulator, express: ExpressSemantics, cfn: ResponseCollector
) -> None:
    """``app-${BranchName}`` in both templates: the provider normalizes both the same way."""
    parent_stack = LifecycleSimulator(cluster_handler.handler, cfn, stack_name="main")
    assert parent_stack.create({"ClusterIdentifier": "app-Feature/X_1"}).status == "SUCCESS"
    result = sim.create({"SourceClusterIdentifier": "app-Feature/X_1"})
    assert result.status == "SUCCESS", result.reason
    assert result.data["RestoredFrom"].startswith("cluster:app-feature-x-1@")


def test_a_time_outside_the_sources_window_fails_naming_restore_to_time(
    sim: LifecycleSimulator, parent: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    long_ago = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = sim.create({"SourceClusterIdentifier": PARENT, "RestoreToTime": long_ago})
    assert result.status == "FAILED"
    assert result.reason.startswith("Property RestoreToTime:"), result.reason
    assert "earliest restorable time" in result.reason
    assert "RestoreDBClusterToPointInTime" not in names(calls)


def test_a_time_in_the_future_fails_naming_restore_to_time(
    sim: LifecycleSimulator, parent: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = sim.create({"SourceClusterIdentifier": PARENT, "RestoreToTime": later})
    assert result.status == "FAILED"
    assert result.reason.startswith("Property RestoreToTime:"), result.reason
    assert "latest restorable time" in result.reason
    assert "RestoreDBClusterToPointInTime" not in names(calls)


# -- refused before any AWS call ----------------------------------------------------------

BAD_COMBINATIONS = [
    (
        {"SourceSnapshotIdentifier": SNAPSHOT, "SourceClusterIdentifier": PARENT},
        "SourceClusterIdentifier",
    ),
    (
        {"SourceSnapshotIdentifier": SNAPSHOT, "RestoreToTime": "2025-06-01T03:00:00Z"},
        "RestoreToTime",
    ),
    ({"SourceSnapshotIdentifier": SNAPSHOT, "RestoreType": "full-copy"}, "RestoreType"),
    ({"RestoreToTime": "2025-06-01T03:00:00Z"}, "RestoreToTime"),
    ({"RestoreType": "copy-on-write"}, "RestoreType"),
    (
        {
            "SourceClusterIdentifier": PARENT,
            "RestoreType": "copy-on-write",
            "RestoreToTime": "2025-06-01T03:00:00Z",
        },
        "RestoreToTime",
    ),
    ({"SourceClusterIdentifier": PARENT, "RestoreToTime": "2025-06-01 03:00"}, "RestoreToTime"),
    ({"SourceClusterIdentifier": PARENT, "RestoreType": "clone"}, "RestoreType"),
    ({"SourceSnapshotIdentifier": "no/such:thing"}, "SourceSnapshotIdentifier"),
    ({"SourceClusterIdentifier": "arn:aws:rds:x:1:cluster:y"}, "SourceClusterIdentifier"),
    ({"SourceClusterIdentifier": "1234"}, "SourceClusterIdentifier"),
    (
        {
            "SourceSnapshotIdentifier": SNAPSHOT,
            "Tags": [{"Key": f"k{n}", "Value": "v"} for n in range(45)],
        },
        "Tags",
    ),
    ({"WaitForDeletion": "soon"}, "WaitForDeletion"),
]


@pytest.mark.parametrize(("properties", "prop"), BAD_COMBINATIONS)
def test_every_bad_combination_is_refused_before_any_aws_call(
    sim: LifecycleSimulator,
    calls: list[tuple[str, dict[str, Any]]],
    properties: dict[str, Any],
    prop: str,
) -> None:
    result = sim.create(properties)
    assert result.status == "FAILED"
    assert result.reason.startswith(f"Property {prop}:"), result.reason
    assert calls == []


# -- refused by the source ---------------------------------------------------------------


def test_a_missing_snapshot_fails_naming_the_property_and_restores_nothing(
    sim: LifecycleSimulator, express: ExpressSemantics, rds: Any, calls: list[Any]
) -> None:
    result = sim.create({"SourceSnapshotIdentifier": "nope"})
    assert result.status == "FAILED"
    assert result.reason.startswith("Property SourceSnapshotIdentifier:"), result.reason
    assert "snapshot nope" in result.reason
    assert "RestoreDBClusterFromSnapshot" not in names(calls)
    assert rds.describe_db_clusters()["DBClusters"] == []


def test_a_missing_source_cluster_fails_naming_the_property(
    sim: LifecycleSimulator, express: ExpressSemantics
) -> None:
    result = sim.create({"SourceClusterIdentifier": "nope"})
    assert result.status == "FAILED"
    assert result.reason.startswith("Property SourceClusterIdentifier:"), result.reason
    assert "cluster nope" in result.reason


def test_a_snapshot_still_being_taken_fails_saying_so(
    sim: LifecycleSimulator, parent: str, rds: Any, express: ExpressSemantics
) -> None:
    express.set_timings(snapshot_seconds=60)
    rds.create_db_cluster_snapshot(DBClusterIdentifier=PARENT, DBClusterSnapshotIdentifier="s2")
    result = sim.create({"SourceSnapshotIdentifier": "s2"})
    assert result.status == "FAILED"
    assert "snapshot s2 is creating" in result.reason, result.reason


def test_a_source_that_is_not_aurora_postgresql_fails_naming_the_source(
    sim: LifecycleSimulator, rds: Any, calls: list[Any]
) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier="mysql",
        Engine="aurora-mysql",
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-1",
    )
    result = sim.create({"SourceClusterIdentifier": "mysql"})
    assert result.status == "FAILED"
    assert result.reason.startswith(
        "Property SourceClusterIdentifier: cluster mysql is aurora-mysql"
    )
    assert "only Aurora PostgreSQL" in result.reason
    assert "RestoreDBClusterToPointInTime" not in names(calls)


def test_a_version_express_does_not_offer_fails_with_the_services_reason_naming_the_source(
    sim: LifecycleSimulator, rds: Any
) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier="legacy",
        Engine="aurora-postgresql",
        EngineVersion="12.7",
        MasterUsername="postgres",
        MasterUserPassword="not-a-secret-1",
    )
    result = sim.create({"SourceClusterIdentifier": "legacy"})
    assert result.status == "FAILED"
    assert result.reason.startswith(
        "Property SourceClusterIdentifier: RDS refused to restore cluster legacy with express "
        "configuration (InvalidParameterCombination)"
    ), result.reason
    assert "12.7" in result.reason
    assert len(result.reason) <= 240
    assert result.physical_id is not None and result.physical_id.startswith("aurora-express:")


def test_an_engine_version_below_the_sources_fails_before_the_restore(
    sim: LifecycleSimulator, parent: str, calls: list[Any]
) -> None:
    result = sim.create({"SourceSnapshotIdentifier": SNAPSHOT, "EngineVersion": "17.1"})
    assert result.status == "FAILED"
    assert result.reason.startswith("Property EngineVersion: must be no lower than"), result.reason
    assert "17.4" in result.reason
    assert "RestoreDBClusterFromSnapshot" not in names(calls)


def test_a_major_upgrade_at_restore_needs_allow_major_version_upgrade(
    sim: LifecycleSimulator, parent: str, calls: list[Any]
) -> None:
    result = sim.create({"SourceSnapshotIdentifier": SNAPSHOT, "EngineVersion": "18.1"})
    assert result.status == "FAILED"
    assert "AllowMajorVersionUpgrade" in result.reason, result.reason
    assert "RestoreDBClusterFromSnapshot" not in names(calls)


def test_a_master_username_other_than_the_sources_fails_naming_it(
    sim: LifecycleSimulator, parent: str
) -> None:
    result = sim.create({"SourceSnapshotIdentifier": SNAPSHOT, "MasterUsername": "app"})
    assert result.status == "FAILED"
    assert result.reason.startswith("Property MasterUsername:"), result.reason
    assert "(postgres)" in result.reason


def test_the_sources_own_master_username_may_be_given(sim: LifecycleSimulator, parent: str) -> None:
    result = sim.create({"SourceSnapshotIdentifier": SNAPSHOT, "MasterUsername": "postgres"})
    assert result.status == "SUCCESS", result.reason


def test_a_restore_beyond_max_clusters_fails_before_the_restore(
    sim: LifecycleSimulator, parent: str, monkeypatch: pytest.MonkeyPatch, calls: list[Any]
) -> None:
    monkeypatch.setenv("MAX_CLUSTERS", "1")
    result = sim.create({"SourceSnapshotIdentifier": SNAPSHOT})
    assert result.status == "FAILED"
    assert "MaxClusters is 1" in result.reason
    assert "RestoreDBClusterFromSnapshot" not in names(calls)


# -- the source is never touched -------------------------------------------------------------


@pytest.mark.parametrize(
    "properties",
    [
        {"SourceSnapshotIdentifier": SNAPSHOT},
        {"SourceClusterIdentifier": PARENT},
        {"SourceClusterIdentifier": PARENT, "RestoreType": "copy-on-write"},
        {"SourceSnapshotIdentifier": SNAPSHOT, "EngineVersion": "17.1"},  # refused
    ],
    ids=["snapshot", "point-in-time", "clone", "refused"],
)
def test_the_source_is_untouched_by_a_restore_and_by_its_delete(
    sim: LifecycleSimulator,
    parent: str,
    rds: Any,
    express: ExpressSemantics,
    calls: list[tuple[str, dict[str, Any]]],
    properties: dict[str, Any],
) -> None:
    before = fingerprint(rds, express)
    created = sim.create(properties)
    sim.delete(properties, physical_id=created.physical_id)
    assert fingerprint(rds, express) == before
    parent_arn = cluster(rds, PARENT)["DBClusterArn"]
    for name, params in calls:
        if not name.startswith("Describe"):
            assert PARENT not in (params.get("DBClusterIdentifier"), params.get("ResourceName"))
            assert parent_arn != params.get("ResourceName")


# -- replacement, delete, polls -------------------------------------------------------------


def test_a_new_source_replaces_the_cluster(sim: LifecycleSimulator, parent: str, rds: Any) -> None:
    first = sim.create({"SourceSnapshotIdentifier": SNAPSHOT})
    rds.create_db_cluster_snapshot(DBClusterIdentifier=PARENT, DBClusterSnapshotIdentifier="s2")
    second = sim.update(
        {"SourceSnapshotIdentifier": "s2"}, old={"SourceSnapshotIdentifier": SNAPSHOT}
    )
    assert second.status == "SUCCESS", second.reason
    assert second.physical_id != first.physical_id
    assert second.data["RestoredFrom"].startswith("snapshot:s2@")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({}, {"SourceSnapshotIdentifier": SNAPSHOT}),
        ({"SourceSnapshotIdentifier": SNAPSHOT}, {}),
        ({"SourceSnapshotIdentifier": SNAPSHOT}, {"SourceClusterIdentifier": PARENT}),
        (
            {"SourceClusterIdentifier": PARENT},
            {"SourceClusterIdentifier": PARENT, "RestoreType": "copy-on-write"},
        ),
    ],
    ids=["added", "removed", "other-kind", "restore-type"],
)
def test_any_source_change_replaces_the_cluster(
    sim: LifecycleSimulator, parent: str, old: dict[str, Any], new: dict[str, Any]
) -> None:
    first = sim.create(old)
    second = sim.update(new, old=old)
    assert second.status == "SUCCESS", second.reason
    assert second.physical_id != first.physical_id


def test_the_same_source_spelled_otherwise_is_an_update_in_place(
    sim: LifecycleSimulator, parent: str
) -> None:
    old = {"SourceClusterIdentifier": PARENT}
    first = sim.create(old)
    new = {"SourceClusterIdentifier": PARENT.upper(), "RestoreType": "full-copy", "MaxCapacity": 8}
    second = sim.update(new, old=old)
    assert second.status == "SUCCESS", second.reason
    assert second.physical_id == first.physical_id
    assert second.data["RestoredFrom"] == first.data["RestoredFrom"]


def test_a_new_source_under_a_fixed_identifier_fails_naming_the_property(
    sim: LifecycleSimulator, parent: str
) -> None:
    old = {"ClusterIdentifier": "pinned", "SourceSnapshotIdentifier": SNAPSHOT}
    sim.create(old)
    result = sim.update({"ClusterIdentifier": "pinned"}, old=old)
    assert result.status == "FAILED"
    assert result.reason.startswith("Property SourceSnapshotIdentifier:"), result.reason


def test_an_in_place_update_of_a_restored_cluster_keeps_restored_from(
    sim: LifecycleSimulator, parent: str, rds: Any
) -> None:
    old = {"SourceSnapshotIdentifier": SNAPSHOT}
    first = sim.create(old)
    second = sim.update({**old, "MaxCapacity": 8}, old=old)
    assert second.physical_id == first.physical_id
    assert second.data["RestoredFrom"] == first.data["RestoredFrom"]
    described = cluster(rds, first.physical_id or "")
    assert described["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 8


def test_a_restored_cluster_is_deleted_as_any_other(
    sim: LifecycleSimulator, parent: str, rds: Any
) -> None:
    created = sim.create({"SourceSnapshotIdentifier": SNAPSHOT})
    deleted = sim.delete({"SourceSnapshotIdentifier": SNAPSHOT})
    assert deleted.status == "SUCCESS", deleted.reason
    identifiers = {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]}
    assert identifiers == {PARENT}
    instances = {i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]}
    assert instances == {f"{PARENT}-instance-1"}
    assert created.physical_id == deleted.physical_id


def test_a_repeated_create_adopts_the_cluster_it_restored(
    sim: LifecycleSimulator, parent: str, rds: Any, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    props = {"SourceSnapshotIdentifier": SNAPSHOT}
    first = sim.create(props, request_id="same-request")
    again = sim.create(props, request_id="same-request")
    assert again.status == "SUCCESS", again.reason
    assert again.physical_id == first.physical_id
    assert names(calls).count("RestoreDBClusterFromSnapshot") == 1
    assert names(calls).count("CreateDBInstance") == 1
    assert names(calls).count("ModifyDBCluster") == 1


LAMBDA_SECONDS = 3.0


def test_a_restore_outliving_the_first_invocation_finishes_in_crhelpers_polls(
    express: ExpressSemantics, cfn: ResponseCollector, parent: str, rds: Any
) -> None:
    payloads: list[dict[str, Any]] = []

    def recording(event: dict[str, Any], context: Any) -> None:
        payloads.append(json.loads(json.dumps(event)))
        cluster_handler.handler(event, context)

    sim = LifecycleSimulator(recording, cfn, stack_name="branch")
    express.set_timings(create_seconds=2.0)
    result = sim.create({"SourceSnapshotIdentifier": SNAPSHOT}, timeout_seconds=LAMBDA_SECONDS)
    assert result.status == "SUCCESS", result.reason
    assert result.polls >= 1
    assert result.rules_left == []
    assert express.master_auth[result.physical_id or ""] == "iam-db-auth"
    polls = [p for p in payloads if "CrHelperPoll" in p]
    assert polls
    assert all(set(p["CrHelperData"]) <= {STARTED_AT, "PhysicalResourceId"} for p in polls)
