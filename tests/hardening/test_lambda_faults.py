"""The Lambda side failing: time running out, polls arriving late, the same event twice at once."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

import pytest
from moto.rds.models import rds_backends

from aurora_express.local.cfn_local import ResponseCollector, request_event
from aurora_express.local.moto_express import ExpressSemantics
from aurora_express.local.simulator import (
    RESOURCE_TYPE,
    LifecycleSimulator,
    SimulationResult,
    ensure_placeholder_function,
)
from provider.cluster import handler as cluster_handler
from provider.cluster import naming
from tests.support.aws import ACCOUNT, REGION, ManualClock, clusters, instances, tags
from tests.support.cfn import lambda_environment

LAMBDA_SECONDS = 3.0  # about one second of waiting per invocation: forces polling


def vanish(identifier: str) -> None:
    """The cluster and its writer are gone, whatever their state (deleted outside the stack)."""
    backend = rds_backends[ACCOUNT][REGION]
    backend.clusters.pop(identifier, None)
    backend.databases.pop(naming.writer_instance(identifier), None)


def before_first_poll(action: Callable[[], object]) -> Any:
    """The real handler, with ``action`` run just before the first scheduled poll."""
    done: list[bool] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        if "CrHelperPoll" in event and not done:
            done.append(True)
            action()
        cluster_handler.handler(event, context)

    return handler


@pytest.mark.slow
def test_an_in_place_update_outliving_its_invocation_completes_through_polling(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    created = sim.create({"MaxCapacity": 4})
    express.set_timings(modify_seconds=2.5)
    updated = sim.update({"MaxCapacity": 8}, old={"MaxCapacity": 4}, timeout_seconds=LAMBDA_SECONDS)
    assert updated.status == "SUCCESS", updated.reason
    assert updated.polls >= 1
    assert updated.physical_id == created.physical_id
    assert updated.data["ClusterIdentifier"] == created.physical_id
    cluster = clusters(rds)[created.physical_id or ""]
    assert cluster["Status"] == "available"
    assert cluster["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 8
    assert updated.rules_left == []


def test_a_create_poll_after_the_cluster_vanished_fails_and_its_rollback_deletes_nothing(
    express: ExpressSemantics, clock: ManualClock, cfn: ResponseCollector, rds: Any
) -> None:
    sim = LifecycleSimulator(before_first_poll(lambda: vanish("early")), cfn)
    express.set_timings(create_seconds=5.0)  # on a clock nobody moves: creating until it goes
    failed = sim.create({"ClusterIdentifier": "early"}, timeout_seconds=LAMBDA_SECONDS)
    assert failed.status == "FAILED" and "disappeared" in failed.reason, failed.reason
    assert failed.polls == 1
    assert not naming.is_valid(failed.physical_id or "")  # names no cluster
    assert failed.rules_left == []
    rollback = sim.delete({"ClusterIdentifier": "early"}, physical_id=failed.physical_id)
    assert rollback.status == "SUCCESS", rollback.reason
    assert clusters(rds) == {} and instances(rds) == []


def test_an_update_poll_after_the_cluster_vanished_fails_keeping_the_physical_id(
    express: ExpressSemantics, clock: ManualClock, cfn: ResponseCollector
) -> None:
    sim = LifecycleSimulator(before_first_poll(lambda: vanish("blue")), cfn)
    express.set_timings(create_seconds=0)
    created = sim.create({"ClusterIdentifier": "blue", "MaxCapacity": 4})
    express.set_timings(modify_seconds=5.0)  # on a clock nobody moves: modifying until it goes
    updated = sim.update(
        {"ClusterIdentifier": "blue", "MaxCapacity": 8},
        old={"ClusterIdentifier": "blue", "MaxCapacity": 4},
        timeout_seconds=LAMBDA_SECONDS,
    )
    assert updated.status == "FAILED" and "does not exist" in updated.reason, updated.reason
    assert updated.physical_id == created.physical_id == "blue"
    assert updated.polls == 1
    assert updated.rules_left == []


def test_a_delete_poll_arriving_after_the_cluster_is_gone_succeeds(
    express: ExpressSemantics, clock: ManualClock, cfn: ResponseCollector, rds: Any
) -> None:
    # Deleting through the whole first invocation, gone when the first poll arrives: the
    # test's clock moves only then, however fast the machine runs the invocation.
    sim = LifecycleSimulator(before_first_poll(lambda: clock.advance(5.0)), cfn)
    express.set_timings(create_seconds=0, delete_seconds=5.0)
    created = sim.create({})
    deleted = sim.delete({}, timeout_seconds=LAMBDA_SECONDS)
    assert deleted.status == "SUCCESS", deleted.reason
    assert deleted.physical_id == created.physical_id
    assert deleted.polls == 1
    assert clusters(rds) == {} and deleted.rules_left == []


# -- the same event delivered twice at once ---------------------------------------------


def delivered_twice_at_once(
    sims: list[LifecycleSimulator], event: dict[str, Any]
) -> list[SimulationResult]:
    """``event`` run by two Lambda environments in two threads started together."""
    results: list[SimulationResult | None] = [None, None]
    start = threading.Barrier(2)

    def deliver(i: int) -> None:
        start.wait()
        results[i] = sims[i].run(copy.deepcopy(event))

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r is not None for r in results), "a delivery never finished"
    return [r for r in results if r is not None]


@pytest.fixture
def two_environments(
    express: ExpressSemantics, cfn: ResponseCollector
) -> tuple[list[LifecycleSimulator], Callable[..., dict[str, Any]]]:
    """Two Lambda environments for one stack, and a maker of that stack's events."""
    sims = [LifecycleSimulator(lambda_environment().handler, cfn) for _ in range(2)]
    ensure_placeholder_function(sims[0].function_name)  # once, not raced by both
    stack = sims[0].stack_id

    def event(request_type: str, properties: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return request_event(
            request_type,
            RESOURCE_TYPE,
            properties,
            response_url=cfn.url(f"{request_type}-{len(kwargs)}"),
            service_token=sims[0].function_arn,
            stack=stack,
            logical_id="Db",
            **kwargs,
        )

    return sims, event


def test_a_create_delivered_twice_at_once_makes_one_cluster_and_two_equal_answers(
    two_environments: tuple[list[LifecycleSimulator], Callable[..., dict[str, Any]]],
    cfn: ResponseCollector,
    rds: Any,
) -> None:
    sims, event = two_environments
    create = event("Create", {"MaxCapacity": 4})
    answers = delivered_twice_at_once(sims, create)
    assert [a.status for a in answers] == ["SUCCESS", "SUCCESS"], [a.reason for a in answers]
    (identifier,) = clusters(rds)
    assert {a.physical_id for a in answers} == {identifier}
    assert len(cfn.responses("Create-0")) == 2
    owner = tags(clusters(rds)[identifier])
    assert naming.is_owned(owner, create["StackId"], "Db")


def test_a_delete_delivered_twice_at_once_removes_the_cluster_and_both_succeed(
    two_environments: tuple[list[LifecycleSimulator], Callable[..., dict[str, Any]]],
    rds: Any,
) -> None:
    sims, event = two_environments
    created = sims[0].run(event("Create", {}))
    assert created.status == "SUCCESS", created.reason
    delete = event("Delete", {}, physical_id=created.physical_id)
    answers = delivered_twice_at_once(sims, delete)
    assert [a.status for a in answers] == ["SUCCESS", "SUCCESS"], [a.reason for a in answers]
    assert {a.physical_id for a in answers} == {created.physical_id}
    assert clusters(rds) == {} and instances(rds) == []
