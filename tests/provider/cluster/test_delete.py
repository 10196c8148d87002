"""Delete: instances, then the cluster, until gone; never a cluster this resource does not own."""

from __future__ import annotations

from typing import Any

from aurora_express.local.moto_express import ExpressSemantics
from aurora_express.local.simulator import LifecycleSimulator
from tests.support.aws import clusters


def test_delete_removes_the_instances_and_the_cluster_then_answers(
    sim: LifecycleSimulator, rds: Any, rds_calls: list[str]
) -> None:
    created = sim.create({})
    deleted = sim.delete({})
    assert deleted.status == "SUCCESS", deleted.reason
    assert deleted.physical_id == created.physical_id
    assert clusters(rds) == {}
    assert rds.describe_db_instances()["DBInstances"] == []
    assert rds_calls.index("DeleteDBInstance") < rds_calls.index("DeleteDBCluster")


def test_delete_waits_until_the_cluster_is_gone(sim: LifecycleSimulator) -> None:
    sim.create({})
    deleted = sim.delete({})
    assert deleted.seconds is not None and deleted.seconds >= 0.3  # DELETE_SECONDS


def test_delete_takes_no_final_snapshot_by_default(sim: LifecycleSimulator, rds: Any) -> None:
    sim.create({})
    sim.delete({})
    snapshots = rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    assert snapshots == []


def test_a_repeated_delete_succeeds(sim: LifecycleSimulator) -> None:
    sim.create({})
    sim.delete({})
    again = sim.delete({})
    assert again.status == "SUCCESS", again.reason


def test_delete_after_a_failed_create_succeeds_without_an_rds_change(
    sim: LifecycleSimulator, rds_calls: list[str]
) -> None:
    failed = sim.create({"MaxCapacity": "300"})
    deleted = sim.delete({"MaxCapacity": "300"}, physical_id=failed.physical_id)
    assert deleted.status == "SUCCESS", deleted.reason
    assert deleted.physical_id == failed.physical_id
    assert rds_calls == []


def test_delete_of_crhelpers_generated_id_succeeds(sim: LifecycleSimulator) -> None:
    deleted = sim.delete({}, physical_id="app_Db_ABCD1234")
    assert deleted.status == "SUCCESS", deleted.reason


def test_delete_of_a_cluster_not_owned_succeeds_and_leaves_it(
    sim: LifecycleSimulator, rds: Any, rds_calls: list[str]
) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier="theirs", Engine="aurora-postgresql", WithExpressConfiguration=True
    )
    deleted = sim.delete({}, physical_id="theirs")
    assert deleted.status == "SUCCESS", deleted.reason
    assert "theirs" in clusters(rds)
    assert not {"DeleteDBCluster", "DeleteDBInstance"} & set(rds_calls)


def test_on_delete_snapshot_takes_a_final_snapshot(sim: LifecycleSimulator, rds: Any) -> None:
    created = sim.create({"OnDelete": "Snapshot"})
    deleted = sim.delete({"OnDelete": "Snapshot"})
    assert deleted.status == "SUCCESS", deleted.reason
    snapshots = rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    [name] = [s["DBClusterSnapshotIdentifier"] for s in snapshots]
    assert name.startswith(f"{created.physical_id}-final-")
    assert clusters(rds) == {}


def test_on_delete_retain_leaves_the_cluster(
    sim: LifecycleSimulator, rds: Any, rds_calls: list[str]
) -> None:
    created = sim.create({"OnDelete": "Retain"})
    rds_calls.clear()
    deleted = sim.delete({"OnDelete": "Retain"})
    assert deleted.status == "SUCCESS", deleted.reason
    assert clusters(rds)[created.physical_id]["Status"] == "available"
    assert rds_calls == []


def test_deletion_protection_fails_the_delete_with_what_to_do(
    sim: LifecycleSimulator, rds: Any
) -> None:
    created = sim.create({"DeletionProtection": True})
    deleted = sim.delete({"DeletionProtection": True})
    assert deleted.status == "FAILED"
    assert "DeletionProtection" in deleted.reason and created.physical_id in deleted.reason
    assert deleted.physical_id == created.physical_id
    assert created.physical_id in clusters(rds)


def test_delete_of_a_cluster_in_a_failed_state_removes_it(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    express.fail_creation("doomed")
    failed = sim.create({"ClusterIdentifier": "doomed"})
    deleted = sim.delete({"ClusterIdentifier": "doomed"}, physical_id=failed.physical_id)
    assert deleted.status == "SUCCESS", deleted.reason
    assert clusters(rds) == {}


def test_delete_of_a_cluster_still_creating_waits_for_it_then_deletes(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    """A rollback can delete a cluster whose Create is still in progress."""
    express.set_timings(create_seconds=2.0)
    unfinished = sim.create({"ClusterIdentifier": "early"}, timeout_seconds=3.0, max_invocations=1)
    assert unfinished.response is None
    assert clusters(rds)["early"]["Status"] == "creating"
    deleted = sim.delete({}, physical_id="early")
    assert deleted.status == "SUCCESS", deleted.reason
    assert clusters(rds) == {}
