"""The moto extension's express restores: the same refusals and states as creation, no writer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError

from aurora_express.local.moto_express import ExpressSemantics, express_semantics
from tests.support.aws import ManualClock

SECONDS = 0.2
EXPRESS = {
    "EnableInternetAccessGateway": True,
    "EnableVPCNetworking": False,
    "EnableIAMDatabaseAuthentication": True,
}


@pytest.fixture
def express() -> Iterator[ExpressSemantics]:
    with (
        moto.mock_aws(),
        express_semantics(create_seconds=SECONDS, delete_seconds=SECONDS) as live,
    ):
        yield live


@pytest.fixture
def rds(express: ExpressSemantics) -> Any:
    return boto3.client("rds", region_name="us-east-1")


def _wait(clock: ManualClock, look: Callable[[], str], status: str) -> None:
    """``status`` once the emulated wait is over: the clock moved, no time spent."""
    clock.advance(SECONDS)
    assert look() == status


def _status(rds: Any, identifier: str) -> str:
    return str(rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]["Status"])


@pytest.fixture
def parent(clock: ManualClock, rds: Any) -> str:
    """An available express cluster ``parent`` and its manual snapshot ``parent-snap``."""
    rds.create_db_cluster(
        DBClusterIdentifier="parent", Engine="aurora-postgresql", WithExpressConfiguration=True
    )
    _wait(clock, lambda: _status(rds, "parent"), "available")
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="parent", DBClusterSnapshotIdentifier="parent-snap"
    )
    return "parent"


def _from_snapshot(rds: Any, identifier: str = "child", **kwargs: Any) -> dict[str, Any]:
    args = {"SnapshotIdentifier": "parent-snap", "Engine": "aurora-postgresql", **EXPRESS}
    args.update(kwargs)
    return dict(
        rds.restore_db_cluster_from_snapshot(DBClusterIdentifier=identifier, **args)["DBCluster"]
    )


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_a_restored_cluster_is_creating_then_available(
    clock: ManualClock, rds: Any, parent: str
) -> None:
    assert _from_snapshot(rds)["Status"] == "creating"
    _wait(clock, lambda: _status(rds, "child"), "available")


def test_a_restore_creates_no_writer(clock: ManualClock, rds: Any, parent: str) -> None:
    _from_snapshot(rds)
    _wait(clock, lambda: _status(rds, "child"), "available")
    found = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["child"]}])
    assert found["DBInstances"] == []


def test_the_restored_cluster_keeps_the_sources_version_and_master_user(
    rds: Any, parent: str
) -> None:
    cluster = _from_snapshot(rds)
    assert cluster["EngineVersion"] == "17.4"
    assert cluster["MasterUsername"] == "postgres"
    assert cluster["IAMDatabaseAuthenticationEnabled"] is True


def test_a_writer_can_be_created_only_once_the_restore_is_available(
    clock: ManualClock, rds: Any, parent: str
) -> None:
    _from_snapshot(rds)
    writer = {
        "DBInstanceIdentifier": "child-instance-1",
        "DBInstanceClass": "db.serverless",
        "Engine": "aurora-postgresql",
        "DBClusterIdentifier": "child",
    }
    with pytest.raises(ClientError) as refused:
        rds.create_db_instance(**writer)
    assert _code(refused) == "InvalidDBClusterStateFault"
    _wait(clock, lambda: _status(rds, "child"), "available")
    assert rds.create_db_instance(**writer)["DBInstance"]["DBInstanceStatus"] == "creating"

    def writer_status() -> str:
        found = rds.describe_db_instances(DBInstanceIdentifier="child-instance-1")
        return str(found["DBInstances"][0]["DBInstanceStatus"])

    _wait(clock, writer_status, "available")


def test_a_restored_clusters_writer_must_be_serverless(
    clock: ManualClock, rds: Any, parent: str
) -> None:
    _from_snapshot(rds)
    _wait(clock, lambda: _status(rds, "child"), "available")
    with pytest.raises(ClientError) as refused:
        rds.create_db_instance(
            DBInstanceIdentifier="child-instance-1",
            DBInstanceClass="db.r6g.large",
            Engine="aurora-postgresql",
            DBClusterIdentifier="child",
        )
    assert _code(refused) == "InvalidParameterCombination"


def test_the_master_user_stays_on_password_auth_until_modified(
    clock: ManualClock, rds: Any, parent: str, express: ExpressSemantics
) -> None:
    _from_snapshot(rds)
    _wait(clock, lambda: _status(rds, "child"), "available")
    assert express.master_auth["child"] == "password"
    assert express.master_auth["parent"] == "iam-db-auth"


def test_iam_auth_for_the_master_user_needs_an_available_writer(
    clock: ManualClock, rds: Any, parent: str
) -> None:
    _from_snapshot(rds)
    _wait(clock, lambda: _status(rds, "child"), "available")
    with pytest.raises(ClientError) as refused:
        rds.modify_db_cluster(
            DBClusterIdentifier="child",
            MasterUserAuthenticationType="iam-db-auth",
            ApplyImmediately=True,
        )
    assert _code(refused) == "InvalidDBClusterStateFault"


@pytest.mark.parametrize(
    "flags",
    [
        {"EnableInternetAccessGateway": True},
        {"EnableVPCNetworking": False},
        {"EnableInternetAccessGateway": True, "EnableVPCNetworking": True},
        {"EnableInternetAccessGateway": False, "EnableVPCNetworking": False},
        {"EnableIAMDatabaseAuthentication": False},
    ],
    ids=["gateway-alone", "no-vpc-alone", "both-networks", "no-network", "no-iam-auth"],
)
def test_express_restores_refuse_what_rds_refuses(
    rds: Any, parent: str, flags: dict[str, bool]
) -> None:
    args = {"SnapshotIdentifier": "parent-snap", "Engine": "aurora-postgresql", **flags}
    if "EnableIAMDatabaseAuthentication" in flags:
        args.update(EnableInternetAccessGateway=True, EnableVPCNetworking=False)
    with pytest.raises(ClientError) as refused:
        rds.restore_db_cluster_from_snapshot(DBClusterIdentifier="child", **args)
    assert _code(refused) == "InvalidParameterCombination"


def test_a_source_that_is_not_aurora_postgresql_is_refused(rds: Any, express: Any) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier="mysql",
        Engine="aurora-mysql",
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-1",
    )
    rds.create_db_cluster_snapshot(DBClusterIdentifier="mysql", DBClusterSnapshotIdentifier="m")
    with pytest.raises(ClientError) as refused:
        _from_snapshot(rds, SnapshotIdentifier="m")
    assert _code(refused) == "InvalidParameterCombination"
    assert "Aurora PostgreSQL" in str(refused.value)


def test_a_version_express_does_not_offer_is_refused(rds: Any, express: Any) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier="old",
        Engine="aurora-postgresql",
        EngineVersion="12.7",
        MasterUsername="postgres",
        MasterUserPassword="not-a-secret-1",
    )
    with pytest.raises(ClientError) as refused:
        rds.restore_db_cluster_to_point_in_time(
            DBClusterIdentifier="child",
            SourceDBClusterIdentifier="old",
            UseLatestRestorableTime=True,
            **EXPRESS,
        )
    assert _code(refused) == "InvalidParameterCombination"
    assert "12.7" in str(refused.value)


def test_a_taken_identifier_is_already_exists(rds: Any, parent: str) -> None:
    with pytest.raises(ClientError) as refused:
        _from_snapshot(rds, "parent")
    assert _code(refused) == "DBClusterAlreadyExistsFault"


def test_refuse_next_create_applies_to_restores(
    rds: Any, parent: str, express: ExpressSemantics
) -> None:
    express.refuse_next_create()
    with pytest.raises(ClientError) as refused:
        _from_snapshot(rds)
    assert _code(refused) == "DBClusterQuotaExceededFault"


def test_fail_creation_applies_to_restores(
    clock: ManualClock, rds: Any, parent: str, express: ExpressSemantics
) -> None:
    express.fail_creation("child", status="incompatible-restore")
    _from_snapshot(rds)
    _wait(clock, lambda: _status(rds, "child"), "incompatible-restore")


def test_a_snapshot_is_found_by_its_arn(rds: Any, parent: str) -> None:
    arn = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="parent-snap")[
        "DBClusterSnapshots"
    ][0]["DBClusterSnapshotArn"]
    found = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=arn)
    assert found["DBClusterSnapshots"][0]["DBClusterSnapshotIdentifier"] == "parent-snap"
    assert _from_snapshot(rds, SnapshotIdentifier=arn)["Status"] == "creating"


def test_a_manual_snapshot_is_creating_for_snapshot_seconds(
    clock: ManualClock, rds: Any, parent: str, express: ExpressSemantics
) -> None:
    express.set_timings(snapshot_seconds=SECONDS)
    rds.create_db_cluster_snapshot(DBClusterIdentifier="parent", DBClusterSnapshotIdentifier="s2")

    def status() -> str:
        found = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="s2")
        return str(found["DBClusterSnapshots"][0]["Status"])

    assert status() == "creating"
    with pytest.raises(ClientError) as refused:
        _from_snapshot(rds, SnapshotIdentifier="s2")
    assert _code(refused) == "InvalidDBClusterSnapshotStateFault"
    _wait(clock, status, "available")


def test_a_point_in_time_needs_a_time_or_the_latest_and_not_both(rds: Any, parent: str) -> None:
    for when in ({}, {"UseLatestRestorableTime": True, "RestoreToTime": datetime.now(UTC)}):
        with pytest.raises(ClientError) as refused:
            rds.restore_db_cluster_to_point_in_time(
                DBClusterIdentifier="child", SourceDBClusterIdentifier="parent", **when, **EXPRESS
            )
        assert _code(refused) == "InvalidParameterCombination"


def test_a_time_outside_the_restorable_window_is_refused(rds: Any, parent: str) -> None:
    with pytest.raises(ClientError) as refused:
        rds.restore_db_cluster_to_point_in_time(
            DBClusterIdentifier="child",
            SourceDBClusterIdentifier="parent",
            RestoreToTime=datetime.now(UTC) - timedelta(days=3),
            **EXPRESS,
        )
    assert _code(refused) == "InvalidRestoreFault"


def test_a_clone_cannot_take_a_time(rds: Any, parent: str) -> None:
    with pytest.raises(ClientError) as refused:
        rds.restore_db_cluster_to_point_in_time(
            DBClusterIdentifier="child",
            SourceDBClusterIdentifier="parent",
            RestoreType="copy-on-write",
            RestoreToTime=datetime.now(UTC),
            **EXPRESS,
        )
    assert _code(refused) == "InvalidParameterCombination"


def test_a_point_in_time_restore_is_creating_with_no_writer(
    clock: ManualClock, rds: Any, parent: str
) -> None:
    cluster = rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier="child",
        SourceDBClusterIdentifier="parent",
        UseLatestRestorableTime=True,
        **EXPRESS,
    )["DBCluster"]
    assert cluster["Status"] == "creating"
    _wait(clock, lambda: _status(rds, "child"), "available")
    assert (
        rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["child"]}])[
            "DBInstances"
        ]
        == []
    )


def test_a_restore_leaves_its_source_as_it_was(rds: Any, parent: str) -> None:
    before = rds.describe_db_clusters(DBClusterIdentifier="parent")["DBClusters"][0]
    _from_snapshot(rds)
    rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier="child2",
        SourceDBClusterIdentifier="parent",
        UseLatestRestorableTime=True,
        Tags=[{"Key": "mine", "Value": "yes"}],
        **EXPRESS,
    )
    after = rds.describe_db_clusters(DBClusterIdentifier="parent")["DBClusters"][0]
    keys = ("Status", "TagList", "DBClusterMembers", "EngineVersion", "DeletionProtection")
    assert {k: after.get(k) for k in keys} == {k: before.get(k) for k in keys}


def test_a_failed_deletion_brings_the_cluster_back(
    clock: ManualClock, rds: Any, parent: str, express: ExpressSemantics
) -> None:
    express.fail_deletion("parent", status="available")
    rds.delete_db_instance(DBInstanceIdentifier="parent-instance-1", SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier="parent", SkipFinalSnapshot=True)
    assert _status(rds, "parent") == "deleting"
    _wait(clock, lambda: _status(rds, "parent"), "available")
