"""template.yaml grants what a restore calls, on the source and the new cluster only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[3]
STACK_TAG_CONDITION = "aws:RequestTag/aurora-express:stack-id"


def statements(function: str) -> list[dict[str, Any]]:
    template, problems = decode(str(ROOT / "template.yaml"))
    assert not problems and template is not None
    policies = template["Resources"][function]["Properties"]["Policies"]
    return [s for policy in policies for s in policy["Statement"]]


def granting(action: str, function: str = "ClusterProviderFunction") -> list[dict[str, Any]]:
    found = []
    for statement in statements(function):
        actions = statement["Action"]
        if action in (actions if isinstance(actions, list) else [actions]):
            found.append(statement)
    return found


def resources(statement: dict[str, Any]) -> list[str]:
    listed = statement["Resource"]
    return [str(r) for r in (listed if isinstance(listed, list) else [listed])]


@pytest.mark.parametrize(
    "action", ["rds:RestoreDBClusterFromSnapshot", "rds:RestoreDBClusterToPointInTime"]
)
def test_a_restore_is_allowed_only_into_a_cluster_carrying_the_ownership_tag(action: str) -> None:
    (statement,) = granting(action)
    assert STACK_TAG_CONDITION in statement["Condition"]["StringLike"]
    assert all(":rds:" in r for r in resources(statement))


def test_snapshots_are_restored_from_not_changed() -> None:
    """No statement lets the function modify, tag or delete a snapshot other than its own
    final snapshots (FinalSnapshots, as before restores)."""
    for statement in statements("ClusterProviderFunction"):
        on_snapshots = any("cluster-snapshot" in r for r in resources(statement))
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if on_snapshots and statement["Sid"] != "FinalSnapshots":
            assert set(actions) <= {
                "rds:DescribeDBClusterSnapshots",
                "rds:RestoreDBClusterFromSnapshot",
            }, statement["Sid"]


def test_the_writer_of_a_restored_cluster_may_only_be_a_serverless_aurora_postgresql_one() -> None:
    statement = next(s for s in granting("rds:CreateDBInstance") if "Condition" in s)
    assert statement["Condition"]["StringEquals"] == {
        "rds:DatabaseClass": "db.serverless",
        "rds:DatabaseEngine": "aurora-postgresql",
    }


def test_restore_sources_can_be_read() -> None:
    assert granting("rds:DescribeDBClusterSnapshots")


def test_the_reaper_may_mark_only_owned_clusters() -> None:
    on_clusters = [
        s
        for s in granting("rds:AddTagsToResource", "ReaperFunction")
        if any(":cluster:" in r for r in resources(s))
    ]
    (statement,) = on_clusters
    assert "aws:ResourceTag/aurora-express:stack-id" in statement["Condition"]["StringLike"]
