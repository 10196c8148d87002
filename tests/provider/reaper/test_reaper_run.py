"""The reaper against moto: stacks present and gone, expiry, own and foreign tags, armed or not."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from aurora_express.local.cfn_local import LambdaContext
from provider.cluster import rds as cluster_rds
from provider.cluster.rds import ClusterApi
from provider.common.logging import function_logger
from provider.reaper import handler as reaper_handler
from provider.reaper import stacks, sweep
from provider.reaper.classify import ON_DELETE_TAG, Action, Category, Verdict
from tests.support.aws import ACCOUNT, REGION
from tests.support.world import FUNCTION_ARN, World

# The guardrails' moto: clusters appear at once, and take 5 s to go.
pytestmark = pytest.mark.express(create_seconds=0.05, delete_seconds=5)

HOUR = timedelta(hours=1)


def run(armed: bool) -> dict[str, Verdict]:
    """One reaper run, wired as the handler wires it; verdicts by cluster."""
    api = ClusterApi(cluster_rds.new_client(REGION))
    report = sweep.run(
        api,
        stacks.StackDirectory(stacks.new_client(REGION)),
        sweep.provider_delete(api, time.time()),
        settings=sweep.Settings(armed=armed, region=REGION, account=ACCOUNT),
        now=datetime.now(UTC),
    )
    return {v.cluster: v for v in report.verdicts}


def test_cluster_of_a_live_stack_is_kept(world: World) -> None:
    world.cluster("live", stack_id=world.stack("app"))
    assert run(armed=True)["live"].category is Category.KEEP
    assert "live" in world.clusters()


def test_cluster_of_a_deleted_stack_is_an_orphan(world: World) -> None:
    world.cluster("left", stack_id=world.deleted_stack("app"))
    verdict = run(armed=False)["left"]
    assert verdict.category is Category.ORPHAN
    assert "DELETE_COMPLETE" in verdict.reason


def test_cluster_of_a_stack_that_no_longer_exists_is_an_orphan(world: World) -> None:
    gone = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/long-gone/0000"
    world.cluster("ancient", stack_id=gone)
    assert run(armed=False)["ancient"].category is Category.ORPHAN


def test_a_hand_tagged_cluster_of_a_stack_that_never_existed_is_reported_never_deleted(
    world: World,
) -> None:
    """Tags anyone may write are not proof: only CloudFormation's record is."""
    never = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/never-existed/0000"
    world.cluster("forged", stack_id=never, by_hand=True)
    world.wait_available()
    verdict = run(armed=True)["forged"]
    assert verdict.category is Category.ORPHAN
    assert verdict.action is Action.UNPROVEN
    assert "does not show the provider made it" in verdict.reason
    assert world.clusters() == {"forged": "available"}


def test_a_hand_tagged_cluster_naming_a_real_stack_is_reported_never_deleted(
    world: World,
) -> None:
    """The stack's record names another cluster as its resource, or none."""
    stack = world.deleted_stack("gone")
    world.cluster("theirs-really", stack_id=stack, by_hand=True)
    world.wait_available()
    assert run(armed=True)["theirs-really"].action is Action.UNPROVEN
    assert world.clusters() == {"theirs-really": "available"}


def test_cluster_past_its_expiry_is_expired(world: World) -> None:
    world.cluster("old", stack_id=world.stack("app"), expires_in=-HOUR)
    assert run(armed=False)["old"].category is Category.EXPIRED


def test_cluster_before_its_expiry_is_kept(world: World) -> None:
    world.cluster("young", stack_id=world.stack("app"), expires_in=HOUR)
    assert run(armed=False)["young"].category is Category.KEEP


def test_cluster_without_ownership_tags_is_neither_judged_nor_touched(world: World) -> None:
    world.cluster("theirs", extra_tags={"team": "payments"})
    world.wait_available()
    assert "theirs" not in run(armed=True)
    assert world.clusters()["theirs"] == "available"


def test_cluster_with_a_stack_tag_but_no_logical_id_tag_is_foreign(world: World) -> None:
    world.cluster("half", stack_id=world.deleted_stack("app"), logical_id=None)
    world.wait_available()
    assert "half" not in run(armed=True)
    assert "half" in world.clusters()


def test_report_only_run_deletes_nothing(world: World) -> None:
    world.cluster("old", stack_id=world.stack("app"), expires_in=-HOUR)
    world.cluster("left", stack_id=world.deleted_stack("gone"))
    world.wait_available()
    verdicts = run(armed=False)
    assert {v.action for v in verdicts.values()} == {Action.WOULD_DELETE}
    assert world.clusters() == {"old": "available", "left": "available"}


def test_armed_run_deletes_expired_and_orphaned_clusters_instances_first(world: World) -> None:
    world.cluster("old", stack_id=world.stack("app"), expires_in=-HOUR)
    world.cluster("left", stack_id=world.deleted_stack("gone"))
    world.cluster("young", stack_id=world.stack("other"), expires_in=HOUR)
    world.wait_available()
    verdicts = run(armed=True)
    assert verdicts["old"].action is Action.DELETE
    assert verdicts["left"].action is Action.DELETE
    assert verdicts["young"].action is Action.NONE
    assert set(world.instances()) == {"young-instance-1"}
    assert world.clusters() == {"old": "deleting", "left": "deleting", "young": "available"}


def test_next_run_finds_a_deleting_cluster_on_its_way_out(world: World) -> None:
    world.cluster("left", stack_id=world.deleted_stack("gone"))
    world.wait_available()
    run(armed=True)
    assert run(armed=True)["left"].action is Action.DELETING


def test_armed_run_respects_deletion_protection(world: World) -> None:
    world.cluster("guarded", stack_id=world.deleted_stack("gone"), deletion_protection=True)
    world.wait_available()
    assert run(armed=True)["guarded"].action is Action.PROTECTED
    assert world.clusters()["guarded"] == "available"


def test_armed_run_respects_on_delete_retain(world: World) -> None:
    world.cluster(
        "kept", stack_id=world.deleted_stack("gone"), extra_tags={ON_DELETE_TAG: "Retain"}
    )
    world.wait_available()
    assert run(armed=True)["kept"].action is Action.RETAIN
    assert world.clusters()["kept"] == "available"


def test_armed_run_takes_the_final_snapshot_of_on_delete_snapshot(world: World) -> None:
    world.cluster(
        "snap", stack_id=world.deleted_stack("gone"), extra_tags={ON_DELETE_TAG: "Snapshot"}
    )
    world.wait_available()
    assert run(armed=True)["snap"].action is Action.DELETE
    snapshots = world.rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]
    assert any(s["DBClusterSnapshotIdentifier"].startswith("snap-final-") for s in snapshots)


def test_stack_in_another_region_is_not_looked_up_and_the_cluster_kept(world: World) -> None:
    elsewhere = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/app/0000"
    world.cluster("abroad", stack_id=elsewhere)
    world.wait_available()
    verdict = run(armed=True)["abroad"]
    assert verdict.category is Category.KEEP and "another region" in verdict.reason
    assert "abroad" in world.clusters()


# -- the Lambda handler: logs and metrics ------------------------------------------


def invoke(monkeypatch: pytest.MonkeyPatch, armed: str | None) -> dict[str, Any]:
    """Run the handler with a logger that writes to this test's captured stdout.

    (Powertools binds a logger to the stdout of its creation: a new name, a new handler.)
    """
    logger = function_logger(f"aurora-express-reaper-{uuid.uuid4().hex[:8]}")
    monkeypatch.setattr(reaper_handler, "logger", logger)
    if armed is None:
        monkeypatch.delenv("REAPER_ARMED", raising=False)
    else:
        monkeypatch.setenv("REAPER_ARMED", armed)
    context = LambdaContext(function_name="aurora-express-reaper")
    assert context.invoked_function_arn == FUNCTION_ARN
    return reaper_handler.handler({}, context)


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_handler_is_report_only_unless_armed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.cluster("left", stack_id=world.deleted_stack("gone"))
    world.wait_available()
    summary = invoke(monkeypatch, armed=None)
    assert summary["mode"] == "report-only"
    assert summary["actions"] == {"would-delete": 1}
    assert "left" in world.clusters()


def test_handler_logs_one_summary_line_and_one_record_per_owned_cluster(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world.cluster("left", stack_id=world.deleted_stack("gone"))
    world.cluster("live", stack_id=world.stack("app"))
    world.cluster("theirs")
    invoke(monkeypatch, armed="true")
    records = lines(capsys.readouterr().out)
    verdicts = [r["verdict"] for r in records if r.get("message") == "Reaper verdict"]
    summaries = [r["summary"] for r in records if r.get("message") == "Reaper run"]
    assert sorted(v["cluster"] for v in verdicts) == ["left", "live"]
    assert summaries == [
        {
            "mode": "armed",
            "owned": 2,
            "foreign": 1,
            "expired": 0,
            "orphan": 1,
            "unfinished-deletion": 0,
            "keep": 1,
            "actions": {"delete": 1, "none": 1},
        }
    ]


def test_handler_publishes_a_count_metric_per_category(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world.cluster("old", stack_id=world.stack("app"), expires_in=-HOUR)
    world.cluster("left", stack_id=world.deleted_stack("gone"))
    world.cluster("other", stack_id=world.deleted_stack("gone2"))
    invoke(monkeypatch, armed="false")
    (emf,) = [r for r in lines(capsys.readouterr().out) if "_aws" in r]
    names = [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert set(names) == {
        "ExpiredClusters",
        "OrphanClusters",
        "UnfinishedDeletions",
        "KeptClusters",
        "DeletedClusters",
    }
    counts = [emf[n] for n in ("ExpiredClusters", "OrphanClusters", "KeptClusters")]
    assert counts == [[1.0], [2.0], [0.0]]
    assert emf["DeletedClusters"] == [0.0]


def test_metrics_go_to_the_configured_namespace(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    invoke(monkeypatch, armed="false")
    (emf,) = [r for r in lines(capsys.readouterr().out) if "_aws" in r]
    namespace = emf["_aws"]["CloudWatchMetrics"][0]["Namespace"]
    assert namespace == reaper_handler.metrics.namespace


def test_the_reaper_never_deletes_without_listing_first(world: World) -> None:
    """An empty region: nothing judged, nothing deleted, no error."""
    assert run(armed=True) == {}
    assert boto3.client("rds", region_name=REGION).describe_db_clusters()["DBClusters"] == []
