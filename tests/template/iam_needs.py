"""What each AWS call of the provider needs from IAM, and the statements that grant it.

``OPERATIONS``: every API call the code makes (``code_calls`` finds them) and
the IAM actions it is authorized as (the Service Authorization Reference's
"API operations" table, plus the checks a call triggers: tags in a create
call are authorized as ``AddTagsToResource``).

``CALLS``: which calls each function makes.

``GRANTS``: each function's statements, by Sid: actions, resources (written
as the template writes them) and conditions. ``test_iam`` requires the
template to say exactly this, every action to serve a call of its function,
and every action a call needs to be granted. A new call means a new entry
here first; a broader grant means changing a line here, where a reviewer
sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.template.code_calls import Call

CLUSTER = "ClusterProviderFunction"
MIGRATIONS = "MigrationsProviderFunction"
REAPER = "ReaperFunction"

OWNER_STACK = "aurora-express:stack-id"
OWNER_LOGICAL = "aurora-express:logical-id"

_ACCOUNT = "${AWS::Partition}:{service}:${AWS::Region}:${AWS::AccountId}"


def arn(service: str, rest: str) -> str:
    """A resource ARN as the template writes it: ``arn(\"rds\", \"cluster:*\")``."""
    return "arn:" + _ACCOUNT.replace("{service}", service) + ":" + rest


STACKS_HERE = arn("cloudformation", "stack/*")
# provider.common.seal: the poll key, by its alias, and its EncryptionContext.
POLL_KEY_ALIAS = "alias/${AWS::StackName}-poll-urls"
SEAL_CONTEXT = ("LogicalResourceId", "RequestId", "StackId")  # sorted, as canonical()
OWNED = {"StringLike": {f"aws:ResourceTag/{OWNER_STACK}": STACKS_HERE}}

OPERATIONS: dict[Call, frozenset[str]] = {
    # CreateDBCluster: the cluster (and the writer express makes); the Tags it is
    # given (AddTagsToResource); the RDS service-linked role at an account's first.
    ("rds", "CreateDBCluster"): frozenset(
        {"rds:CreateDBCluster", "rds:AddTagsToResource", "iam:CreateServiceLinkedRole"}
    ),
    # Restores: the cluster, with its Tags (AddTagsToResource), as CreateDBCluster.
    ("rds", "RestoreDBClusterFromSnapshot"): frozenset(
        {"rds:RestoreDBClusterFromSnapshot", "rds:AddTagsToResource"}
    ),
    ("rds", "RestoreDBClusterToPointInTime"): frozenset(
        {"rds:RestoreDBClusterToPointInTime", "rds:AddTagsToResource"}
    ),
    ("rds", "DescribeDBClusterSnapshots"): frozenset({"rds:DescribeDBClusterSnapshots"}),
    ("rds", "CreateDBInstance"): frozenset({"rds:CreateDBInstance"}),
    ("rds", "DescribeDBClusters"): frozenset({"rds:DescribeDBClusters"}),
    ("rds", "DescribeDBInstances"): frozenset({"rds:DescribeDBInstances"}),
    ("rds", "ModifyDBCluster"): frozenset({"rds:ModifyDBCluster"}),
    ("rds", "AddTagsToResource"): frozenset({"rds:AddTagsToResource"}),
    ("rds", "RemoveTagsFromResource"): frozenset({"rds:RemoveTagsFromResource"}),
    ("rds", "DeleteDBInstance"): frozenset({"rds:DeleteDBInstance"}),
    # DeleteDBCluster: the cluster and its final snapshot, with the tags copied to it.
    ("rds", "DeleteDBCluster"): frozenset({"rds:DeleteDBCluster", "rds:AddTagsToResource"}),
    ("rds", "generate_db_auth_token"): frozenset({"rds-db:connect"}),
    ("s3", "ListObjectsV2"): frozenset({"s3:ListBucket"}),
    ("s3", "GetObject"): frozenset({"s3:GetObject"}),
    ("events", "PutRule"): frozenset({"events:PutRule"}),
    ("events", "PutTargets"): frozenset({"events:PutTargets"}),
    ("events", "RemoveTargets"): frozenset({"events:RemoveTargets"}),
    ("events", "DeleteRule"): frozenset({"events:DeleteRule"}),
    ("events", "ListTargetsByRule"): frozenset({"events:ListTargetsByRule"}),
    ("lambda", "AddPermission"): frozenset({"lambda:AddPermission"}),
    ("lambda", "RemovePermission"): frozenset({"lambda:RemovePermission"}),
    ("cloudformation", "DescribeStacks"): frozenset({"cloudformation:DescribeStacks"}),
    ("kms", "Encrypt"): frozenset({"kms:Encrypt"}),
    ("kms", "Decrypt"): frozenset({"kms:Decrypt"}),
    ("cloudformation", "DescribeStackResource"): frozenset(
        {"cloudformation:DescribeStackResource"}
    ),
    ("cloudformation", "DescribeStackResources"): frozenset(
        {"cloudformation:DescribeStackResources"}
    ),
}

_CRHELPER: frozenset[Call] = frozenset(
    {
        ("events", "PutRule"),
        ("events", "PutTargets"),
        ("events", "RemoveTargets"),
        ("events", "DeleteRule"),
        # provider.common.poll_cleanup: a poll refused for good is its rule's own delivery.
        ("events", "ListTargetsByRule"),
        ("lambda", "AddPermission"),
        ("lambda", "RemovePermission"),
        # provider.common.seal: the ResponseURL a poll rule carries is sealed.
        ("kms", "Encrypt"),
        ("kms", "Decrypt"),
    }
)
# provider.common.confirm: a request is checked against CloudFormation's record.
_CONFIRM: frozenset[Call] = frozenset(
    {("cloudformation", "DescribeStackResource"), ("cloudformation", "DescribeStacks")}
)
_DELETE: frozenset[Call] = frozenset(
    {
        ("rds", "DescribeDBClusters"),
        ("rds", "DescribeDBInstances"),
        ("rds", "DeleteDBInstance"),
        ("rds", "DeleteDBCluster"),
    }
)

CALLS: dict[str, frozenset[Call]] = {
    CLUSTER: _CRHELPER
    | _CONFIRM
    | _DELETE
    | {
        ("rds", "CreateDBCluster"),
        ("rds", "ModifyDBCluster"),
        ("rds", "AddTagsToResource"),
        ("rds", "RemoveTagsFromResource"),
        # restores (provider.cluster.restore): the source read, the restore, the writer
        ("rds", "DescribeDBClusterSnapshots"),
        ("rds", "RestoreDBClusterFromSnapshot"),
        ("rds", "RestoreDBClusterToPointInTime"),
        ("rds", "CreateDBInstance"),
    },
    MIGRATIONS: _CRHELPER
    | _CONFIRM
    | {
        ("rds", "DescribeDBClusters"),
        ("rds", "generate_db_auth_token"),
        ("s3", "ListObjectsV2"),
        ("s3", "GetObject"),
    },
    # The reaper deletes with the cluster provider's own Delete (provider.cluster),
    # not waiting, so it marks the deletion on the cluster (two tag calls); before it
    # deletes, the stack's record must prove the provider made the cluster.
    REAPER: _DELETE
    | {
        ("cloudformation", "DescribeStacks"),
        ("cloudformation", "DescribeStackResources"),
        ("rds", "AddTagsToResource"),
        ("rds", "RemoveTagsFromResource"),
    },
}

# Where each function's code is (as the Makefile's build targets copy it), and
# whether it runs crhelper; the reaper's use of provider/cluster is its Delete only.
CODE: dict[str, tuple[tuple[str, ...], bool]] = {
    CLUSTER: (("provider/cluster", "provider/common"), True),
    MIGRATIONS: (("provider/migrations", "provider/common"), True),
    REAPER: (("provider/reaper",), False),
}


@dataclass(frozen=True)
class Grant:
    sid: str
    actions: frozenset[str]
    resources: frozenset[str]
    condition: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def grant(
    sid: str,
    actions: set[str] | str,
    resources: set[str] | str,
    condition: Mapping[str, Mapping[str, Any]] | None = None,
) -> Grant:
    def as_set(value: set[str] | str) -> frozenset[str]:
        return frozenset({value}) if isinstance(value, str) else frozenset(value)

    return Grant(sid, as_set(actions), as_set(resources), condition or {})


# Any stack of the account and region may send a request; its record is read.
_CONFIRM_GRANT = grant(
    "ConfirmRequests",
    {"cloudformation:DescribeStackResource", "cloudformation:DescribeStacks"},
    arn("cloudformation", "stack/*/*"),
)


def _polling(function_suffix: str) -> list[Grant]:
    """crhelper's polls: rules named with the function's prefix, targeting the function."""
    rules = arn("events", f"rule/aurora-express-${{StackKey}}-{function_suffix}-*")
    function = arn("lambda", f"function:${{AWS::StackName}}-{function_suffix}")
    return [
        grant(
            "CrhelperPolling",
            {
                "events:PutRule",
                "events:RemoveTargets",
                "events:DeleteRule",
                "events:ListTargetsByRule",
            },
            rules,
        ),
        grant(
            "CrhelperPollingTarget",
            "events:PutTargets",
            rules,
            {"ForAllValues:ArnEquals": {"events:TargetArn": function}},
        ),
        grant(
            "CrhelperPollingPermission",
            "lambda:AddPermission",
            function,
            {"StringEquals": {"lambda:Principal": "events.amazonaws.com"}},
        ),
        grant("CrhelperPollingPermissionCleanup", "lambda:RemovePermission", function),
        grant(
            "SealPollResponseUrls",
            {"kms:Encrypt", "kms:Decrypt"},
            arn("kms", "key/*"),
            {
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": POLL_KEY_ALIAS},
                "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": SEAL_CONTEXT},
                "Null": {"kms:EncryptionContextKeys": "false"},
            },
        ),
    ]


_WRITER = arn("rds", "db:*-instance-1")  # naming.writer_instance: express's writer
_FINAL_SNAPSHOTS = arn("rds", "cluster-snapshot:*-final-*")  # plan.final_snapshot_id
_DELETE_GRANTS = [
    grant("FinalSnapshots", {"rds:DeleteDBCluster", "rds:AddTagsToResource"}, _FINAL_SNAPSHOTS),
    grant(
        "DeleteWriterInstances",
        "rds:DeleteDBInstance",
        _WRITER,
        {"StringEquals": {"rds:DatabaseEngine": "aurora-postgresql"}},
    ),
]


_RESTORES = {"rds:RestoreDBClusterFromSnapshot", "rds:RestoreDBClusterToPointInTime"}
_RESTORE_GRANTS = [
    grant(
        "RestoreOwnedClusters",
        _RESTORES,
        arn("rds", "cluster:*"),
        {
            "StringLike": {f"aws:RequestTag/{OWNER_STACK}": STACKS_HERE},
            "Null": {f"aws:RequestTag/{OWNER_LOGICAL}": "false"},
        },
    ),
    grant(
        "RestoreFromSnapshots", "rds:RestoreDBClusterFromSnapshot", arn("rds", "cluster-snapshot:*")
    ),
    grant(
        "RestoreDefaults",
        _RESTORES,
        {arn("rds", "cluster-pg:*"), arn("rds", "og:*"), arn("rds", "subgrp:*")},
    ),
    grant("ReadRestoreSources", "rds:DescribeDBClusterSnapshots", arn("rds", "cluster-snapshot:*")),
    grant(
        "CreateWritersOfRestoredClusters",
        "rds:CreateDBInstance",
        _WRITER,
        {
            "StringEquals": {
                "rds:DatabaseClass": "db.serverless",
                "rds:DatabaseEngine": "aurora-postgresql",
            }
        },
    ),
    grant("WritersJoinOwnedClustersOnly", "rds:CreateDBInstance", arn("rds", "cluster:*"), OWNED),
]


def _describe(clusters_sid: str, instances_sid: str) -> list[Grant]:
    return [
        grant(clusters_sid, "rds:DescribeDBClusters", arn("rds", "cluster:*")),
        grant(instances_sid, "rds:DescribeDBInstances", arn("rds", "db:*")),
    ]


GRANTS: dict[str, list[Grant]] = {
    CLUSTER: [
        grant(
            "CreateExpressClusters",
            "rds:CreateDBCluster",
            arn("rds", "cluster:*"),
            {
                "StringLike": {f"aws:RequestTag/{OWNER_STACK}": STACKS_HERE},
                "StringEquals": {"rds:DatabaseEngine": "aurora-postgresql"},
                "Null": {f"aws:RequestTag/{OWNER_LOGICAL}": "false"},
            },
        ),
        grant(
            "ExpressClusterDefaults",
            "rds:CreateDBCluster",
            {arn("rds", "cluster-pg:*"), arn("rds", "og:*"), arn("rds", "subgrp:*"), _WRITER},
        ),
        grant(
            "TagOnCreate",
            "rds:AddTagsToResource",
            {arn("rds", "cluster:*"), _WRITER},
            {
                "StringLike": {f"aws:RequestTag/{OWNER_STACK}": STACKS_HERE},
                "Null": {
                    f"aws:RequestTag/{OWNER_LOGICAL}": "false",
                    f"aws:ResourceTag/{OWNER_STACK}": "true",
                },
            },
        ),
        *_describe("DescribeClusters", "DescribeInstances"),
        grant(
            "ChangeOwnedClustersOnly",
            {"rds:ModifyDBCluster", "rds:DeleteDBCluster"},
            arn("rds", "cluster:*"),
            OWNED,
        ),
        grant(
            "RetagOwnedClusters",
            {"rds:AddTagsToResource", "rds:RemoveTagsFromResource"},
            arn("rds", "cluster:*"),
            {
                **OWNED,
                "ForAllValues:StringNotEquals": {"aws:TagKeys": (OWNER_LOGICAL, OWNER_STACK)},
            },
        ),
        *_DELETE_GRANTS,
        grant(
            "RdsServiceLinkedRole",
            "iam:CreateServiceLinkedRole",
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/"
            "rds.amazonaws.com/AWSServiceRoleForRDS",
            {"StringEquals": {"iam:AWSServiceName": "rds.amazonaws.com"}},
        ),
        _CONFIRM_GRANT,
        *_polling("cluster"),
        *_RESTORE_GRANTS,
    ],
    MIGRATIONS: [
        grant("LookUpClusters", "rds:DescribeDBClusters", arn("rds", "cluster:*")),
        # rds-db:connect has no condition key: scoped by user name only.
        grant(
            "ConnectWithIamAuth",
            "rds-db:connect",
            arn("rds-db", "dbuser:*/${MigrationsDbUser}"),
        ),
        grant(
            "ListMigrationSources",
            "s3:ListBucket",
            "arn:${AWS::Partition}:s3:::${MigrationsBucketName}",
        ),
        grant(
            "ReadMigrationSources",
            "s3:GetObject",
            "arn:${AWS::Partition}:s3:::${MigrationsBucketName}/*",
        ),
        _CONFIRM_GRANT,
        *_polling("migrations"),
    ],
    REAPER: [
        *_describe("ListClusters", "ListInstances"),
        grant(
            "LookUpOwningStacks",
            {"cloudformation:DescribeStacks", "cloudformation:DescribeStackResources"},
            arn("cloudformation", "stack/*/*"),
        ),
        grant("DeleteOwnedClustersOnly", "rds:DeleteDBCluster", arn("rds", "cluster:*"), OWNED),
        *_DELETE_GRANTS,
        grant(
            "MarkDeletionsOfOwnedClusters",
            {"rds:AddTagsToResource", "rds:RemoveTagsFromResource"},
            arn("rds", "cluster:*"),
            {
                **OWNED,
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": (
                        "aurora-express:delete-requested-at",
                        "aurora-express:expires-at",
                    )
                },
            },
        ),
    ],
}
