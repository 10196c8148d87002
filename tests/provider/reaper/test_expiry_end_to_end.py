"""ExpiresAfter from template to reaper: clusters made by the real handler, judged by the reaper."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from aurora_express.local.cfn_local import ResponseCollector
from aurora_express.local.moto_express import ExpressSemantics
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import handler as cluster_handler
from provider.cluster import naming
from provider.cluster import rds as cluster_rds
from provider.cluster.rds import ClusterApi
from provider.reaper import stacks, sweep
from provider.reaper.classify import Action, Category, Verdict
from tests.support.aws import ACCOUNT, REGION
from tests.support.world import World

# The guardrails' moto: clusters appear at once, and take 5 s to go.
pytestmark = pytest.mark.express(create_seconds=0.05, delete_seconds=5)


@pytest.fixture(autouse=True)
def fast_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURORA_EXPRESS_POLL_SECONDS", "0.02")
    monkeypatch.setenv("AURORA_EXPRESS_SAFETY_SECONDS", "0.5")


@pytest.fixture
def sim(express: ExpressSemantics, world: World) -> Iterator[LifecycleSimulator]:
    """The cluster provider for resource Db of a stack that exists in moto's CloudFormation."""
    express.set_timings(delete_seconds=0.2)
    with ResponseCollector() as collector:
        # The simulator's stack is a real one in moto's CloudFormation.
        yield LifecycleSimulator(cluster_handler.handler, collector, logical_id="Db")


def reap(armed: bool, after: timedelta = timedelta(0)) -> dict[str, Verdict]:
    api = ClusterApi(cluster_rds.new_client(REGION))
    report = sweep.run(
        api,
        stacks.StackDirectory(stacks.new_client(REGION)),
        sweep.provider_delete(api, time.time()),
        settings=sweep.Settings(armed=armed, region=REGION, account=ACCOUNT),
        now=datetime.now(UTC) + after,
    )
    return {v.cluster: v for v in report.verdicts}


def test_the_handler_tags_expiry_the_reaper_reads(sim: LifecycleSimulator, world: World) -> None:
    created = sim.create({"ExpiresAfter": "72h"})
    assert created.status == "SUCCESS", created.reason
    tag = world.rds.describe_db_clusters()["DBClusters"][0]["TagList"]
    expires = {t["Key"]: t["Value"] for t in tag}[naming.EXPIRES_AT_TAG]
    verdict = reap(armed=False)[created.physical_id or ""]
    assert verdict.category is Category.KEEP and verdict.expires_at == expires


def test_a_cluster_made_by_the_handler_expires_after_its_duration(sim: LifecycleSimulator) -> None:
    created = sim.create({"ExpiresAfter": "1h"})
    assert reap(armed=False, after=timedelta(minutes=59))[created.physical_id or ""].category is (
        Category.KEEP
    )
    assert reap(armed=False, after=timedelta(minutes=61))[created.physical_id or ""].category is (
        Category.EXPIRED
    )


def test_after_the_reaper_deleted_an_expired_cluster_the_stack_delete_succeeds(
    sim: LifecycleSimulator, world: World
) -> None:
    created = sim.create({"ExpiresAfter": "1h"})
    verdict = reap(armed=True, after=timedelta(hours=2))[created.physical_id or ""]
    assert verdict.action is Action.DELETE
    deleted = sim.delete({"ExpiresAfter": "1h"})
    assert deleted.status == "SUCCESS", deleted.reason
    assert world.clusters() == {}


def test_a_cluster_whose_stack_went_without_deleting_it_is_an_orphan(
    sim: LifecycleSimulator, world: World
) -> None:
    """As with DeletionPolicy: Retain, which never sends the provider its Delete."""
    created = sim.create({})
    world.cfn.delete_stack(StackName=sim.stack_id)
    verdict = reap(armed=True)[created.physical_id or ""]
    assert (verdict.category, verdict.action) == (Category.ORPHAN, Action.DELETE)
    assert world.clusters().get(created.physical_id or "") in (None, "deleting")


def test_a_cluster_without_expires_after_is_kept_however_old(sim: LifecycleSimulator) -> None:
    created = sim.create({})
    assert reap(armed=True, after=timedelta(days=3650))[created.physical_id or ""].category is (
        Category.KEEP
    )
