"""Pure decisions of a restore: is the source usable, what to call, what to record.

A restore with express semantics (botocore's RDS model for
``RestoreDBClusterFromSnapshot`` and ``RestoreDBClusterToPointInTime``) asks
for ``EnableInternetAccessGateway=true`` together with
``EnableVPCNetworking=false`` and needs ``EnableIAMDatabaseAuthentication``.
It creates the cluster only: the writer comes from ``CreateDBInstance``
once the cluster is available, and the master user is switched to IAM auth
(``ModifyDBCluster MasterUserAuthenticationType=iam-db-auth``) after that
(``plan.next_step`` orders the steps). The source is only ever described:
nothing here modifies, tags or deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from provider.cluster import naming
from provider.cluster.plan import ENGINE
from provider.cluster.source import RestoreSource, format_instant
from provider.common.errors import InvalidProperty, ProviderError
from provider.common.responses import shorten

if TYPE_CHECKING:
    from provider.cluster.properties import ClusterProperties

WRITER_CLASS = "db.serverless"
IAM_AUTH = "iam-db-auth"
# Used when the template sets no scaling and the source has none to copy (a snapshot):
# a db.serverless writer needs the cluster to have a ServerlessV2ScalingConfiguration.
DEFAULT_SCALING: dict[str, float | int] = {
    "MinCapacity": 0.0,
    "MaxCapacity": 16.0,
    "SecondsUntilAutoPause": 300,
}
# What RDS answers when it will not restore this source with express semantics.
REFUSAL_CODES = frozenset(
    {
        "InvalidParameterCombination",
        "InvalidParameterValue",
        "InvalidRestoreFault",
        "InvalidDBClusterSnapshotStateFault",
        "InvalidDBClusterStateFault",
        "DBClusterSnapshotNotFoundFault",
        "DBClusterNotFoundFault",
    }
)


@dataclass(frozen=True)
class SourceState:
    """What RDS shows of a restore source (DescribeDBClusterSnapshots or DescribeDBClusters)."""

    kind: Literal["snapshot", "cluster"]
    identifier: str
    status: str
    engine: str
    engine_version: str
    master_username: str
    taken_at: datetime | None = None  # a snapshot's SnapshotCreateTime
    earliest: datetime | None = None  # a cluster's EarliestRestorableTime
    latest: datetime | None = None  # a cluster's LatestRestorableTime
    scaling: dict[str, float | int] = field(default_factory=dict)


@dataclass(frozen=True)
class RestoreCall:
    """One restore request: which operation, with which arguments."""

    operation: Literal["RestoreDBClusterFromSnapshot", "RestoreDBClusterToPointInTime"]
    args: dict[str, Any]


def _what(source: RestoreSource) -> str:
    return f"{'snapshot' if source.kind == 'snapshot' else 'cluster'} {source.identifier}"


def _version(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for part in text.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def _lower_than(wanted: str, observed: str) -> bool:
    """Whether ``wanted`` (``16`` or ``16.4``) names a version below ``observed`` (``16.6``)."""
    want, have = _version(wanted), _version(observed)
    return bool(want) and want < have[: len(want)]


def not_found(source: RestoreSource) -> InvalidProperty:
    return InvalidProperty(
        source.prop,
        f"there is no {_what(source)} in this account and region (or the provider may not "
        "see it); check the name, or share the snapshot with this account.",
    )


def check_source(props: ClusterProperties, source: RestoreSource, seen: SourceState) -> None:
    """Raise for a source that cannot become this cluster, before anything is restored."""
    if seen.engine != ENGINE:
        raise ProviderError(
            shorten(
                f"Property {source.prop}: {_what(source)} is {seen.engine or 'not Aurora'}; "
                "express configuration restores only Aurora PostgreSQL (aurora-postgresql)."
            )
        )
    if seen.kind == "snapshot" and seen.status != "available":
        raise InvalidProperty(
            source.prop,
            f"{_what(source)} is {seen.status or 'not ready'}; restore once it is available "
            "(aurora-express snapshot waits for it).",
        )
    if "MasterUsername" in props.model_fields_set and props.MasterUsername != seen.master_username:
        raise InvalidProperty(
            "MasterUsername",
            f"a restored cluster keeps the master user of its source ({seen.master_username}); "
            "remove MasterUsername or set it to that.",
        )
    wanted = props.EngineVersion
    if wanted and seen.engine_version:
        if _lower_than(wanted, seen.engine_version):
            raise InvalidProperty(
                "EngineVersion",
                f"must be no lower than the source's version {seen.engine_version}, not "
                f"{wanted}: a restore cannot downgrade.",
            )
        major_change = _version(wanted)[:1] != _version(seen.engine_version)[:1]
        if major_change and not props.AllowMajorVersionUpgrade:
            raise InvalidProperty(
                "EngineVersion",
                f"going from the source's {seen.engine_version} to {wanted} is a major version "
                "upgrade: set AllowMajorVersionUpgrade to true.",
            )
    if source.restore_to is not None:
        _check_window(source.restore_to, seen)


def _check_window(moment: datetime, seen: SourceState) -> None:
    shown = format_instant(moment)
    if seen.latest is not None and moment > seen.latest:
        raise InvalidProperty(
            "RestoreToTime",
            f"{shown} is after the latest restorable time of cluster {seen.identifier} "
            f"({format_instant(seen.latest)}); leave RestoreToTime out for the latest.",
        )
    if seen.earliest is not None and moment < seen.earliest:
        raise InvalidProperty(
            "RestoreToTime",
            f"{shown} is before the earliest restorable time of cluster {seen.identifier} "
            f"({format_instant(seen.earliest)}), beyond its backup retention.",
        )


def restored_from(source: RestoreSource, seen: SourceState, now: datetime) -> str:
    """The ``RestoredFrom`` attribute (and tag value): ``snapshot:<id>@<taken>`` or
    ``cluster:<id>@<time>``, the time being the one asked for, else the latest restorable
    time the source showed just before the restore (``now`` if it showed none)."""
    if source.kind == "snapshot":
        moment = seen.taken_at or now
    else:
        moment = source.restore_to or seen.latest or now
    return f"{source.kind}:{source.identifier}@{format_instant(moment)}"


def _scaling(props: ClusterProperties, seen: SourceState) -> dict[str, float | int]:
    return {**DEFAULT_SCALING, **seen.scaling, **props.scaling}


def restore_call(
    identifier: str,
    props: ClusterProperties,
    source: RestoreSource,
    seen: SourceState,
    tags: dict[str, str],
) -> RestoreCall:
    """The restore request: express networking, IAM auth, the template's settings, our tags.

    ``EngineVersion`` and ``EnableDataApi`` are left to ``ModifyDBCluster`` once the
    cluster is available, as for a created cluster; the restore keeps the source's version.
    """
    common: dict[str, Any] = {
        "DBClusterIdentifier": identifier,
        "EnableInternetAccessGateway": True,
        "EnableVPCNetworking": False,
        "EnableIAMDatabaseAuthentication": True,
        "DeletionProtection": props.DeletionProtection,
        "ServerlessV2ScalingConfiguration": _scaling(props, seen),
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if props.BackupRetentionPeriod is not None:
        common["BackupRetentionPeriod"] = props.BackupRetentionPeriod
    if source.kind == "snapshot":
        args = {"SnapshotIdentifier": source.identifier, "Engine": ENGINE, **common}
        return RestoreCall("RestoreDBClusterFromSnapshot", args)
    args = {
        "SourceDBClusterIdentifier": source.identifier,
        "RestoreType": source.restore_type,
        **common,
    }
    if source.restore_to is not None:
        args["RestoreToTime"] = source.restore_to
    else:
        args["UseLatestRestorableTime"] = True
    return RestoreCall("RestoreDBClusterToPointInTime", args)


def writer_args(identifier: str) -> dict[str, Any]:
    """CreateDBInstance for a restored cluster's writer, named as express names its own."""
    return {
        "DBInstanceIdentifier": naming.writer_instance(identifier),
        "DBInstanceClass": WRITER_CLASS,
        "Engine": ENGINE,
        "DBClusterIdentifier": identifier,
    }


def refused(source: RestoreSource, code: str, message: str) -> ProviderError:
    """RDS would not restore this source with express configuration: say so, naming it."""
    detail = " ".join(message.split())
    return ProviderError(
        shorten(
            f"Property {source.prop}: RDS refused to restore {_what(source)} with express "
            f"configuration ({code}): {detail}"
        )
    )
