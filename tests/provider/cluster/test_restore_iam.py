"""template.yaml's restore grants, as requests: the new cluster owned, the source only named.

(``tests/template`` checks every statement against the code's calls and the Service
Authorization Reference; these read the issue's cases as requests the roles must, or
must not, be allowed to make.)
"""

from __future__ import annotations

from typing import Any

import pytest

from provider.cluster import naming
from tests.template.iam_needs import CLUSTER, OWNER_LOGICAL, OWNER_STACK, REAPER
from tests.template.policy import allows, arn, stack_arn

OURS = stack_arn("branch-42")
THEIRS = stack_arn("staging")
RESTORES = ["rds:RestoreDBClusterFromSnapshot", "rds:RestoreDBClusterToPointInTime"]
NEW = arn("rds", "cluster:branch-42-db")
SOURCE = arn("rds", "cluster:staging")
SNAPSHOT = arn("rds", "cluster-snapshot:staging-nightly")


def requesting(stack: str = OURS, **more: str) -> dict[str, Any]:
    tags = {OWNER_STACK: stack, OWNER_LOGICAL: "Db", **more}
    return {**{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": list(tags)}


def owned_by(stack: str) -> dict[str, str]:
    return {f"aws:ResourceTag/{OWNER_STACK}": stack, f"aws:ResourceTag/{OWNER_LOGICAL}": "Db"}


@pytest.mark.parametrize("action", RESTORES)
def test_a_restore_into_a_cluster_asked_for_with_both_ownership_tags_is_allowed(
    action: str,
) -> None:
    assert allows(CLUSTER, action, NEW, requesting())
    for group in ("cluster-pg:default.aurora-postgresql17", "og:default:aurora-postgresql-17"):
        assert allows(CLUSTER, action, arn("rds", group), requesting())


@pytest.mark.parametrize("action", RESTORES)
def test_a_restore_without_both_ownership_tags_is_denied(action: str) -> None:
    assert not allows(CLUSTER, action, NEW, {})
    only_stack = {k: v for k, v in requesting().items() if OWNER_LOGICAL not in k}
    assert not allows(CLUSTER, action, NEW, only_stack)
    elsewhere = requesting(OURS.replace("us-east-1", "eu-west-1"))
    assert not allows(CLUSTER, action, NEW, elsewhere)


def test_the_source_cluster_of_a_point_in_time_is_named_by_the_owned_request() -> None:
    context = {**requesting(), **owned_by(THEIRS)}
    assert allows(CLUSTER, "rds:RestoreDBClusterToPointInTime", SOURCE, context)


def test_a_snapshot_of_anyone_may_be_restored_from_and_read() -> None:
    assert allows(CLUSTER, "rds:RestoreDBClusterFromSnapshot", SNAPSHOT, requesting())
    assert allows(CLUSTER, "rds:DescribeDBClusterSnapshots", SNAPSHOT)


@pytest.mark.parametrize(
    ("action", "context"),
    [
        ("rds:ModifyDBCluster", {}),
        ("rds:DeleteDBCluster", {}),
        ("rds:DeleteDBCluster", {"aws:ResourceTag/team": "staging"}),
        ("rds:AddTagsToResource", requesting() | owned_by(THEIRS)),
        ("rds:RemoveTagsFromResource", {"aws:TagKeys": ["team"]}),
    ],
)
def test_a_source_cluster_without_the_ownership_tags_is_never_changed(
    action: str, context: dict[str, Any]
) -> None:
    assert not allows(CLUSTER, action, SOURCE, context)


@pytest.mark.parametrize(
    "action",
    [
        "rds:DeleteDBClusterSnapshot",
        "rds:ModifyDBClusterSnapshotAttribute",
        "rds:AddTagsToResource",
        "rds:RemoveTagsFromResource",
    ],
)
def test_a_source_snapshot_is_never_changed(action: str) -> None:
    assert not allows(CLUSTER, action, SNAPSHOT, {"aws:TagKeys": ["team"]})


def test_the_writer_of_a_restored_cluster_is_a_serverless_aurora_postgresql_instance() -> None:
    writer = arn("rds", f"db:{naming.writer_instance('branch-42-db')}")
    serverless = {"rds:DatabaseClass": "db.serverless", "rds:DatabaseEngine": "aurora-postgresql"}
    assert allows(CLUSTER, "rds:CreateDBInstance", writer, serverless)
    provisioned = {**serverless, "rds:DatabaseClass": "db.r6g.large"}
    assert not allows(CLUSTER, "rds:CreateDBInstance", writer, provisioned)
    assert not allows(CLUSTER, "rds:CreateDBInstance", arn("rds", "db:reader-2"), serverless)


def test_a_writer_joins_only_a_cluster_carrying_the_ownership_tag() -> None:
    assert allows(CLUSTER, "rds:CreateDBInstance", NEW, owned_by(OURS))
    assert not allows(CLUSTER, "rds:CreateDBInstance", SOURCE, {})


def test_the_reaper_may_mark_an_owned_clusters_deletion_and_nothing_else() -> None:
    mark = {"aws:TagKeys": [naming.DELETE_REQUESTED_TAG], **owned_by(OURS)}
    room = {"aws:TagKeys": [naming.EXPIRES_AT_TAG], **owned_by(OURS)}
    assert allows(REAPER, "rds:AddTagsToResource", NEW, mark)
    assert allows(REAPER, "rds:RemoveTagsFromResource", NEW, room)
    other = {"aws:TagKeys": [OWNER_STACK], **owned_by(OURS)}
    assert not allows(REAPER, "rds:AddTagsToResource", NEW, other)
    assert not allows(
        REAPER, "rds:AddTagsToResource", SOURCE, {"aws:TagKeys": [naming.DELETE_REQUESTED_TAG]}
    )
