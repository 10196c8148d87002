"""ExpressCluster: every property as CloudFormation hands it to the provider, attributes, grants."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_iam as iam

from aurora_express.cdk import AuroraExpressProvider, ExpressCluster, PropertyError
from aurora_express.cfn_values import stringify
from aurora_express.lint._kinds import kinds
from provider.cluster.properties import RESOURCE_TYPE, ClusterProperties, parse
from provider.common.errors import InvalidProperty
from tests.aurora_express.cdk.cfn import Json, evaluate, new_stack, only, synth

TOKEN = "arn:aws:lambda:eu-west-1:123456789012:function:aurora-express-cluster"

# prop -> (value, the property, what the provider receives, other props it needs)
PROPS: dict[str, tuple[Any, str, Any, dict[str, Any]]] = {
    "cluster_identifier": (
        "feature/ABC-123_Login",
        "ClusterIdentifier",
        "feature/ABC-123_Login",
        {},
    ),
    "master_username": ("app_admin", "MasterUsername", "app_admin", {}),
    "engine_version": ("16.6", "EngineVersion", "16.6", {}),
    "allow_major_version_upgrade": (True, "AllowMajorVersionUpgrade", "true", {}),
    "min_capacity": (0.5, "MinCapacity", "0.5", {}),
    "max_capacity": (4.0, "MaxCapacity", "4", {}),
    "seconds_until_auto_pause": (600, "SecondsUntilAutoPause", "600", {}),
    "enable_data_api": (True, "EnableDataApi", "true", {}),
    "backup_retention_period": (7, "BackupRetentionPeriod", "7", {}),
    "deletion_protection": (False, "DeletionProtection", "false", {}),
    "tags": (
        {"team": "payments", "branch": "feature/x"},
        "Tags",
        [{"Key": "team", "Value": "payments"}, {"Key": "branch", "Value": "feature/x"}],
        {},
    ),
    "removal_policy": (cdk.RemovalPolicy.SNAPSHOT, "OnDelete", "Snapshot", {}),
    "expires_after": (cdk.Duration.hours(72), "ExpiresAfter", "3d", {}),
    "wait_for_deletion": (False, "WaitForDeletion", "false", {}),
    "source_snapshot_identifier": (
        "parent-final-1",
        "SourceSnapshotIdentifier",
        "parent-final-1",
        {},
    ),
    "source_cluster_identifier": ("parent-db", "SourceClusterIdentifier", "parent-db", {}),
    "restore_to_time": (
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "RestoreToTime",
        "2026-01-02T03:04:05+00:00",
        {"source_cluster_identifier": "parent-db"},
    ),
    "restore_type": (
        "copy-on-write",
        "RestoreType",
        "copy-on-write",
        {"source_cluster_identifier": "parent-db"},
    ),
    "service_timeout": (cdk.Duration.minutes(30), "ServiceTimeout", "1800", {}),
}
KNOWN = set(ClusterProperties.model_fields)  # what this version of the provider accepts


def provider(stack: cdk.Stack) -> Any:
    return AuroraExpressProvider.from_service_tokens(stack, "Provider", cluster_service_token=TOKEN)


def received(**props: Any) -> Json:
    """The cluster's properties as CloudFormation hands them to the provider."""
    stack = new_stack()
    ExpressCluster(stack, "Db", provider=provider(stack), **props)
    properties: Json = stringify(only(synth(stack), RESOURCE_TYPE)["Properties"])
    return properties


def test_every_prop_is_in_this_table_and_every_property_of_the_provider_has_a_prop() -> None:
    props = set(inspect.signature(ExpressCluster.__init__).parameters) - {"self", "scope", "id"}
    assert props - {"provider"} == set(PROPS)
    assert KNOWN - {"ServiceToken"} <= {cfn for _, cfn, _, _ in PROPS.values()}


@pytest.mark.parametrize("prop", PROPS)
def test_each_prop_reaches_the_provider_as_the_property_it_names(prop: str) -> None:
    value, cfn, sent, needs = PROPS[prop]
    if cfn not in KNOWN:
        # The contract has it; this version of the provider's model not yet, and
        # the synth fails as the provider would.
        with pytest.raises(PropertyError, match=f"Property {cfn}: is not a property"):
            received(**{prop: value}, **needs)
        return
    properties = received(**{prop: value}, **needs)
    assert properties[cfn] == sent
    assert parse(properties) is not None  # and the provider takes them as they come


def test_nothing_left_at_none_is_sent() -> None:
    assert received() == {"ServiceToken": TOKEN}


def test_the_service_token_is_the_providers() -> None:
    stack = new_stack()
    built = AuroraExpressProvider(stack, "Provider")
    ExpressCluster(stack, "Db", provider=built)
    template = synth(stack)
    function = built.node.find_child("ClusterProviderFunction").node.default_child
    assert only(template, RESOURCE_TYPE)["Properties"]["ServiceToken"] == {
        "Fn::GetAtt": [stack.get_logical_id(function), "Arn"]  # type: ignore[arg-type]
    }


@pytest.mark.parametrize(
    ("policy", "on_delete"),
    [
        (cdk.RemovalPolicy.DESTROY, "Delete"),
        (cdk.RemovalPolicy.SNAPSHOT, "Snapshot"),
        (cdk.RemovalPolicy.RETAIN, "Retain"),
        (cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, "Retain"),
    ],
)
def test_a_removal_policy_is_the_providers_on_delete_and_cloudformation_still_deletes(
    policy: cdk.RemovalPolicy, on_delete: str
) -> None:
    stack = new_stack()
    ExpressCluster(stack, "Db", provider=provider(stack), removal_policy=policy)
    resource = only(synth(stack), RESOURCE_TYPE)
    assert resource["Properties"]["OnDelete"] == on_delete
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Delete"


def test_apply_removal_policy_sets_on_delete() -> None:
    stack = new_stack()
    db = ExpressCluster(stack, "Db", provider=provider(stack))
    db.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    resource = only(synth(stack), RESOURCE_TYPE)
    assert resource["Properties"]["OnDelete"] == "Retain"
    assert resource["DeletionPolicy"] == "Delete"


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (cdk.Duration.minutes(30), "30m"),
        (cdk.Duration.minutes(90), "90m"),
        (cdk.Duration.hours(36), "36h"),
        (cdk.Duration.days(7), "7d"),
        (cdk.Duration.hours(48), "2d"),
    ],
)
def test_expires_after_is_the_largest_whole_unit(duration: cdk.Duration, text: str) -> None:
    assert received(expires_after=duration)["ExpiresAfter"] == text


def test_expires_after_in_seconds_fails_saying_it_takes_whole_minutes() -> None:
    with pytest.raises(ValueError, match="expires_after must be a whole number of minutes"):
        received(expires_after=cdk.Duration.seconds(90))


def _reason(raw: dict[str, Any]) -> str:
    with pytest.raises(InvalidProperty) as failure:
        parse({"ServiceToken": TOKEN, **raw})
    return failure.value.reason


@pytest.mark.parametrize(
    ("props", "raw"),
    [
        ({"min_capacity": 4, "max_capacity": 2}, {"MinCapacity": "4", "MaxCapacity": "2"}),
        ({"min_capacity": 0.3}, {"MinCapacity": "0.3"}),
        ({"max_capacity": 300}, {"MaxCapacity": "300"}),
        ({"seconds_until_auto_pause": 60}, {"SecondsUntilAutoPause": "60"}),
        ({"master_username": "rdsadmin"}, {"MasterUsername": "rdsadmin"}),
        ({"cluster_identifier": "--"}, {"ClusterIdentifier": "--"}),
        ({"tags": {"aws:owner": "me"}}, {"Tags": [{"Key": "aws:owner", "Value": "me"}]}),
        ({"expires_after": cdk.Duration.days(400)}, {"ExpiresAfter": "400d"}),
        ({"engine_version": "latest"}, {"EngineVersion": "latest"}),
    ],
)
def test_a_bad_property_fails_at_synth_with_the_providers_own_reason(
    props: dict[str, Any], raw: dict[str, Any]
) -> None:
    stack = new_stack()
    with pytest.raises(PropertyError) as failure:
        ExpressCluster(stack, "Db", provider=provider(stack), **props)
    assert failure.value.problems == [f"{RESOURCE_TYPE} Prov/Db: {_reason(raw).rstrip('.')}."]


def test_every_bad_property_is_reported_at_once() -> None:
    stack = new_stack()
    with pytest.raises(PropertyError) as failure:
        ExpressCluster(
            stack, "Db", provider=provider(stack), min_capacity=0.3, seconds_until_auto_pause=10
        )
    assert len(failure.value.problems) == 2
    assert str(failure.value) == "\n".join(failure.value.problems)


def test_values_known_only_at_deploy_time_are_left_to_the_provider() -> None:
    """A parameter's MinCapacity against MaxCapacity 2, a token inside the identifier: no alarm."""
    stack = new_stack()
    low = cdk.CfnParameter(stack, "Low", type="Number")
    branch = cdk.CfnParameter(stack, "Branch")
    ExpressCluster(
        stack,
        "Db",
        provider=provider(stack),
        min_capacity=low.value_as_number,
        max_capacity=2,
        cluster_identifier=f"app-{branch.value_as_string}",
    )
    properties = only(synth(stack), RESOURCE_TYPE)["Properties"]
    assert properties["MinCapacity"] == {"Ref": "Low"}
    assert evaluate(properties["ClusterIdentifier"], {"Branch": "main"}) == "app-main"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


ATTRIBUTES = sorted(kinds()[RESOURCE_TYPE].attributes | {"RestoredFrom"})


@pytest.mark.parametrize("attribute", ATTRIBUTES)
def test_each_attribute_is_a_property(attribute: str) -> None:
    stack = new_stack()
    db = ExpressCluster(stack, "Db", provider=provider(stack))
    logical_id = stack.get_logical_id(db.resource.node.default_child)  # type: ignore[arg-type]
    assert stack.resolve(getattr(db, _snake(attribute))) == {"Fn::GetAtt": [logical_id, attribute]}


def _grant(db_user: str | None) -> tuple[list[Json], str]:
    """The statements grant_connect gives a role, and the cluster's logical id."""
    stack = new_stack()
    db = ExpressCluster(stack, "Db", provider=provider(stack))
    role = iam.Role(stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant = db.grant_connect(role) if db_user is None else db.grant_connect(role, db_user)
    assert grant.success
    policy = only(synth(stack), "AWS::IAM::Policy")["Properties"]["PolicyDocument"]
    return policy["Statement"], stack.get_logical_id(db.resource.node.default_child)  # type: ignore[arg-type]


def test_grant_connect_allows_connecting_as_the_master_user_only() -> None:
    statements, db_id = _grant(None)
    assert statements == [
        {
            "Action": "rds-db:connect",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [db_id, "IamDbUserArn"]},
        }
    ]


def test_grant_connect_as_another_user_allows_that_user_on_this_cluster_only() -> None:
    (statement,), db_id = _grant("app_reader")
    assert statement["Action"] == "rds-db:connect"
    assert statement["Effect"] == "Allow"
    assert evaluate(statement["Resource"]) == (
        f"arn:aws:rds-db:eu-west-1:123456789012:dbuser:<{db_id}.ClusterResourceId>/app_reader"
    )


def test_an_expiry_the_reaper_never_acts_on_is_a_synth_warning_as_in_the_lint_rules() -> None:
    stack = new_stack()
    ExpressCluster(
        stack,
        "Db",
        provider=provider(stack),
        expires_after=cdk.Duration.days(7),
        deletion_protection=True,
    )
    assertions.Annotations.from_stack(stack).has_warning(
        "/Prov/Db",
        assertions.Match.string_like_regexp(
            "ExpiresAfter never takes effect while DeletionProtection is true"
        ),
    )
