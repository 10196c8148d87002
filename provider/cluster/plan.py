"""Pure decisions: what to create, replace or modify, and what to do next.

Every function here takes properties and an observed ``ClusterState`` and
returns data; ``rds.py`` performs the calls and ``lifecycle.py`` loops. The
loop re-derives everything from what ``DescribeDBClusters`` shows, so a
redelivered request or a later poll decides the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from provider.cluster import naming
from provider.cluster.source import SOURCE_PROPERTIES
from provider.common.errors import InvalidProperty

if TYPE_CHECKING:  # the pydantic model; a Delete parses no properties
    from provider.cluster.properties import ClusterProperties

ENGINE = "aurora-postgresql"

# Statuses from which a cluster or instance does not come back by waiting.
FAILED_STATUSES = frozenset(
    {
        "failed",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "incompatible-network",
        "incompatible-option-group",
        "incompatible-parameters",
        "incompatible-restore",
        "insufficient-capacity",
        "restore-error",
        "storage-full",
    }
)
AVAILABLE = "available"
DELETING = "deleting"


@dataclass(frozen=True)
class ClusterState:
    """What DescribeDBClusters (and DescribeDBInstances) show of one cluster."""

    identifier: str
    status: str
    arn: str = ""
    resource_id: str = ""
    endpoint: str = ""
    reader_endpoint: str = ""
    port: int = 5432
    master_username: str = ""
    engine_version: str = ""
    http_endpoint: bool = False
    deletion_protection: bool = False
    backup_retention: int | None = None
    scaling: dict[str, float | int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    pending: dict[str, Any] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)  # identifier -> status
    created_at: float | None = None  # epoch seconds (ClusterCreateTime)

    @property
    def writer_status(self) -> str | None:
        return self.instances.get(naming.writer_instance(self.identifier))


class Step(StrEnum):
    WAIT = "wait"
    CREATE_WRITER = "create-writer"  # a restored cluster: RDS restores the cluster only
    SET_IAM_AUTH = "set-iam-auth"  # a restored cluster: its master user to IAM auth
    MODIFY = "modify"
    DONE = "done"
    FAIL = "fail"


@dataclass(frozen=True)
class Next:
    """The next thing to do with a cluster being created or modified."""

    step: Step
    modify: dict[str, Any] = field(default_factory=dict)
    why: str = ""


def is_restored(state: ClusterState) -> bool:
    """Whether the provider restored this cluster (its restore tag, written at the restore)."""
    return naming.RESTORED_FROM_TAG in state.tags


# -- identifiers and replacement ----------------------------------------------


def replacement_property(
    old: ClusterProperties | None, new: ClusterProperties, physical_id: str
) -> str | None:
    """The property whose change replaces the cluster, or None for an in-place update.

    ``ClusterIdentifier`` replaces when it names another cluster than the
    current one (or is removed, going back to a derived name);
    ``MasterUsername`` when it differs from the old properties.
    """
    wanted = new.normalized_identifier
    if wanted is not None and wanted != physical_id:
        return "ClusterIdentifier"
    if wanted is None and old is not None and old.ClusterIdentifier is not None:
        return "ClusterIdentifier"
    if old is not None and old.MasterUsername != new.MasterUsername:
        return "MasterUsername"
    if old is not None and old.source != new.source:
        return next(
            (p for p in SOURCE_PROPERTIES if getattr(old, p) != getattr(new, p)),
            SOURCE_PROPERTIES[0],
        )
    return None


def desired_tags(
    props: ClusterProperties, stack_id: str, logical_id: str, now: float
) -> dict[str, str]:
    """The user's tags, the ownership tags, ``on-delete``, and ``expires-at`` from ``now``."""
    tags = {
        **props.user_tags,
        **naming.ownership_tags(stack_id, logical_id),
        naming.ON_DELETE_TAG: props.OnDelete,
    }
    if props.expires_after is not None:
        expires = datetime.fromtimestamp(now, UTC) + props.expires_after
        tags[naming.EXPIRES_AT_TAG] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    return tags


def tag_changes(
    old: ClusterProperties | None, desired: dict[str, str], observed: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """(tags to add or change, keys to remove) to bring ``observed`` to ``desired``.

    Only keys the provider put there are removed (the old template's tags and
    ``expires-at``); tags others added outside the stack are left alone.
    """
    add = {k: v for k, v in desired.items() if observed.get(k) != v}
    ours = set(old.user_tags if old else ()) | {naming.EXPIRES_AT_TAG}
    remove = sorted(k for k in ours if k in observed and k not in desired)
    return add, remove


# -- create ---------------------------------------------------------------------


def create_args(identifier: str, props: ClusterProperties, tags: dict[str, str]) -> dict[str, Any]:
    """CreateDBCluster arguments: only what express configuration accepts at creation."""
    args: dict[str, Any] = {
        "DBClusterIdentifier": identifier,
        "Engine": ENGINE,
        "WithExpressConfiguration": True,
        "MasterUsername": props.MasterUsername,
        "DeletionProtection": props.DeletionProtection,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if props.scaling:
        args["ServerlessV2ScalingConfiguration"] = props.scaling
    if props.BackupRetentionPeriod is not None:
        args["BackupRetentionPeriod"] = props.BackupRetentionPeriod
    return args


# -- modify ---------------------------------------------------------------------


def _major(version: str) -> str:
    return version.split(".", 1)[0]


def _version_met(wanted: str, observed: str) -> bool:
    return observed == wanted or observed.startswith(wanted + ".")


def modifications(props: ClusterProperties, state: ClusterState) -> dict[str, Any]:
    """ModifyDBCluster arguments that bring ``state`` to ``props`` ({} when none).

    A property the template leaves out keeps whatever the cluster has (the
    express default), as a native resource does for optional settings.
    """
    args: dict[str, Any] = {}
    wanted = props.EngineVersion
    if wanted and state.engine_version and not _version_met(wanted, state.engine_version):
        if _major(wanted) != _major(state.engine_version):
            if not props.AllowMajorVersionUpgrade:
                raise InvalidProperty(
                    "EngineVersion",
                    f"going from {state.engine_version} to {wanted} is a major version "
                    "upgrade: set AllowMajorVersionUpgrade to true.",
                )
            args["AllowMajorVersionUpgrade"] = True
        args["EngineVersion"] = wanted
    scaling = {**state.scaling, **props.scaling}
    if props.scaling and scaling != state.scaling:
        args["ServerlessV2ScalingConfiguration"] = scaling
    retention = props.BackupRetentionPeriod
    if retention is not None and retention != state.backup_retention:
        args["BackupRetentionPeriod"] = retention
    if props.DeletionProtection != state.deletion_protection:
        args["DeletionProtection"] = props.DeletionProtection
    if props.EnableDataApi != state.http_endpoint:
        args["EnableHttpEndpoint"] = props.EnableDataApi
    return args


def next_step(props: ClusterProperties, state: ClusterState | None) -> Next:
    """What to do with a cluster that should end ``available`` and matching ``props``."""
    if state is None:
        return Next(Step.FAIL, why="does not exist")
    failure = _failure(state)
    if failure:
        return Next(Step.FAIL, why=failure)
    writer = state.writer_status
    if is_restored(state):
        restoring = _restore_step(state)
        if restoring is not None:
            return restoring
    if state.status != AVAILABLE or writer != AVAILABLE or state.pending:
        return Next(Step.WAIT, why=f"is {state.status}, writer {writer or 'not created yet'}")
    changes = modifications(props, state)
    if changes:
        return Next(Step.MODIFY, modify=changes)
    return Next(Step.DONE)


def _failure(state: ClusterState) -> str:
    """Why the cluster cannot come back by waiting, or ``""``."""
    if state.status in FAILED_STATUSES:
        return f"is {state.status}"
    writer = state.writer_status
    if writer in FAILED_STATUSES:
        return f"has its writer instance {writer}"
    return ""


def _restore_step(state: ClusterState) -> Next | None:
    """A restored cluster's own steps, in order: available, a writer, IAM auth; None once done.

    Each is read from RDS (the writer from DescribeDBInstances, the IAM step from the
    tag recorded when ModifyDBCluster accepted it), so a poll picks up where the last
    invocation stopped.
    """
    writer = state.writer_status
    if state.status != AVAILABLE:
        return Next(Step.WAIT, why=f"is {state.status}, writer {writer or 'not created yet'}")
    if writer is None:
        return Next(Step.CREATE_WRITER, why="is available, writer not created yet")
    if writer != AVAILABLE:
        return Next(Step.WAIT, why=f"is available, writer {writer}")
    if naming.MASTER_AUTH_TAG not in state.tags:
        return Next(Step.SET_IAM_AUTH, why="is available with its writer, master user to IAM auth")
    return None


# -- delete -----------------------------------------------------------------------


def deletion_mark(tags: dict[str, str], now: float) -> tuple[dict[str, str], list[str]]:
    """(tags to add, keys to remove first) recording that deletion was requested at ``now``.

    ``expires-at`` makes room when the cluster already has RDS's 50 tags: once the
    deletion is asked for, the reaper follows the mark instead.
    """
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if tags.get(naming.DELETE_REQUESTED_TAG) == stamp:
        return {}, []
    new = naming.DELETE_REQUESTED_TAG not in tags
    full = len(tags) + (1 if new else 0) > naming.MAX_TAGS
    remove = [naming.EXPIRES_AT_TAG] if full and naming.EXPIRES_AT_TAG in tags else []
    return {naming.DELETE_REQUESTED_TAG: stamp}, remove


# -- answers --------------------------------------------------------------------


def attributes(state: ClusterState) -> dict[str, str]:
    """The contract's attributes (``Fn::GetAtt``), all strings as CloudFormation keeps them."""
    arn = state.arn.split(":")
    partition, region, account = (arn[1], arn[3], arn[4]) if len(arn) > 4 else ("aws", "", "")
    user_arn = (
        f"arn:{partition}:rds-db:{region}:{account}:dbuser:"
        f"{state.resource_id}/{state.master_username}"
    )
    return {
        "ClusterIdentifier": state.identifier,
        "ClusterArn": state.arn,
        "ClusterResourceId": state.resource_id,
        "Endpoint": state.endpoint,
        "ReaderEndpoint": state.reader_endpoint,
        "Port": str(state.port),
        "MasterUsername": state.master_username,
        "EngineVersion": state.engine_version,
        "InstanceIdentifier": naming.writer_instance(state.identifier),
        "RestoredFrom": state.tags.get(naming.RESTORED_FROM_TAG, ""),
        "IamDbUserArn": user_arn,
    }


def final_snapshot_id(identifier: str, started_at: float) -> str:
    """The final snapshot's name: stable for one request, so a retried delete reuses it."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(started_at))
    return f"{identifier}-final-{stamp}"
