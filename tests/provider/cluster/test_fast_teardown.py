"""WaitForDeletion: false answers a Delete once RDS has accepted it, after the same checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from aurora_express.local.cfn_local import ResponseCollector
from aurora_express.local.moto_express import ExpressSemantics, express_semantics
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import handler as cluster_handler
from provider.cluster import naming

CREATE_SECONDS = 0.3
DELETING_SECONDS = 30.0  # longer than any test: the cluster stays deleting throughout
FAST = {"WaitForDeletion": "false"}


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
        express_semantics(create_seconds=CREATE_SECONDS, delete_seconds=DELETING_SECONDS) as live,
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
    return LifecycleSimulator(cluster_handler.handler, cfn, stack_name="app", logical_id="Db")


@pytest.fixture
def calls(express: ExpressSemantics) -> Iterator[list[str]]:
    """The names of the RDS operations the handler calls, in order."""
    seen: list[str] = []
    client = cluster_handler.api().client

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    client.meta.events.register("before-call.rds", record)
    yield seen
    client.meta.events.unregister("before-call.rds", record)


def status(rds: Any, identifier: str | None) -> str | None:
    found = rds.describe_db_clusters()["DBClusters"]
    return next((c["Status"] for c in found if c["DBClusterIdentifier"] == identifier), None)


def tags(rds: Any, identifier: str | None) -> dict[str, str]:
    found = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
    return {t["Key"]: t["Value"] for t in found.get("TagList", [])}


# -- the answer ------------------------------------------------------------------------


def test_delete_answers_while_the_cluster_is_still_deleting(
    sim: LifecycleSimulator, rds: Any
) -> None:
    created = sim.create(FAST)
    deleted = sim.delete(FAST)
    assert deleted.status == "SUCCESS", deleted.reason
    assert deleted.physical_id == created.physical_id
    assert status(rds, created.physical_id) == "deleting"
    assert [i.kind for i in deleted.invocations] == ["request"]


def test_delete_answers_within_one_describe_after_the_delete_call_is_accepted(
    sim: LifecycleSimulator, calls: list[str]
) -> None:
    sim.create(FAST)
    calls.clear()
    sim.delete(FAST)
    after = calls[calls.index("DeleteDBCluster") + 1 :]
    assert after == ["DescribeDBClusters"]


def test_the_instances_are_deleted_before_the_cluster(
    sim: LifecycleSimulator, rds: Any, calls: list[str]
) -> None:
    sim.create(FAST)
    calls.clear()
    sim.delete(FAST)
    assert calls.index("DeleteDBInstance") < calls.index("DeleteDBCluster")
    assert rds.describe_db_instances()["DBInstances"] == []


def test_the_default_waits_until_the_cluster_is_gone(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    express.set_timings(delete_seconds=0.3)
    created = sim.create({})
    deleted = sim.delete({})
    assert deleted.status == "SUCCESS", deleted.reason
    assert status(rds, created.physical_id) is None


def test_the_deletion_request_is_marked_on_the_cluster_for_the_reaper(
    sim: LifecycleSimulator, rds: Any
) -> None:
    created = sim.create(FAST)
    sim.delete(FAST)
    mark = tags(rds, created.physical_id)[naming.DELETE_REQUESTED_TAG]
    assert mark.endswith("Z") and "T" in mark


def test_a_waiting_delete_leaves_no_mark(
    sim: LifecycleSimulator, rds: Any, calls: list[str], express: ExpressSemantics
) -> None:
    sim.create({})
    calls.clear()
    sim.delete({}, max_invocations=1, timeout_seconds=2.0)  # stops while it is deleting
    assert "AddTagsToResource" not in calls


def test_a_full_set_of_tags_makes_room_for_the_mark_by_dropping_expires_at(
    sim: LifecycleSimulator, rds: Any
) -> None:
    props = {
        **FAST,
        "ExpiresAfter": "7d",
        "Tags": [{"Key": f"k{n}", "Value": "v"} for n in range(46)],
    }
    created = sim.create(props)
    assert len(tags(rds, created.physical_id)) == naming.MAX_TAGS
    deleted = sim.delete(props)
    assert deleted.status == "SUCCESS", deleted.reason
    found = tags(rds, created.physical_id)
    assert naming.DELETE_REQUESTED_TAG in found
    assert naming.EXPIRES_AT_TAG not in found


# -- the same checks as a waiting Delete ------------------------------------------------


def test_deletion_protection_still_fails_the_delete(
    sim: LifecycleSimulator, rds: Any, calls: list[str]
) -> None:
    props = {**FAST, "DeletionProtection": "true"}
    created = sim.create(props)
    calls.clear()
    deleted = sim.delete(props)
    assert deleted.status == "FAILED"
    assert "DeletionProtection" in deleted.reason
    assert "DeleteDBCluster" not in calls and "DeleteDBInstance" not in calls
    assert status(rds, created.physical_id) == "available"
    assert naming.DELETE_REQUESTED_TAG not in tags(rds, created.physical_id)


def test_a_cluster_this_resource_does_not_own_is_left_alone(
    sim: LifecycleSimulator, rds: Any, calls: list[str], cfn: ResponseCollector
) -> None:
    other = LifecycleSimulator(cluster_handler.handler, cfn, stack_name="other", logical_id="Db")
    created = other.create({"ClusterIdentifier": "shared"})
    calls.clear()
    deleted = sim.delete(FAST, physical_id=created.physical_id)
    assert deleted.status == "SUCCESS", deleted.reason
    assert status(rds, "shared") == "available"
    assert [c for c in calls if not c.startswith("Describe")] == []


def test_on_delete_retain_leaves_the_cluster(sim: LifecycleSimulator, rds: Any) -> None:
    props = {**FAST, "OnDelete": "Retain"}
    created = sim.create(props)
    assert sim.delete(props).status == "SUCCESS"
    assert status(rds, created.physical_id) == "available"


def test_a_final_snapshot_is_still_taken(sim: LifecycleSimulator, rds: Any) -> None:
    props = {**FAST, "OnDelete": "Snapshot"}
    created = sim.create(props)
    assert sim.delete(props).status == "SUCCESS"
    snapshots = rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    (name,) = [s["DBClusterSnapshotIdentifier"] for s in snapshots]
    assert name.startswith(f"{created.physical_id}-final-")


def test_a_repeated_delete_while_deleting_succeeds_without_a_second_delete_call(
    sim: LifecycleSimulator, calls: list[str]
) -> None:
    sim.create(FAST)
    sim.delete(FAST)
    calls.clear()
    again = sim.delete(FAST)
    assert again.status == "SUCCESS", again.reason
    assert calls == ["DescribeDBClusters"]


def test_a_delete_of_a_cluster_still_creating_waits_until_rds_accepts_it(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    """A rollback right after a Create: RDS refuses to delete a creating cluster at first."""
    express.set_timings(create_seconds=1.0)
    owned = naming.ownership_tags(sim.stack_id, "Db")
    rds.create_db_cluster(
        DBClusterIdentifier="young",
        Engine="aurora-postgresql",
        WithExpressConfiguration=True,
        Tags=[{"Key": k, "Value": v} for k, v in owned.items()],
    )
    assert status(rds, "young") == "creating"
    deleted = sim.delete(FAST, physical_id="young")
    assert deleted.status == "SUCCESS", deleted.reason
    assert status(rds, "young") == "deleting"


# -- MaxClusters -----------------------------------------------------------------------


def test_max_clusters_counts_clusters_still_deleting(
    express: ExpressSemantics,
    cfn: ResponseCollector,
    rds: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_CLUSTERS", "1")
    first = LifecycleSimulator(cluster_handler.handler, cfn, stack_name="pr-1")
    created = first.create(FAST)
    assert first.delete(FAST).status == "SUCCESS"
    assert status(rds, created.physical_id) == "deleting"
    second = LifecycleSimulator(cluster_handler.handler, cfn, stack_name="pr-2")
    refused = second.create(FAST)
    assert refused.status == "FAILED"
    assert "owns 1 clusters" in refused.reason and "MaxClusters is 1" in refused.reason
