"""``Custom::AuroraExpress`` as a construct: typed props, attributes, ``grant_connect``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aws_cdk import (
    Annotations,
    ArnFormat,
    CfnResource,
    CustomResource,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_iam as iam
from constructs import Construct

from aurora_express.cdk import _validation
from aurora_express.cdk.provider import IAuroraExpressProvider
from provider.cluster.properties import RESOURCE_TYPE

# RemovalPolicy as the provider's OnDelete: the resource's own DeletionPolicy
# stays Delete, so CloudFormation always sends the Delete the provider acts on.
ON_DELETE = {
    RemovalPolicy.DESTROY: "Delete",
    RemovalPolicy.SNAPSHOT: "Snapshot",
    RemovalPolicy.RETAIN: "Retain",
    RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE: "Retain",
}
_UNITS = (("d", 24 * 60), ("h", 60), ("m", 1))


def duration_text(duration: Duration, prop: str) -> str:
    """``Duration.days(7)`` as the provider's duration, ``7d`` (the largest whole unit)."""
    if duration.is_unresolved():
        raise ValueError(f"{prop}: a Duration known only at deploy time cannot be converted.")
    minutes = duration.to_seconds(integral=False) / 60
    if not minutes.is_integer() or minutes < 1:
        raise ValueError(
            f"{prop} must be a whole number of minutes, not {duration.to_human_string()}."
        )
    whole = int(minutes)
    unit, size = next((u, s) for u, s in _UNITS if whole % s == 0)
    return f"{whole // size}{unit}"


def _instant(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


class ExpressCluster(Construct):
    """An Aurora PostgreSQL express cluster (``Custom::AuroraExpress``).

    Each prop is a property of the contract in snake_case (``min_capacity`` is
    ``MinCapacity``); None leaves it out (the provider's default). Numbers and
    booleans are typed as such, ``expires_after`` is a ``Duration``,
    ``removal_policy`` is the provider's ``OnDelete`` (``DESTROY``: Delete,
    ``SNAPSHOT``: Snapshot, ``RETAIN``: Retain), ``tags`` a mapping,
    ``service_timeout`` CloudFormation's own. Values are checked at synth time
    by the provider's own validation, except tokens (known at deploy time).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        provider: IAuroraExpressProvider,
        cluster_identifier: str | None = None,
        master_username: str | None = None,
        engine_version: str | None = None,
        allow_major_version_upgrade: bool | None = None,
        min_capacity: float | None = None,
        max_capacity: float | None = None,
        seconds_until_auto_pause: int | None = None,
        enable_data_api: bool | None = None,
        backup_retention_period: int | None = None,
        deletion_protection: bool | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
        expires_after: Duration | None = None,
        wait_for_deletion: bool | None = None,
        source_snapshot_identifier: str | None = None,
        source_cluster_identifier: str | None = None,
        restore_to_time: datetime | str | None = None,
        restore_type: str | None = None,
        service_timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.provider = provider
        properties: dict[str, Any] = {
            "ClusterIdentifier": cluster_identifier,
            "MasterUsername": master_username,
            "EngineVersion": engine_version,
            "AllowMajorVersionUpgrade": allow_major_version_upgrade,
            "MinCapacity": min_capacity,
            "MaxCapacity": max_capacity,
            "SecondsUntilAutoPause": seconds_until_auto_pause,
            "EnableDataApi": enable_data_api,
            "BackupRetentionPeriod": backup_retention_period,
            "DeletionProtection": deletion_protection,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()] if tags is not None else None,
            "OnDelete": ON_DELETE[removal_policy] if removal_policy is not None else None,
            "ExpiresAfter": duration_text(expires_after, "expires_after")
            if expires_after
            else None,
            "WaitForDeletion": wait_for_deletion,
            "SourceSnapshotIdentifier": source_snapshot_identifier,
            "SourceClusterIdentifier": source_cluster_identifier,
            "RestoreToTime": _instant(restore_to_time),
            "RestoreType": restore_type,
        }
        properties = {k: v for k, v in properties.items() if v is not None}
        timeout = {"ServiceTimeout": int(service_timeout.to_seconds())} if service_timeout else {}
        checked = {"ServiceToken": provider.cluster_service_token, **timeout, **properties}
        _validation.check(RESOURCE_TYPE, self.node.path, checked)
        for warning in _validation.warnings(RESOURCE_TYPE, self.node.path, checked):
            Annotations.of(self).add_warning_v2("aurora-express:ineffective-expiry", warning)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.cluster_service_token,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            service_timeout=service_timeout,
        )

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """Set the provider's ``OnDelete`` (the resource's DeletionPolicy stays Delete)."""
        resource = self.resource.node.default_child
        if not isinstance(resource, CfnResource):
            raise TypeError(f"{self.node.path}: the custom resource has no CfnResource")
        resource.add_property_override("OnDelete", ON_DELETE[policy])

    # -- attributes (Fn::GetAtt) --------------------------------------------------

    def _get(self, attribute: str) -> str:
        return self.resource.get_att_string(attribute)

    @property
    def cluster_identifier(self) -> str:
        return self._get("ClusterIdentifier")

    @property
    def cluster_arn(self) -> str:
        return self._get("ClusterArn")

    @property
    def cluster_resource_id(self) -> str:
        return self._get("ClusterResourceId")

    @property
    def endpoint(self) -> str:
        return self._get("Endpoint")

    @property
    def reader_endpoint(self) -> str:
        return self._get("ReaderEndpoint")

    @property
    def port(self) -> str:
        """The port, as a string (a custom resource's attributes all are)."""
        return self._get("Port")

    @property
    def master_username(self) -> str:
        return self._get("MasterUsername")

    @property
    def engine_version(self) -> str:
        return self._get("EngineVersion")

    @property
    def instance_identifier(self) -> str:
        return self._get("InstanceIdentifier")

    @property
    def restored_from(self) -> str:
        return self._get("RestoredFrom")

    @property
    def iam_db_user_arn(self) -> str:
        return self._get("IamDbUserArn")

    # -- grants -------------------------------------------------------------------

    def db_user_arn(self, db_user: str) -> str:
        """``arn:...:rds-db:<region>:<account>:dbuser:<ClusterResourceId>/<db_user>``."""
        return Stack.of(self).format_arn(
            service="rds-db",
            resource="dbuser",
            resource_name=f"{self.cluster_resource_id}/{db_user}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def grant_connect(self, grantee: iam.IGrantable, db_user: str | None = None) -> iam.Grant:
        """``rds-db:connect`` (IAM auth) as ``db_user`` on this cluster, and nothing else.

        None: the master user (the ``IamDbUserArn`` attribute).
        """
        if db_user is not None and not Token.is_unresolved(db_user) and not db_user:
            raise ValueError("grant_connect: db_user must not be empty.")
        arn = self.iam_db_user_arn if db_user is None else self.db_user_arn(db_user)
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["rds-db:connect"], resource_arns=[arn]
        )
