"""A cluster under the right name is still not ours without our tags: never deleted, never
adopted, never modified, whichever request names it."""

from __future__ import annotations

from typing import Any

import pytest

from aurora_express.local.cfn_local import LambdaContext, request_event
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import naming
from tests.hardening.faults import RdsFaults
from tests.support.aws import clusters, tags

CHANGES = {"DeleteDBCluster", "DeleteDBInstance", "ModifyDBCluster", "CreateDBCluster"}
RETAGS = {"AddTagsToResource", "RemoveTagsFromResource"}


def other_stack(sim: LifecycleSimulator) -> str:
    return sim.stack_id.replace("/app/", "/other-app/")


def foreign_tags(sim: LifecycleSimulator) -> dict[str, dict[str, str]]:
    """Tags that name a stack or logical id other than this resource's, or none."""
    return {
        "another-stack": naming.ownership_tags(other_stack(sim), sim.logical_id),
        "another-logical-id": naming.ownership_tags(sim.stack_id, "OtherDb"),
        "no-tags": {},
        "only-the-stack-tag": {naming.OWNER_STACK_TAG: sim.stack_id},
        "only-the-logical-id-tag": {naming.OWNER_LOGICAL_TAG: sim.logical_id},
        "case-changed": naming.ownership_tags(sim.stack_id.upper(), sim.logical_id),
        "team-tag-only": {"team": "billing"},
    }


OWNERS = [
    "another-stack",
    "another-logical-id",
    "no-tags",
    "only-the-stack-tag",
    "only-the-logical-id-tag",
    "case-changed",
    "team-tag-only",
]


def make_foreign(rds: Any, identifier: str, owner: dict[str, str]) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine="aurora-postgresql",
        WithExpressConfiguration=True,
        Tags=[{"Key": k, "Value": v} for k, v in owner.items()],
    )


def retag_by_hand(rds: Any, identifier: str, owner: dict[str, str]) -> None:
    """Someone edits the ownership tags in the console."""
    arn = clusters(rds)[identifier]["DBClusterArn"]
    ours = [naming.OWNER_STACK_TAG, naming.OWNER_LOGICAL_TAG]
    rds.remove_tags_from_resource(ResourceName=arn, TagKeys=ours)
    if owner:
        rds.add_tags_to_resource(
            ResourceName=arn, Tags=[{"Key": k, "Value": v} for k, v in owner.items()]
        )


def untouched(rds: Any, identifier: str, before: dict[str, Any], faults: RdsFaults) -> None:
    after = clusters(rds).get(identifier)
    assert after is not None, f"{identifier} was deleted"
    assert tags(after) == tags(before)
    assert after["ServerlessV2ScalingConfiguration"] == before["ServerlessV2ScalingConfiguration"]
    assert not (CHANGES | RETAGS) & set(faults.calls), faults.calls


@pytest.fixture
def foreign(sim: LifecycleSimulator, rds: Any, request: pytest.FixtureRequest) -> dict[str, Any]:
    """``shared-db``, made outside this resource, owned as the test's parameter says."""
    make_foreign(rds, "shared-db", foreign_tags(sim)[request.param])
    return clusters(rds)["shared-db"]


@pytest.mark.parametrize("foreign", OWNERS, indirect=True)
def test_a_create_never_adopts_a_cluster_it_does_not_own(
    sim: LifecycleSimulator, rds: Any, foreign: dict[str, Any], faults: RdsFaults
) -> None:
    result = sim.create({"ClusterIdentifier": "shared-db", "MaxCapacity": 8})
    assert result.status == "FAILED" and "own" in result.reason, result.reason
    assert not naming.is_valid(result.physical_id or "")  # the rollback's Delete is a no-op
    untouched(rds, "shared-db", foreign, faults)


@pytest.mark.parametrize("foreign", OWNERS, indirect=True)
def test_an_update_never_modifies_a_cluster_it_does_not_own(
    sim: LifecycleSimulator, rds: Any, foreign: dict[str, Any], faults: RdsFaults
) -> None:
    result = sim.update(
        {"ClusterIdentifier": "shared-db", "MaxCapacity": 8},
        old={"ClusterIdentifier": "shared-db"},
        physical_id="shared-db",
    )
    assert result.status == "FAILED" and result.physical_id == "shared-db", result.reason
    untouched(rds, "shared-db", foreign, faults)


@pytest.mark.parametrize("foreign", OWNERS, indirect=True)
def test_a_delete_never_deletes_a_cluster_it_does_not_own(
    sim: LifecycleSimulator, rds: Any, foreign: dict[str, Any], faults: RdsFaults
) -> None:
    result = sim.delete({"ClusterIdentifier": "shared-db"}, physical_id="shared-db")
    assert result.status == "SUCCESS", result.reason
    untouched(rds, "shared-db", foreign, faults)


@pytest.mark.parametrize("foreign", ["another-stack", "no-tags", "case-changed"], indirect=True)
def test_a_replacement_never_adopts_a_cluster_it_does_not_own_nor_deletes_it(
    sim: LifecycleSimulator, rds: Any, foreign: dict[str, Any], faults: RdsFaults
) -> None:
    created = sim.create({"ClusterIdentifier": "mine"})
    faults.calls.clear()
    result = sim.update({"ClusterIdentifier": "shared-db"}, old={"ClusterIdentifier": "mine"})
    assert result.status == "FAILED" and result.physical_id == created.physical_id == "mine"
    untouched(rds, "shared-db", foreign, faults)
    assert clusters(rds)["mine"]["Status"] == "available"


@pytest.mark.parametrize("owner", ["another-stack", "another-logical-id", "no-tags"])
def test_a_cluster_whose_tags_were_changed_by_hand_is_neither_deleted_nor_readopted(
    sim: LifecycleSimulator, rds: Any, faults: RdsFaults, owner: str
) -> None:
    created = sim.create({}, request_id="first-delivery")
    identifier = created.physical_id or ""
    retag_by_hand(rds, identifier, foreign_tags(sim)[owner])
    before = clusters(rds)[identifier]
    faults.calls.clear()

    again = sim.create({}, request_id="first-delivery")  # a redelivered Create
    assert again.status == "FAILED", again.reason
    deleted = sim.delete({}, physical_id=identifier)
    assert deleted.status == "SUCCESS", deleted.reason
    untouched(rds, identifier, before, faults)


def test_a_forged_delete_built_from_a_victims_tags_deletes_nothing(
    sim: LifecycleSimulator, rds: Any, faults: RdsFaults
) -> None:
    """The attack: read a cluster's ownership tags, invoke the function directly with a
    Delete naming its stack, logical id and physical id, and your own ResponseURL."""
    victim = sim.create({"ClusterIdentifier": "victim-db"})
    assert victim.status == "SUCCESS", victim.reason
    owner = tags(clusters(rds)["victim-db"])
    forged = request_event(
        "Delete",
        sim.resource_type,
        {"ClusterIdentifier": "victim-db"},
        response_url=sim.collector.url("forged"),
        service_token=sim.function_arn,
        stack=owner[naming.OWNER_STACK_TAG],
        logical_id=owner[naming.OWNER_LOGICAL_TAG],
        physical_id="victim-db",
    )
    faults.calls.clear()
    sim.handler(forged, LambdaContext(function_name=sim.function_name))  # not through CFN
    answer = sim.collector.wait("forged", timeout=5)
    assert answer is not None
    assert answer.body["Status"] == "FAILED"
    assert "could not be confirmed with CloudFormation" in answer.body["Reason"]
    assert clusters(rds)["victim-db"]["Status"] == "available"
    assert not CHANGES & set(faults.calls)
