"""RDS misbehaving under the provider: every lifecycle still ends in the right answer, in
time, with nothing left behind that the stack created."""

from __future__ import annotations

from typing import Any

import pytest

from aurora_express.local.moto_express import ExpressSemantics
from aurora_express.local.simulator import LifecycleSimulator, SimulationResult
from provider.cluster import naming
from tests.hardening.faults import RdsFaults
from tests.support.aws import clusters, instances

LAMBDA_SECONDS = 3.0  # about one second of waiting per invocation: forces polling


def nothing_left(rds: Any, sim: LifecycleSimulator) -> None:
    assert clusters(rds) == {}
    assert instances(rds) == []
    assert sim.rules() == []  # no crhelper schedule left polling


def answered_in_time(result: SimulationResult, bound: float) -> None:
    assert result.response is not None, "CloudFormation was never answered"
    assert result.seconds is not None and result.seconds < bound, result.invocations


@pytest.mark.slow
def test_a_lifecycle_with_a_quarter_of_rds_calls_throttled_or_5xx_ends_in_success(
    sim: LifecycleSimulator, rds: Any, faults: RdsFaults
) -> None:
    faults.share = 0.25  # at random, and for certain on each call that changes something:
    faults.refuse("CreateDBCluster", "Throttling")
    faults.refuse("ModifyDBCluster", "InternalFailure")
    faults.refuse("DeleteDBInstance", "Throttling")
    faults.refuse("DeleteDBCluster", "InternalFailure")
    created = sim.create({"MaxCapacity": 4})
    assert created.status == "SUCCESS", created.reason
    updated = sim.update({"MaxCapacity": 8}, old={"MaxCapacity": 4})
    assert updated.status == "SUCCESS", updated.reason
    assert updated.physical_id == created.physical_id
    scaling = clusters(rds)[created.physical_id or ""]["ServerlessV2ScalingConfiguration"]
    assert scaling["MaxCapacity"] == 8
    deleted = sim.delete({"MaxCapacity": 8})
    assert deleted.status == "SUCCESS", deleted.reason
    for result in (created, updated, deleted):
        answered_in_time(result, bound=60)
    nothing_left(rds, sim)
    assert faults.total >= 8, faults.injected
    assert {code for _, code in faults.injected} == {"Throttling", "InternalFailure"}


def test_a_create_whose_response_was_lost_adopts_the_cluster_it_made(
    sim: LifecycleSimulator, rds: Any, faults: RdsFaults
) -> None:
    """CreateDBCluster took effect, its answer did not arrive, botocore sent it again."""
    faults.lose_response("CreateDBCluster", via=rds)
    created = sim.create({})
    assert created.status == "SUCCESS", created.reason
    assert list(clusters(rds)) == [created.physical_id]
    assert faults.calls["CreateDBCluster"] == 2
    assert sim.delete({}).status == "SUCCESS"
    nothing_left(rds, sim)


@pytest.mark.slow
def test_a_cluster_stuck_in_creating_fails_the_create_in_time_and_the_rollback_removes_it(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    express.set_timings(create_seconds=7.0)
    failed = sim.create({"ServiceTimeout": 5}, timeout_seconds=LAMBDA_SECONDS)
    assert failed.status == "FAILED" and "creating" in failed.reason, failed.reason
    answered_in_time(failed, bound=5)
    assert failed.polls <= 5  # a bounded number of polls, then an answer
    assert failed.rules_left == []
    assert failed.physical_id in clusters(rds)  # named, so the rollback's Delete finds it

    rollback = sim.delete({"ServiceTimeout": 30}, physical_id=failed.physical_id)
    assert rollback.status == "SUCCESS", rollback.reason
    nothing_left(rds, sim)


@pytest.mark.parametrize("status", ["failed", "incompatible-parameters"])
def test_a_cluster_landing_in_a_failed_state_fails_the_create_and_the_rollback_removes_it(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics, status: str
) -> None:
    express.fail_creation("doomed", status=status)
    failed = sim.create({"ClusterIdentifier": "doomed"})
    assert failed.status == "FAILED" and status in failed.reason, failed.reason
    assert failed.physical_id == "doomed"
    rollback = sim.delete({"ClusterIdentifier": "doomed"}, physical_id="doomed")
    assert rollback.status == "SUCCESS", rollback.reason
    nothing_left(rds, sim)


def test_an_instance_gone_between_describe_and_delete_does_not_stop_the_delete(
    sim: LifecycleSimulator, rds: Any, faults: RdsFaults
) -> None:
    created = sim.create({})
    writer = naming.writer_instance(created.physical_id or "")
    faults.before(
        "DeleteDBInstance",
        lambda: rds.delete_db_instance(DBInstanceIdentifier=writer, SkipFinalSnapshot=True),
    )
    deleted = sim.delete({})
    assert deleted.status == "SUCCESS", deleted.reason
    nothing_left(rds, sim)


def test_invalid_cluster_state_while_deleting_is_retried_until_the_cluster_is_gone(
    sim: LifecycleSimulator, rds: Any, faults: RdsFaults
) -> None:
    sim.create({})
    faults.refuse("DeleteDBCluster", "InvalidDBClusterStateFault", "is modifying", times=3)
    deleted = sim.delete({})
    assert deleted.status == "SUCCESS", deleted.reason
    assert faults.calls["DeleteDBCluster"] == 4
    nothing_left(rds, sim)


@pytest.mark.parametrize("code", ["InstanceQuotaExceeded", "StorageQuotaExceeded"])
def test_a_quota_refusal_at_create_fails_saying_so_and_creates_nothing(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics, code: str
) -> None:
    express.refuse_next_create(code, "quota reached")
    failed = sim.create({})
    assert failed.status == "FAILED" and "quota" in failed.reason and code in failed.reason
    assert not naming.is_valid(failed.physical_id or "")  # its Delete is a no-op
    assert sim.delete({}, physical_id=failed.physical_id).status == "SUCCESS"
    nothing_left(rds, sim)


def test_a_quota_refusal_of_a_replacement_keeps_the_old_cluster_and_its_id(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    created = sim.create({"ClusterIdentifier": "blue"})
    express.refuse_next_create("DBClusterQuotaExceededFault")
    replaced = sim.update({"ClusterIdentifier": "green"}, old={"ClusterIdentifier": "blue"})
    assert replaced.status == "FAILED" and "quota" in replaced.reason, replaced.reason
    assert replaced.physical_id == created.physical_id == "blue"
    assert list(clusters(rds)) == ["blue"]
    rollback = sim.update({"ClusterIdentifier": "blue"}, old={"ClusterIdentifier": "green"})
    assert rollback.status == "SUCCESS" and rollback.physical_id == "blue", rollback.reason
    assert sim.delete({"ClusterIdentifier": "blue"}).status == "SUCCESS"
    nothing_left(rds, sim)
