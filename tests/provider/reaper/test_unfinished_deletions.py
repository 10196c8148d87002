"""The reaper finds deletions that did not finish: still deleting after an hour, or back.

A Delete with ``WaitForDeletion: false`` answers once RDS has accepted the deletion and
marks the cluster (``aurora-express:delete-requested-at``); whatever then happens to the
deletion, the reaper sees it on a later run.
"""

from __future__ import annotations

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
from provider.cluster import rds as cluster_rds
from provider.cluster.plan import ClusterState
from provider.cluster.rds import ClusterApi
from provider.reaper import report, stacks, sweep
from provider.reaper.classify import (
    GONE,
    Action,
    Category,
    StackLookup,
    Verdict,
    judge,
    owner_of,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/app/1"
REQUESTED = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
FAST = {"WaitForDeletion": "false"}


def marked(status: str, **tags: str) -> ClusterState:
    owned = {
        naming.OWNER_STACK_TAG: STACK,
        naming.OWNER_LOGICAL_TAG: "Db",
        naming.DELETE_REQUESTED_TAG: "2025-06-01T03:00:00Z",
    }
    return ClusterState(identifier="db", status=status, tags=owned | tags)


def verdict(
    state: ClusterState, after: timedelta, *, armed: bool = True, stack: StackLookup | None = None
) -> Verdict:
    owner = owner_of(state)
    assert owner is not None
    looked_up = stack or StackLookup(exists=True, status="UPDATE_COMPLETE")
    return judge(state, owner, looked_up, REQUESTED + after, armed=armed)


# -- the verdicts (pure) --------------------------------------------------------------


def test_a_deletion_under_way_within_the_hour_is_left_to_finish() -> None:
    found = verdict(marked("deleting"), timedelta(minutes=40))
    assert found.category is Category.KEEP
    assert found.action is Action.NONE


def test_a_cluster_still_deleting_after_an_hour_is_reported_stuck() -> None:
    found = verdict(marked("deleting"), timedelta(minutes=61))
    assert found.category is Category.UNFINISHED
    assert found.action is Action.STUCK
    assert "still deleting 61 min" in found.reason


@pytest.mark.parametrize("status", ["available", "failed"])
def test_a_cluster_back_after_its_deletion_is_deleted_again_when_armed(status: str) -> None:
    found = verdict(marked(status), timedelta(minutes=20))
    assert found.category is Category.UNFINISHED
    assert found.action is Action.DELETE
    assert f"did not finish: it is {status}" in found.reason


def test_report_only_says_it_would_delete_it_again() -> None:
    assert verdict(marked("available"), timedelta(minutes=20), armed=False).action is (
        Action.WOULD_DELETE
    )


def test_no_second_delete_right_after_the_mark() -> None:
    """The mark comes just before DeleteDBCluster, which RDS may refuse for a while."""
    found = verdict(marked("available"), timedelta(minutes=5))
    assert found.category is Category.KEEP


def test_an_unfinished_deletion_is_found_whatever_its_stack_is_doing() -> None:
    busy = StackLookup(exists=True, status="UPDATE_IN_PROGRESS")
    assert verdict(marked("available"), timedelta(hours=2), stack=busy).category is (
        Category.UNFINISHED
    )
    assert verdict(marked("available"), timedelta(hours=2), stack=GONE).category is (
        Category.UNFINISHED
    )


def test_deletion_protection_turned_on_since_is_respected() -> None:
    state = marked("available")
    protected = ClusterState(
        identifier="db", status="available", deletion_protection=True, tags=state.tags
    )
    assert verdict(protected, timedelta(hours=2)).action is Action.PROTECTED


def test_an_unreadable_mark_is_ignored() -> None:
    state = marked("available", **{naming.DELETE_REQUESTED_TAG: "soon"})
    assert verdict(state, timedelta(hours=2)).category is Category.KEEP


def test_unfinished_deletions_have_their_own_metric() -> None:
    assert report.METRIC_NAMES[Category.UNFINISHED] == "UnfinishedDeletions"


# -- against moto ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURORA_EXPRESS_POLL_SECONDS", "0.02")
    monkeypatch.setenv("AURORA_EXPRESS_SAFETY_SECONDS", "0.5")
    monkeypatch.setenv("AURORA_EXPRESS_RETRY_SECONDS", "0.1")


@pytest.fixture
def express() -> Iterator[ExpressSemantics]:
    with moto.mock_aws(), express_semantics(create_seconds=0.2, delete_seconds=0.3) as live:
        yield live


@pytest.fixture
def rds(express: ExpressSemantics) -> Any:
    return boto3.client("rds", region_name=REGION)


@pytest.fixture
def sim(express: ExpressSemantics) -> Iterator[LifecycleSimulator]:
    with ResponseCollector() as cfn:
        yield LifecycleSimulator(cluster_handler.handler, cfn, stack_name="pr-7")


def run(*, armed: bool, later: timedelta) -> sweep.Report:
    """One reaper run, wired as its handler wires it, as if ``later`` had passed."""
    api = ClusterApi(cluster_rds.new_client(REGION))
    return sweep.run(
        api,
        stacks.StackDirectory(stacks.new_client(REGION)),
        sweep.provider_delete(api, time.time()),
        settings=sweep.Settings(armed=armed, region=REGION, account=ACCOUNT),
        now=datetime.now(UTC) + later,
    )


def status(rds: Any, identifier: str | None) -> str | None:
    found = rds.describe_db_clusters()["DBClusters"]
    return next((c["Status"] for c in found if c["DBClusterIdentifier"] == identifier), None)


def wait_for(rds: Any, identifier: str | None, wanted: str | None) -> None:
    end = time.monotonic() + 10
    while status(rds, identifier) != wanted:
        assert time.monotonic() < end, status(rds, identifier)
        time.sleep(0.02)


def test_the_reaper_retries_a_deletion_that_came_back(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    created = sim.create(FAST)
    express.fail_deletion(created.physical_id or "", status="available")
    assert sim.delete(FAST).status == "SUCCESS"
    wait_for(rds, created.physical_id, "available")  # the deletion did not finish
    (found,) = run(armed=True, later=timedelta(minutes=20)).verdicts
    assert (found.category, found.action) == (Category.UNFINISHED, Action.DELETE)
    assert status(rds, created.physical_id) == "deleting"
    wait_for(rds, created.physical_id, None)


def test_the_reaper_retries_a_deletion_that_failed(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    created = sim.create(FAST)
    express.fail_deletion(created.physical_id or "", status="failed")
    sim.delete(FAST)
    wait_for(rds, created.physical_id, "failed")
    (found,) = run(armed=True, later=timedelta(minutes=20)).verdicts
    assert found.action is Action.DELETE
    wait_for(rds, created.physical_id, None)


def test_a_report_only_reaper_reports_it_and_deletes_nothing(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    created = sim.create(FAST)
    express.fail_deletion(created.physical_id or "")
    sim.delete(FAST)
    wait_for(rds, created.physical_id, "available")
    result = run(armed=False, later=timedelta(minutes=20))
    assert result.verdicts[0].action is Action.WOULD_DELETE
    assert result.counts()["unfinished-deletion"] == 1
    assert status(rds, created.physical_id) == "available"


def test_a_deletion_stuck_for_over_an_hour_is_reported_and_not_deleted_again(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    express.set_timings(delete_seconds=60)
    created = sim.create(FAST)
    sim.delete(FAST)
    (found,) = run(armed=True, later=timedelta(hours=2)).verdicts
    assert (found.category, found.action) == (Category.UNFINISHED, Action.STUCK)
    assert status(rds, created.physical_id) == "deleting"


def test_a_deletion_under_way_is_left_alone(
    sim: LifecycleSimulator, rds: Any, express: ExpressSemantics
) -> None:
    express.set_timings(delete_seconds=60)
    sim.create(FAST)
    sim.delete(FAST)
    (found,) = run(armed=True, later=timedelta(minutes=10)).verdicts
    assert found.category is not Category.UNFINISHED
    assert found.action in (Action.DELETING, Action.NONE)


def test_the_reapers_own_deletions_are_marked_too(express: ExpressSemantics, rds: Any) -> None:
    """An orphan the reaper deletes is followed like a stack's fast Delete."""
    orphan_stack = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/long-gone/0"
    owned = naming.ownership_tags(orphan_stack, "Db")
    rds.create_db_cluster(
        DBClusterIdentifier="orphan",
        Engine="aurora-postgresql",
        WithExpressConfiguration=True,
        Tags=[{"Key": k, "Value": v} for k, v in owned.items()],
    )
    wait_for(rds, "orphan", "available")
    (found,) = run(armed=True, later=timedelta()).verdicts
    assert (found.category, found.action) == (Category.ORPHAN, Action.DELETE)
    described = rds.describe_db_clusters(DBClusterIdentifier="orphan")["DBClusters"][0]
    assert naming.DELETE_REQUESTED_TAG in {t["Key"] for t in described["TagList"]}
