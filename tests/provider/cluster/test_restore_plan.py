"""The restore's pure decisions: properties, replacement, the restore call, the steps, the mark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from provider.cluster import naming, plan, restore
from provider.cluster.plan import ClusterState, Step
from provider.cluster.properties import ClusterProperties, RestoreSource, parse
from provider.cluster.restore import SourceState
from provider.common.errors import InvalidProperty, ProviderError

TOKEN = {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f"}
TAKEN = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
LATEST = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def props(**values: Any) -> ClusterProperties:
    return parse({**TOKEN, **values})


def source_of(p: ClusterProperties) -> RestoreSource:
    assert p.source is not None
    return p.source


def snapshot(**values: Any) -> SourceState:
    base: dict[str, Any] = {
        "kind": "snapshot",
        "identifier": "staging-nightly",
        "status": "available",
        "engine": "aurora-postgresql",
        "engine_version": "16.6",
        "master_username": "postgres",
        "taken_at": TAKEN,
    }
    return SourceState(**{**base, **values})


def parent(**values: Any) -> SourceState:
    base: dict[str, Any] = {
        "kind": "cluster",
        "identifier": "staging",
        "status": "available",
        "engine": "aurora-postgresql",
        "engine_version": "16.6",
        "master_username": "postgres",
        "earliest": LATEST - timedelta(days=1),
        "latest": LATEST,
        "scaling": {"MinCapacity": 0.5, "MaxCapacity": 8.0},
    }
    return SourceState(**{**base, **values})


def restored(**values: Any) -> ClusterState:
    base: dict[str, Any] = {
        "identifier": "db",
        "status": "available",
        "tags": {naming.RESTORED_FROM_TAG: "snapshot:s@2025-06-01T03:00:00Z"},
        "instances": {},
    }
    return ClusterState(**{**base, **values})


# -- properties --------------------------------------------------------------------------


def test_no_source_is_a_new_empty_cluster() -> None:
    assert props().source is None


def test_a_snapshot_source() -> None:
    assert props(SourceSnapshotIdentifier="rds:staging-2025-06-01-03-00").source == RestoreSource(
        "snapshot", "rds:staging-2025-06-01-03-00"
    )


def test_a_cluster_source_defaults_to_the_latest_time_and_a_full_copy() -> None:
    assert props(SourceClusterIdentifier="staging").source == RestoreSource("cluster", "staging")


def test_a_cluster_source_at_a_time_is_read_in_utc() -> None:
    found = source_of(props(SourceClusterIdentifier="s", RestoreToTime="2025-06-01T05:00:00+02:00"))
    assert found.restore_to == TAKEN


def test_a_source_cluster_is_normalized_as_cluster_identifier_is() -> None:
    assert (
        source_of(props(SourceClusterIdentifier="app-Feature/X_1")).identifier == "app-feature-x-1"
    )


def test_a_source_cluster_arn_is_kept_as_given() -> None:
    arn = "arn:aws:rds:us-east-1:123456789012:cluster:staging"
    assert source_of(props(SourceClusterIdentifier=arn)).identifier == arn


def test_wait_for_deletion_defaults_to_true_and_reads_strings() -> None:
    assert props().WaitForDeletion is True
    assert props(WaitForDeletion="false").WaitForDeletion is False


@pytest.mark.parametrize(
    ("values", "prop", "words"),
    [
        (
            {"SourceSnapshotIdentifier": "a", "SourceClusterIdentifier": "b"},
            "SourceClusterIdentifier",
            "not both",
        ),
        (
            {"SourceSnapshotIdentifier": "a", "RestoreToTime": "2025-06-01T03:00:00Z"},
            "RestoreToTime",
            "only with SourceClusterIdentifier",
        ),
        (
            {"SourceSnapshotIdentifier": "a", "RestoreType": "copy-on-write"},
            "RestoreType",
            "only with SourceClusterIdentifier",
        ),
        ({"RestoreToTime": "2025-06-01T03:00:00Z"}, "RestoreToTime", "only with"),
        ({"RestoreType": "full-copy"}, "RestoreType", "only with"),
        (
            {
                "SourceClusterIdentifier": "b",
                "RestoreType": "copy-on-write",
                "RestoreToTime": "2025-06-01T03:00:00Z",
            },
            "RestoreToTime",
            "copy-on-write",
        ),
        (
            {"SourceClusterIdentifier": "b", "RestoreToTime": "2025-06-01T03:00:00"},
            "RestoreToTime",
            "time zone",
        ),
        (
            {"SourceClusterIdentifier": "b", "RestoreToTime": "last tuesday"},
            "RestoreToTime",
            "ISO 8601",
        ),
        (
            {"SourceClusterIdentifier": "b", "RestoreType": "snapshot"},
            "RestoreType",
            "full-copy or copy-on-write",
        ),
        (
            {"SourceSnapshotIdentifier": "my snapshot"},
            "SourceSnapshotIdentifier",
            "snapshot identifier or ARN",
        ),
        ({"SourceSnapshotIdentifier": ""}, "SourceSnapshotIdentifier", ""),
        (
            {"SourceClusterIdentifier": "arn:aws:rds:us-east-1:1:cluster:x"},
            "SourceClusterIdentifier",
            "identifier or ARN",
        ),
        ({"SourceClusterIdentifier": "2024"}, "SourceClusterIdentifier", "normalizes to nothing"),
        (
            {"SourceClusterIdentifier": "b", "Tags": [{"Key": f"k{n}"} for n in range(45)]},
            "Tags",
            "at most 44",
        ),
        ({"WaitForDeletion": "later"}, "WaitForDeletion", "true or false"),
    ],
)
def test_a_bad_value_or_combination_names_its_property(
    values: dict[str, Any], prop: str, words: str
) -> None:
    with pytest.raises(InvalidProperty) as refused:
        props(**values)
    assert refused.value.prop == prop
    assert words in refused.value.reason


def test_a_new_cluster_keeps_its_46_tags() -> None:
    assert len(props(Tags=[{"Key": f"k{n}"} for n in range(46)]).Tags) == 46


# -- replacement -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "prop"),
    [
        ({}, {"SourceSnapshotIdentifier": "a"}, "SourceSnapshotIdentifier"),
        ({"SourceSnapshotIdentifier": "a"}, {}, "SourceSnapshotIdentifier"),
        (
            {"SourceSnapshotIdentifier": "a"},
            {"SourceSnapshotIdentifier": "b"},
            "SourceSnapshotIdentifier",
        ),
        (
            {"SourceSnapshotIdentifier": "a"},
            {"SourceClusterIdentifier": "c"},
            "SourceSnapshotIdentifier",
        ),
        (
            {"SourceClusterIdentifier": "c"},
            {"SourceClusterIdentifier": "d"},
            "SourceClusterIdentifier",
        ),
        (
            {"SourceClusterIdentifier": "c"},
            {"SourceClusterIdentifier": "c", "RestoreToTime": "2025-06-01T03:00:00Z"},
            "RestoreToTime",
        ),
        (
            {"SourceClusterIdentifier": "c"},
            {"SourceClusterIdentifier": "c", "RestoreType": "copy-on-write"},
            "RestoreType",
        ),
    ],
)
def test_a_source_change_replaces_the_cluster(
    old: dict[str, Any], new: dict[str, Any], prop: str
) -> None:
    assert plan.replacement_property(props(**old), props(**new), "db") == prop


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"SourceClusterIdentifier": "c"}, {"SourceClusterIdentifier": "C"}),
        (
            {"SourceClusterIdentifier": "c"},
            {"SourceClusterIdentifier": "c", "RestoreType": "full-copy"},
        ),
        (
            {"SourceClusterIdentifier": "c", "RestoreToTime": "2025-06-01T03:00:00Z"},
            {"SourceClusterIdentifier": "c", "RestoreToTime": "2025-06-01T05:00:00+02:00"},
        ),
    ],
)
def test_the_same_source_written_otherwise_is_no_replacement(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    assert plan.replacement_property(props(**old), props(**new), "db") is None


# -- the source ----------------------------------------------------------------------------


def test_a_usable_snapshot_passes() -> None:
    p = props(SourceSnapshotIdentifier="staging-nightly", EngineVersion="16.6")
    restore.check_source(p, source_of(p), snapshot())


def test_a_source_of_another_engine_is_refused_naming_the_source() -> None:
    p = props(SourceSnapshotIdentifier="staging-nightly")
    with pytest.raises(ProviderError) as refused:
        restore.check_source(p, source_of(p), snapshot(engine="aurora-mysql"))
    assert refused.value.reason.startswith(
        "Property SourceSnapshotIdentifier: snapshot staging-nightly is aurora-mysql"
    )


@pytest.mark.parametrize("status", ["creating", "copying", "failed"])
def test_a_snapshot_not_available_is_refused(status: str) -> None:
    p = props(SourceSnapshotIdentifier="staging-nightly")
    with pytest.raises(InvalidProperty, match=f"is {status}"):
        restore.check_source(p, source_of(p), snapshot(status=status))


@pytest.mark.parametrize("version", ["16.4", "15", "15.8"])
def test_an_engine_version_below_the_sources_is_refused(version: str) -> None:
    p = props(SourceSnapshotIdentifier="s", EngineVersion=version, AllowMajorVersionUpgrade=True)
    with pytest.raises(InvalidProperty) as refused:
        restore.check_source(p, source_of(p), snapshot())
    assert refused.value.prop == "EngineVersion"
    assert "no lower than the source's version 16.6" in refused.value.reason


@pytest.mark.parametrize("version", ["16", "16.6", "16.8"])
def test_an_engine_version_at_or_above_the_sources_minor_passes(version: str) -> None:
    p = props(SourceSnapshotIdentifier="s", EngineVersion=version)
    restore.check_source(p, source_of(p), snapshot())


def test_a_major_version_above_the_sources_needs_allow_major_version_upgrade() -> None:
    p = props(SourceSnapshotIdentifier="s", EngineVersion="17.4")
    with pytest.raises(InvalidProperty, match="AllowMajorVersionUpgrade"):
        restore.check_source(p, source_of(p), snapshot())
    allowed = props(
        SourceSnapshotIdentifier="s", EngineVersion="17.4", AllowMajorVersionUpgrade=True
    )
    restore.check_source(allowed, source_of(allowed), snapshot())


def test_an_explicit_master_username_must_be_the_sources() -> None:
    p = props(SourceSnapshotIdentifier="s", MasterUsername="app")
    with pytest.raises(InvalidProperty) as refused:
        restore.check_source(p, source_of(p), snapshot())
    assert refused.value.prop == "MasterUsername"
    unset = props(SourceSnapshotIdentifier="s")
    restore.check_source(unset, source_of(unset), snapshot(master_username="admin"))


@pytest.mark.parametrize(
    ("when", "words"),
    [("2025-06-03T00:00:00Z", "after the latest"), ("2025-05-01T00:00:00Z", "before the earliest")],
)
def test_a_time_outside_the_restorable_window_is_refused(when: str, words: str) -> None:
    p = props(SourceClusterIdentifier="staging", RestoreToTime=when)
    with pytest.raises(InvalidProperty) as refused:
        restore.check_source(p, source_of(p), parent())
    assert refused.value.prop == "RestoreToTime"
    assert words in refused.value.reason


# -- the call ------------------------------------------------------------------------------

EXPRESS_NETWORK = {
    "EnableInternetAccessGateway": True,
    "EnableVPCNetworking": False,
    "EnableIAMDatabaseAuthentication": True,
}


def test_a_snapshot_restore_call() -> None:
    p = props(SourceSnapshotIdentifier="staging-nightly", MaxCapacity=4, BackupRetentionPeriod=3)
    call = restore.restore_call("db", p, source_of(p), snapshot(), {"k": "v"})
    assert call.operation == "RestoreDBClusterFromSnapshot"
    assert call.args == {
        "DBClusterIdentifier": "db",
        "SnapshotIdentifier": "staging-nightly",
        "Engine": "aurora-postgresql",
        **EXPRESS_NETWORK,
        "DeletionProtection": False,
        "ServerlessV2ScalingConfiguration": {
            "MinCapacity": 0.0,
            "MaxCapacity": 4.0,
            "SecondsUntilAutoPause": 300,
        },
        "BackupRetentionPeriod": 3,
        "Tags": [{"Key": "k", "Value": "v"}],
    }


def test_a_point_in_time_call_at_the_latest_time_keeps_the_sources_scaling() -> None:
    p = props(SourceClusterIdentifier="staging")
    call = restore.restore_call("db", p, source_of(p), parent(), {})
    assert call.operation == "RestoreDBClusterToPointInTime"
    assert call.args["SourceDBClusterIdentifier"] == "staging"
    assert call.args["UseLatestRestorableTime"] is True
    assert "RestoreToTime" not in call.args and "Engine" not in call.args
    assert call.args["RestoreType"] == "full-copy"
    assert call.args["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 0.5,
        "MaxCapacity": 8.0,
        "SecondsUntilAutoPause": 300,
    }
    assert {k: call.args[k] for k in EXPRESS_NETWORK} == EXPRESS_NETWORK


def test_a_point_in_time_call_at_a_given_time() -> None:
    p = props(SourceClusterIdentifier="staging", RestoreToTime="2025-06-02T11:00:00Z")
    call = restore.restore_call("db", p, source_of(p), parent(), {})
    assert call.args["RestoreToTime"] == datetime(2025, 6, 2, 11, tzinfo=UTC)
    assert "UseLatestRestorableTime" not in call.args


def test_a_clone_call() -> None:
    p = props(SourceClusterIdentifier="staging", RestoreType="copy-on-write")
    call = restore.restore_call("db", p, source_of(p), parent(), {})
    assert (call.args["RestoreType"], call.args["UseLatestRestorableTime"]) == (
        "copy-on-write",
        True,
    )


def test_the_writer_is_serverless_and_named_as_express_names_it() -> None:
    assert restore.writer_args("db") == {
        "DBInstanceIdentifier": "db-instance-1",
        "DBInstanceClass": "db.serverless",
        "Engine": "aurora-postgresql",
        "DBClusterIdentifier": "db",
    }


def test_restored_from_names_the_snapshot_and_when_it_was_taken() -> None:
    p = props(SourceSnapshotIdentifier="staging-nightly")
    text = restore.restored_from(source_of(p), snapshot(), datetime.now(UTC))
    assert text == "snapshot:staging-nightly@2025-06-01T03:00:00Z"


def test_restored_from_names_the_cluster_and_the_time_asked_for_else_its_latest() -> None:
    at = props(SourceClusterIdentifier="staging", RestoreToTime="2025-06-02T11:00:00Z")
    latest = props(SourceClusterIdentifier="staging")
    now = datetime.now(UTC)
    assert (
        restore.restored_from(source_of(at), parent(), now)
        == "cluster:staging@2025-06-02T11:00:00Z"
    )
    assert (
        restore.restored_from(source_of(latest), parent(), now)
        == "cluster:staging@2025-06-02T12:00:00Z"
    )


def test_a_refusal_names_the_source_and_fits_cloudformation() -> None:
    p = props(SourceClusterIdentifier="staging")
    reason = restore.refused(source_of(p), "InvalidParameterCombination", "x " * 300).reason
    assert reason.startswith(
        "Property SourceClusterIdentifier: RDS refused to restore cluster staging"
    )
    assert len(reason) <= 240


# -- the steps -----------------------------------------------------------------------------


def test_a_restored_cluster_waits_while_creating() -> None:
    assert plan.next_step(props(), restored(status="creating")).step is Step.WAIT


def test_a_restored_cluster_gets_its_writer_once_available() -> None:
    assert plan.next_step(props(), restored()).step is Step.CREATE_WRITER


def test_a_restored_cluster_waits_for_its_writer() -> None:
    creating = restored(instances={"db-instance-1": "creating"})
    assert plan.next_step(props(), creating).step is Step.WAIT


def test_a_restored_clusters_master_user_goes_to_iam_auth_once_the_writer_is_available() -> None:
    ready = restored(instances={"db-instance-1": "available"})
    assert plan.next_step(props(), ready).step is Step.SET_IAM_AUTH


def test_after_iam_auth_a_restored_cluster_is_modified_as_any_other() -> None:
    done = restored(
        instances={"db-instance-1": "available"},
        tags={naming.RESTORED_FROM_TAG: "x", naming.MASTER_AUTH_TAG: "iam-db-auth"},
        scaling={"MaxCapacity": 16.0},
    )
    assert plan.next_step(props(), done).step is Step.DONE
    assert plan.next_step(props(MaxCapacity=4), done).step is Step.MODIFY


def test_a_restored_cluster_whose_writer_failed_fails() -> None:
    broken = restored(instances={"db-instance-1": "incompatible-parameters"})
    assert plan.next_step(props(), broken).step is Step.FAIL


def test_a_created_cluster_without_its_writer_only_waits() -> None:
    """Express makes a created cluster's writer itself: the provider never does."""
    created = ClusterState(identifier="db", status="available")
    assert plan.next_step(props(), created).step is Step.WAIT


def test_restored_from_is_an_attribute_empty_unless_restored() -> None:
    assert plan.attributes(restored())["RestoredFrom"] == "snapshot:s@2025-06-01T03:00:00Z"
    assert plan.attributes(ClusterState(identifier="db", status="available"))["RestoredFrom"] == ""


# -- the deletion mark -------------------------------------------------------------------------

NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC).timestamp()


def test_the_mark_records_when_deletion_was_asked_for() -> None:
    assert plan.deletion_mark({}, NOW) == (
        {naming.DELETE_REQUESTED_TAG: "2025-06-01T03:00:00Z"},
        [],
    )


def test_the_same_mark_is_not_written_twice() -> None:
    assert plan.deletion_mark({naming.DELETE_REQUESTED_TAG: "2025-06-01T03:00:00Z"}, NOW) == (
        {},
        [],
    )


def test_a_full_set_of_tags_makes_room_by_dropping_expires_at() -> None:
    full = {f"k{n}": "v" for n in range(49)} | {naming.EXPIRES_AT_TAG: "2025-06-08T00:00:00Z"}
    add, remove = plan.deletion_mark(full, NOW)
    assert remove == [naming.EXPIRES_AT_TAG]
    assert naming.DELETE_REQUESTED_TAG in add


def test_expires_at_stays_when_there_is_room() -> None:
    assert plan.deletion_mark({naming.EXPIRES_AT_TAG: "x"}, NOW)[1] == []
