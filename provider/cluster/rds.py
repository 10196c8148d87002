"""The only module that calls RDS.

``ClusterApi`` wraps a boto3 RDS client (passed in, so tests and the demo can
point it anywhere). Every ``ClientError`` becomes an ``RdsError``: a
``ProviderError`` whose reason is one sentence naming the operation, the
cluster and the AWS error code, under 240 characters, with quota errors said
plainly. Throttling is retried by botocore's adaptive retry mode.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from provider.cluster.plan import ClusterState
from provider.cluster.restore import RestoreCall, SourceState
from provider.cluster.source import RestoreSource
from provider.common.errors import ProviderError
from provider.common.responses import MAX_REASON, shorten

CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
)

NOT_FOUND = "DBClusterNotFoundFault"
INSTANCE_NOT_FOUND = "DBInstanceNotFound"
ALREADY_EXISTS = "DBClusterAlreadyExistsFault"
INVALID_STATE = "InvalidDBClusterStateFault"
INVALID_INSTANCE_STATE = "InvalidDBInstanceState"
SNAPSHOT_NOT_FOUND = "DBClusterSnapshotNotFoundFault"
INSTANCE_EXISTS = ("DBInstanceAlreadyExists", "DBInstanceAlreadyExistsFault")

_NO_INSTANCE_LOOKUP = frozenset({"creating", "deleting"})

_QUOTA_CODES = {
    "DBClusterQuotaExceededFault": "the account's DB cluster quota for this region (40 by default)",
    "InstanceQuotaExceeded": "the account's DB instance quota for this region",
    "StorageQuotaExceeded": "the account's storage quota for this region",
    "SnapshotQuotaExceeded": "the account's manual snapshot quota for this region",
}


class RdsError(ProviderError):
    """An RDS call that failed; ``code`` is the AWS error code (for decisions)."""

    def __init__(self, reason: str, *, code: str, message: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.message = message  # RDS's own message, for reasons built elsewhere


def new_client(region: str | None = None) -> Any:
    """An RDS client with adaptive retries (honours AWS_ENDPOINT_URL, for moto)."""
    return boto3.client("rds", region_name=region, config=CLIENT_CONFIG)


def explain(operation: str, cluster: str, exc: Exception) -> RdsError:
    """An ``RdsError`` with a short reason a person can act on."""
    if not isinstance(exc, ClientError):
        reason = f"{operation} on cluster {cluster} could not reach RDS ({type(exc).__name__})."
        return RdsError(shorten(reason), code=type(exc).__name__)
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "Unknown")
    if code in _QUOTA_CODES:
        reason = (
            f"{operation} on cluster {cluster} failed ({code}): {_QUOTA_CODES[code]} is "
            "reached. Delete unused clusters or ask AWS Support for a higher quota."
        )
        return RdsError(shorten(reason), code=code)
    head = f"{operation} on cluster {cluster} failed with {code}: "
    message = full = " ".join(str(error.get("Message") or "no message").split())
    room = MAX_REASON - len(head)
    if len(message) > room:
        message = message[: max(0, room - 1)].rstrip() + "…"
    return RdsError(shorten(head + message), code=code, message=full)


def _state(cluster: dict[str, Any], instances: list[dict[str, Any]]) -> ClusterState:
    scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
    created = cluster.get("ClusterCreateTime")
    return ClusterState(
        identifier=cluster["DBClusterIdentifier"],
        status=cluster.get("Status", ""),
        arn=cluster.get("DBClusterArn", ""),
        resource_id=cluster.get("DbClusterResourceId", ""),
        endpoint=cluster.get("Endpoint", ""),
        reader_endpoint=cluster.get("ReaderEndpoint", ""),
        port=int(cluster.get("Port") or 5432),
        master_username=cluster.get("MasterUsername", ""),
        engine_version=cluster.get("EngineVersion", ""),
        http_endpoint=bool(cluster.get("HttpEndpointEnabled")),
        deletion_protection=bool(cluster.get("DeletionProtection")),
        backup_retention=cluster.get("BackupRetentionPeriod"),
        scaling={k: v for k, v in scaling.items() if v is not None},
        tags={t["Key"]: t.get("Value", "") for t in cluster.get("TagList") or []},
        pending=dict(cluster.get("PendingModifiedValues") or {}),
        created_at=created.timestamp() if isinstance(created, datetime) else None,
        instances={i["DBInstanceIdentifier"]: i.get("DBInstanceStatus", "") for i in instances},
    )


def _when(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _snapshot_source(snapshot: dict[str, Any]) -> SourceState:
    return SourceState(
        kind="snapshot",
        identifier=str(snapshot.get("DBClusterSnapshotIdentifier", "")),
        status=str(snapshot.get("Status", "")),
        engine=str(snapshot.get("Engine", "")),
        engine_version=str(snapshot.get("EngineVersion", "")),
        master_username=str(snapshot.get("MasterUsername", "")),
        taken_at=_when(snapshot.get("SnapshotCreateTime")),
    )


def _cluster_source(cluster: dict[str, Any]) -> SourceState:
    scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
    return SourceState(
        kind="cluster",
        identifier=str(cluster.get("DBClusterIdentifier", "")),
        status=str(cluster.get("Status", "")),
        engine=str(cluster.get("Engine", "")),
        engine_version=str(cluster.get("EngineVersion", "")),
        master_username=str(cluster.get("MasterUsername", "")),
        earliest=_when(cluster.get("EarliestRestorableTime")),
        latest=_when(cluster.get("LatestRestorableTime")),
        scaling={k: v for k, v in scaling.items() if v is not None},
    )


class ClusterApi:
    """The RDS calls the provider makes, each with errors turned into ``RdsError``."""

    def __init__(self, client: Any) -> None:
        self._rds = client

    @property
    def client(self) -> Any:
        """The boto3 RDS client (tests count its calls through its event hooks)."""
        return self._rds

    def _call(self, operation: str, cluster: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._rds, method)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise explain(operation, cluster, exc) from exc

    def find(self, identifier: str) -> ClusterState | None:
        """The cluster and its instances as RDS shows them now, or None if there is none.

        While the cluster is ``creating`` or ``deleting`` its instances decide
        nothing, so they are not looked up (half the calls of a wait).
        """
        try:
            found = self._call(
                "DescribeDBClusters",
                identifier,
                "describe_db_clusters",
                DBClusterIdentifier=identifier,
            )
        except RdsError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise
        clusters = found.get("DBClusters") or []
        if not clusters:
            return None
        if clusters[0].get("Status") in _NO_INSTANCE_LOOKUP:
            return _state(clusters[0], [])
        instances = self._call(
            "DescribeDBInstances",
            identifier,
            "describe_db_instances",
            Filters=[{"Name": "db-cluster-id", "Values": [identifier]}],
        ).get("DBInstances", [])
        return _state(clusters[0], instances)

    def create(self, args: dict[str, Any]) -> None:
        self._call("CreateDBCluster", args["DBClusterIdentifier"], "create_db_cluster", **args)

    def describe_source(self, source: RestoreSource) -> SourceState | None:
        """What RDS shows of a restore source, or None if it finds none (read only)."""
        try:
            if source.kind == "snapshot":
                return self._describe_snapshot(source.identifier)
            found = self._call(
                "DescribeDBClusters",
                source.identifier,
                "describe_db_clusters",
                DBClusterIdentifier=source.identifier,
            ).get("DBClusters")
        except RdsError as exc:
            if exc.code in (NOT_FOUND, SNAPSHOT_NOT_FOUND):
                return None
            raise
        return _cluster_source(found[0]) if found else None

    def _describe_snapshot(self, identifier: str) -> SourceState | None:
        kwargs: dict[str, Any] = {"DBClusterSnapshotIdentifier": identifier}
        if identifier.startswith("rds:"):
            kwargs["SnapshotType"] = "automated"  # RDS wants it named for automated snapshots
        if identifier.startswith("arn:"):
            kwargs["IncludeShared"] = True  # a snapshot another account shared
        found = self._call(
            "DescribeDBClusterSnapshots", identifier, "describe_db_cluster_snapshots", **kwargs
        ).get("DBClusterSnapshots")
        return _snapshot_source(found[0]) if found else None

    def restore(self, call: RestoreCall) -> None:
        """Start a restore (``RestoreDBClusterFromSnapshot`` or ``...ToPointInTime``)."""
        method = (
            "restore_db_cluster_from_snapshot"
            if call.operation == "RestoreDBClusterFromSnapshot"
            else "restore_db_cluster_to_point_in_time"
        )
        self._call(call.operation, call.args["DBClusterIdentifier"], method, **call.args)

    def create_writer(self, args: dict[str, Any]) -> None:
        """Create a restored cluster's writer; one already there (a retry) is no error."""
        try:
            cluster = args["DBClusterIdentifier"]
            self._call("CreateDBInstance", cluster, "create_db_instance", **args)
        except RdsError as exc:
            if exc.code not in INSTANCE_EXISTS:
                raise

    def modify(self, identifier: str, changes: dict[str, Any]) -> None:
        self._call(
            "ModifyDBCluster",
            identifier,
            "modify_db_cluster",
            DBClusterIdentifier=identifier,
            ApplyImmediately=True,
            **changes,
        )

    def tag(self, state: ClusterState, add: dict[str, str], remove: list[str]) -> None:
        if add:
            tags = [{"Key": k, "Value": v} for k, v in add.items()]
            self._call(
                "AddTagsToResource",
                state.identifier,
                "add_tags_to_resource",
                ResourceName=state.arn,
                Tags=tags,
            )
        if remove:
            self._call(
                "RemoveTagsFromResource",
                state.identifier,
                "remove_tags_from_resource",
                ResourceName=state.arn,
                TagKeys=remove,
            )

    def delete_instance(self, cluster: str, instance: str) -> None:
        """Start deleting ``instance``; one already gone or going is no error."""
        try:
            self._call(
                "DeleteDBInstance",
                cluster,
                "delete_db_instance",
                DBInstanceIdentifier=instance,
                SkipFinalSnapshot=True,
            )
        except RdsError as exc:
            if exc.code not in (INSTANCE_NOT_FOUND, INVALID_INSTANCE_STATE):
                raise

    def delete_cluster(self, identifier: str, final_snapshot: str | None) -> None:
        """Start deleting the cluster, with a final snapshot when one is named."""
        snapshot: dict[str, Any] = (
            {"FinalDBSnapshotIdentifier": final_snapshot, "SkipFinalSnapshot": False}
            if final_snapshot
            else {"SkipFinalSnapshot": True}
        )
        self._call(
            "DeleteDBCluster",
            identifier,
            "delete_db_cluster",
            DBClusterIdentifier=identifier,
            **snapshot,
        )

    def all_clusters(self) -> list[ClusterState]:
        """Every cluster in the region with its tags (not its instances), page by page."""
        states: list[ClusterState] = []
        marker: str | None = None
        while True:
            page = self._call(
                "DescribeDBClusters",
                "(all)",
                "describe_db_clusters",
                MaxRecords=100,
                **({"Marker": marker} if marker else {}),
            )
            states += [_state(c, []) for c in page.get("DBClusters") or []]
            marker = page.get("Marker")
            if not marker:
                return states
