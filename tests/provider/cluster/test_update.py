"""Update: in place (same physical id) or by replacement (a new cluster, a new id)."""

from __future__ import annotations

from typing import Any

from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import naming
from tests.support.aws import clusters, tags


def test_an_in_place_update_modifies_the_cluster_and_keeps_the_physical_id(
    sim: LifecycleSimulator, rds: Any
) -> None:
    created = sim.create({"MaxCapacity": 4})
    updated = sim.update({"MaxCapacity": 8, "BackupRetentionPeriod": 14}, old={"MaxCapacity": 4})
    assert updated.status == "SUCCESS", updated.reason
    assert updated.physical_id == created.physical_id
    cluster = clusters(rds)[created.physical_id]
    assert cluster["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 8.0
    assert cluster["BackupRetentionPeriod"] == 14
    assert updated.data["ClusterIdentifier"] == created.physical_id


def test_an_engine_upgrade_waits_for_the_cluster_to_be_available_again(
    sim: LifecycleSimulator, rds: Any, express: Any
) -> None:
    created = sim.create({})
    express.set_timings(modify_seconds=0.3)
    updated = sim.update({"EngineVersion": "17.6"}, old={})
    assert updated.status == "SUCCESS", updated.reason
    assert updated.seconds is not None and updated.seconds >= 0.3
    assert updated.data["EngineVersion"] == "17.6"
    assert clusters(rds)[created.physical_id]["Status"] == "available"


def test_a_major_upgrade_without_allow_major_version_upgrade_fails_naming_it(
    sim: LifecycleSimulator, rds_calls: list[str]
) -> None:
    created = sim.create({})
    result = sim.update({"EngineVersion": "18.1"}, old={})
    assert result.status == "FAILED"
    assert "EngineVersion" in result.reason and "AllowMajorVersionUpgrade" in result.reason
    assert result.physical_id == created.physical_id
    assert "ModifyDBCluster" not in rds_calls


def test_tags_are_added_changed_and_removed_in_place(sim: LifecycleSimulator, rds: Any) -> None:
    old = {"Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}
    created = sim.create(old)
    new = {"Tags": [{"Key": "a", "Value": "9"}, {"Key": "c", "Value": "3"}]}
    updated = sim.update(new, old=old)
    assert updated.status == "SUCCESS", updated.reason
    found = tags(clusters(rds)[created.physical_id])
    assert {k: v for k, v in found.items() if not k.startswith("aurora-express:")} == {
        "a": "9",
        "c": "3",
    }
    assert naming.is_owned(found, sim.stack_id, "Db")


def test_tags_added_outside_the_stack_are_kept(sim: LifecycleSimulator, rds: Any) -> None:
    created = sim.create({})
    arn = clusters(rds)[created.physical_id]["DBClusterArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "cost-center", "Value": "42"}])
    sim.update({"Tags": [{"Key": "a", "Value": "1"}]}, old={})
    assert tags(clusters(rds)[created.physical_id])["cost-center"] == "42"


def test_expires_after_is_renewed_on_every_update(sim: LifecycleSimulator, rds: Any) -> None:
    created = sim.create({"ExpiresAfter": "1h"})
    first = tags(clusters(rds)[created.physical_id])[naming.EXPIRES_AT_TAG]
    sim.update({"ExpiresAfter": "7d"}, old={"ExpiresAfter": "1h"})
    renewed = tags(clusters(rds)[created.physical_id])[naming.EXPIRES_AT_TAG]
    assert renewed > first


def test_removing_expires_after_removes_the_tag(sim: LifecycleSimulator, rds: Any) -> None:
    created = sim.create({"ExpiresAfter": "1h"})
    sim.update({}, old={"ExpiresAfter": "1h"})
    assert naming.EXPIRES_AT_TAG not in tags(clusters(rds)[created.physical_id])


def test_a_new_cluster_identifier_replaces_the_cluster(sim: LifecycleSimulator, rds: Any) -> None:
    sim.create({"ClusterIdentifier": "blue"})
    updated = sim.update({"ClusterIdentifier": "green"}, old={"ClusterIdentifier": "blue"})
    assert updated.status == "SUCCESS", updated.reason
    assert updated.physical_id == "green"
    assert set(clusters(rds)) == {"blue", "green"}  # CloudFormation deletes blue next
    assert naming.is_owned(tags(clusters(rds)["green"]), sim.stack_id, "Db")


def test_a_new_master_username_replaces_a_derived_cluster_under_a_new_name(
    sim: LifecycleSimulator, rds: Any
) -> None:
    created = sim.create({})
    updated = sim.update({"MasterUsername": "app"}, old={})
    assert updated.status == "SUCCESS", updated.reason
    assert updated.physical_id != created.physical_id
    assert clusters(rds)[updated.physical_id]["MasterUsername"] == "app"


def test_a_replacement_under_an_unchanged_explicit_name_fails_before_any_rds_call(
    sim: LifecycleSimulator, rds: Any, rds_calls: list[str]
) -> None:
    sim.create({"ClusterIdentifier": "fixed"})
    rds_calls.clear()
    result = sim.update(
        {"ClusterIdentifier": "fixed", "MasterUsername": "app"},
        old={"ClusterIdentifier": "fixed"},
    )
    assert result.status == "FAILED"
    assert "MasterUsername" in result.reason and "ClusterIdentifier" in result.reason
    assert result.physical_id == "fixed"
    assert rds_calls == []


def test_an_update_with_a_bad_input_fails_before_any_rds_call(
    sim: LifecycleSimulator, rds_calls: list[str]
) -> None:
    created = sim.create({})
    rds_calls.clear()
    result = sim.update({"MaxCapacity": "0"}, old={})
    assert result.status == "FAILED" and "MaxCapacity" in result.reason
    assert result.physical_id == created.physical_id
    assert rds_calls == []


def test_a_rollback_in_place_restores_the_old_settings(sim: LifecycleSimulator, rds: Any) -> None:
    created = sim.create({"MaxCapacity": 4, "EnableDataApi": False})
    sim.update({"MaxCapacity": 8, "EnableDataApi": True}, old={"MaxCapacity": 4})
    rolled = sim.update({"MaxCapacity": 4}, old={"MaxCapacity": 8, "EnableDataApi": True})
    assert rolled.status == "SUCCESS", rolled.reason
    cluster = clusters(rds)[created.physical_id]
    assert cluster["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 4.0
    assert cluster["HttpEndpointEnabled"] is False


def test_a_rollback_of_a_replacement_returns_to_the_old_cluster(
    sim: LifecycleSimulator, rds: Any
) -> None:
    """CloudFormation sends the old properties to the new cluster; the old one is adopted."""
    sim.create({"ClusterIdentifier": "blue"})
    sim.update({"ClusterIdentifier": "green"}, old={"ClusterIdentifier": "blue"})
    rolled = sim.update({"ClusterIdentifier": "blue"}, old={"ClusterIdentifier": "green"})
    assert rolled.status == "SUCCESS", rolled.reason
    assert rolled.physical_id == "blue"
    cleanup = sim.delete({"ClusterIdentifier": "green"}, physical_id="green")
    assert cleanup.status == "SUCCESS"
    assert set(clusters(rds)) == {"blue"}


def test_a_failed_replacement_deletes_the_new_cluster_and_keeps_the_old_id(
    sim: LifecycleSimulator, rds: Any, express: Any
) -> None:
    sim.create({"ClusterIdentifier": "blue"})
    express.fail_creation("green")
    result = sim.update({"ClusterIdentifier": "green"}, old={"ClusterIdentifier": "blue"})
    assert result.status == "FAILED"
    assert result.physical_id == "blue"
    assert "green" in result.reason and "being deleted" in result.reason
    assert clusters(rds)["green"]["Status"] == "deleting"


def test_an_update_of_a_cluster_not_owned_fails_and_leaves_it_alone(
    sim: LifecycleSimulator, rds: Any
) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier="theirs", Engine="aurora-postgresql", WithExpressConfiguration=True
    )
    result = sim.update({"MaxCapacity": 8}, old={}, physical_id="theirs")
    assert result.status == "FAILED" and "theirs" in result.reason
    assert clusters(rds)["theirs"]["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 16.0


def test_an_update_of_a_vanished_cluster_fails(sim: LifecycleSimulator) -> None:
    result = sim.update({}, old={}, physical_id="gone-db")
    assert result.status == "FAILED" and "gone-db" in result.reason
