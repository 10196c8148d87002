"""``Custom::AuroraExpressMigrations`` as a construct: a local folder becomes an S3 asset."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from aurora_express.cdk import _validation
from aurora_express.cdk.cluster import ExpressCluster
from aurora_express.cdk.provider import MIGRATIONS_TYPE, IAuroraExpressProvider

Source = str | os.PathLike[str] | Mapping[str, str]
_ANY_CLUSTER = "express-cluster"


class ExpressMigrations(Construct):
    """Migrations (and seeds) applied to an ``ExpressCluster`` on every deploy that changes them.

    ``migrations`` and ``seeds`` are each one of:

    - a local folder (or ``.zip`` file): uploaded as an S3 asset and passed
      as ``MigrationsS3Uri`` (``s3://<assets bucket>/<hash>.zip``); the asset
      hash is the ``Revision``, so a changed folder runs on the next deploy and
      an unchanged one does not;
    - an ``s3://bucket/prefix/`` or ``s3://bucket/key.zip`` URI, passed as is
      (give ``revision`` so that a change of what it holds runs);
    - a mapping of file name to SQL: the inline ``Migrations`` (``Seeds``) list.

    The provider's migrations role (when it is in this app) gets read access
    to exactly those sources. The other props are the contract's, in
    snake_case; None leaves a property out. Checked at synth time by the
    provider's own validation.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: ExpressCluster,
        migrations: Source,
        seeds: Source | None = None,
        layout: str | None = None,
        database: str | None = None,
        username: str | None = None,
        placeholders: Mapping[str, str] | None = None,
        keep_tool_history: bool | None = None,
        seed_mode: str | None = None,
        history_table: str | None = None,
        lock_timeout_seconds: int | None = None,
        statement_timeout_seconds: int | None = None,
        allow_out_of_order: bool | None = None,
        revision: str | None = None,
        provider: IAuroraExpressProvider | None = None,
        service_timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.provider = provider or cluster.provider
        token = self.provider.migrations_service_token
        if token is None:
            raise ValueError(
                f"{self.node.path}: the provider has no migrations ServiceToken "
                "(from_service_tokens(..., migrations_service_token=...))."
            )
        self.assets: list[s3_assets.Asset] = []
        self._s3_uris: list[str] = []
        sources = {
            **self._source("Migrations", migrations, "migrations"),
            **(self._source("Seeds", seeds, "seeds") if seeds is not None else {}),
        }
        hashes = [asset.asset_hash for asset in self.assets]
        if revision is None and hashes:
            revision = hashes[0] if len(hashes) == 1 else _combined(hashes)
        if revision is None and self._s3_uris:
            Annotations.of(self).add_warning_v2(
                "aurora-express:s3-source-revision",
                f"{', '.join(self._s3_uris)}: not an asset of this app; set revision "
                "(a git sha, say) so that a change of what it holds runs on the next deploy.",
            )
        properties: dict[str, Any] = {
            "ClusterIdentifier": cluster.cluster_identifier,
            "Database": database,
            "Username": username,
            **sources,
            "Layout": layout,
            "Placeholders": dict(placeholders) if placeholders is not None else None,
            "KeepToolHistory": keep_tool_history,
            "SeedMode": seed_mode,
            "HistoryTable": history_table,
            "LockTimeoutSeconds": lock_timeout_seconds,
            "StatementTimeoutSeconds": statement_timeout_seconds,
            "AllowOutOfOrder": allow_out_of_order,
            "Revision": revision,
        }
        properties = {k: v for k, v in properties.items() if v is not None}
        timeout = {"ServiceTimeout": int(service_timeout.to_seconds())} if service_timeout else {}
        # The identifier comes from the cluster, which only answers with valid
        # ones: checked as one, so the checks that follow it in the provider's
        # model (HistoryTable, the sources) run too.
        _validation.check(
            MIGRATIONS_TYPE,
            self.node.path,
            {"ServiceToken": token, **timeout, **properties, "ClusterIdentifier": _ANY_CLUSTER},
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=token,
            resource_type=MIGRATIONS_TYPE,
            properties=properties,
            service_timeout=service_timeout,
        )

    def _source(self, kind: str, source: Source, prop: str) -> dict[str, Any]:
        """The properties of one source (``Migrations``, ``MigrationsS3Uri``); grants its read."""
        if isinstance(source, Mapping):
            return {kind: [{"Name": name, "Sql": sql} for name, sql in source.items()]}
        if isinstance(source, str) and source.startswith("s3://"):
            self._grant_uri(source)
            self._s3_uris.append(source)
            return {f"{kind}S3Uri": source}
        path = Path(source).resolve()
        if not (path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip")):
            raise ValueError(f"{self.node.path}: {prop} must be a folder or a .zip file: {path}")
        asset = s3_assets.Asset(self, f"{kind}Asset", path=str(path))
        self.assets.append(asset)
        self._grant(["s3:GetObject"], [asset.bucket.arn_for_objects(asset.s3_object_key)])
        return {f"{kind}S3Uri": asset.s3_object_url}

    def _grant_uri(self, uri: str) -> None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        partition = Stack.of(self).partition
        bucket_arn = f"arn:{partition}:s3:::{bucket}"
        if key.lower().endswith(".zip"):
            self._grant(["s3:GetObject"], [f"{bucket_arn}/{key}"])
            return
        self._grant(["s3:GetObject"], [f"{bucket_arn}/{key}*"])
        role = self.provider.migrations_role
        if role is not None:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[bucket_arn],
                    conditions={"StringLike": {"s3:prefix": f"{key}*"}},
                )
            )

    def _grant(self, actions: list[str], resources: list[str]) -> None:
        role = self.provider.migrations_role
        if role is not None:
            iam.Grant.add_to_principal(grantee=role, actions=actions, resource_arns=resources)

    # -- attributes (Fn::GetAtt) --------------------------------------------------

    @property
    def applied_count(self) -> str:
        return self.resource.get_att_string("AppliedCount")

    @property
    def latest_version(self) -> str:
        return self.resource.get_att_string("LatestVersion")

    @property
    def seeds_applied(self) -> str:
        return self.resource.get_att_string("SeedsApplied")

    @property
    def history_table(self) -> str:
        return self.resource.get_att_string("HistoryTable")


def _combined(hashes: list[str]) -> str:
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()
