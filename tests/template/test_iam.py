"""The provider's IAM: what the code calls, what the table says it needs, what the template grants.

The first group checks the template against ``iam_needs`` (exactly) and the
Service Authorization Reference (``sar``); the second reads the issue's cases
as requests the deployed roles must, or must not, be allowed to make.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from provider.cluster import naming, plan
from provider.common import custom_resource
from tests.template import code_calls, sar
from tests.template.iam_needs import (
    CALLS,
    CLUSTER,
    CODE,
    GRANTS,
    MIGRATIONS,
    OPERATIONS,
    OWNER_LOGICAL,
    OWNER_STACK,
    REAPER,
)
from tests.template.policy import (
    PSEUDO,
    STACK_NAME,
    allows,
    arn,
    canonical,
    environment,
    functions,
    stack_arn,
    statements,
)

FUNCTIONS = sorted(GRANTS)
OURS = stack_arn("branch-42")  # a stack in the sample account and region
THEIRS = stack_arn("billing")


# -- the code's calls and the table -----------------------------------------------


def test_every_aws_call_in_the_code_has_an_entry_in_the_table() -> None:
    made = code_calls.calls("provider", crhelper=True)
    assert made - OPERATIONS.keys() == set(), "add these calls to iam_needs.OPERATIONS"


def test_the_table_lists_no_call_the_code_does_not_make() -> None:
    made = code_calls.calls("provider", crhelper=True)
    listed = set().union(*CALLS.values())
    assert listed - made == set() and OPERATIONS.keys() - made == set()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_makes_only_the_calls_its_table_entry_lists(function: str) -> None:
    folders, uses_crhelper = CODE[function]
    assert code_calls.calls(*folders, crhelper=uses_crhelper) - CALLS[function] == set()


def test_the_table_knows_every_function_of_the_template() -> None:
    assert sorted(functions()) == FUNCTIONS


# -- the template against the table -------------------------------------------------


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_statement_grants_exactly_what_the_table_says(function: str) -> None:
    found = statements(function)
    expected = {g.sid: g for g in GRANTS[function]}
    assert sorted(found) == sorted(expected), "statement Sids differ from the table"
    for sid, statement in found.items():
        want = expected[sid]
        assert statement.actions == want.actions, sid
        assert statement.resources == want.resources, sid
        assert statement.condition == canonical(dict(want.condition)), sid


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_granted_action_serves_a_call_of_the_function(function: str) -> None:
    needed = set().union(*(OPERATIONS[call] for call in CALLS[function]))
    granted = {a for g in GRANTS[function] for a in g.actions}
    assert granted - needed == set()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_action_the_function_s_calls_need_is_granted(function: str) -> None:
    needed = set().union(*(OPERATIONS[call] for call in CALLS[function]))
    granted = {a for s in statements(function).values() for a in s.actions}
    assert needed - granted == set()


# -- the template against the Service Authorization Reference ----------------------


def _all_statements() -> list[tuple[str, Any]]:
    return [(f, s) for f in FUNCTIONS for s in statements(f).values()]


def _arn_pattern(arn_format: str) -> re.Pattern[str]:
    """A reference ARN format as a regex: each ${Placeholder} is one or more characters."""
    parts = re.split(r"\$\{[^}]+\}", arn_format)
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$")


def _resource_types(action: str, resource: str) -> set[str]:
    """The reference's resource types of ``action`` whose ARN format ``resource`` is
    (among the types ``sar`` lists)."""
    known = sar.RESOURCE_TYPES[sar.service_of(action)]
    text = re.sub(r"\$\{AWS::(Partition|Region|AccountId)\}", "x", resource)
    return {
        name
        for name in sar.ACTIONS[action].resources
        if name in known and _arn_pattern(known[name].arn).match(text)
    }


def test_every_action_exists_in_the_service_authorization_reference() -> None:
    unknown = {a for _, s in _all_statements() for a in s.actions if a not in sar.ACTIONS}
    assert unknown == set()


def test_every_resource_is_of_a_type_its_actions_take() -> None:
    for function, statement in _all_statements():
        for action in statement.actions:
            for resource in statement.resources:
                assert _resource_types(action, resource), (
                    function,
                    statement.sid,
                    action,
                    resource,
                )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_resource_type_an_action_requires_is_granted(function: str) -> None:
    covered: dict[str, set[str]] = {}
    for statement in statements(function).values():
        for action in statement.actions:
            for resource in statement.resources:
                covered.setdefault(action, set()).update(_resource_types(action, resource))
    for action, types in covered.items():
        required = {t for t, needed in sar.ACTIONS[action].resources.items() if needed}
        assert required <= types, (function, action, required - types)


def _key_allowed(key: str, allowed: set[str]) -> bool:
    for candidate in allowed:
        head = candidate.split("${", 1)[0]
        pattern = "${" in candidate and key.startswith(head) and len(key) > len(head)
        if key == candidate or pattern:
            return True
    return False


def test_every_condition_key_applies_to_the_statement_s_actions_and_resources() -> None:
    for function, statement in _all_statements():
        for action in statement.actions:
            service = sar.service_of(action)
            types = set().union(*(_resource_types(action, r) for r in statement.resources))
            allowed = set(sar.ACTIONS[action].keys).union(
                *(sar.RESOURCE_TYPES[service][t].keys for t in types)
            )
            for keys in statement.condition.values():
                for key in keys:
                    assert _key_allowed(key, allowed), (function, statement.sid, action, key)


# -- the cases, as requests -----------------------------------------------------


def _owned_by(stack: str, logical_id: str = "Db") -> dict[str, str]:
    return {f"aws:ResourceTag/{OWNER_STACK}": stack, f"aws:ResourceTag/{OWNER_LOGICAL}": logical_id}


def _requesting(stack: str, logical_id: str = "Db", **more: str) -> dict[str, Any]:
    tags = {OWNER_STACK: stack, OWNER_LOGICAL: logical_id, **more}
    return {
        **{f"aws:RequestTag/{k}": v for k, v in tags.items()},
        "aws:TagKeys": list(tags),
    }


POSTGRES = {"rds:DatabaseEngine": "aurora-postgresql"}


@pytest.mark.parametrize("function", [CLUSTER, REAPER])
@pytest.mark.parametrize(
    "instance, context",
    [
        ("prod-writer", POSTGRES),  # any instance named otherwise
        ("orders-instance-1", {"rds:DatabaseEngine": "mysql"}),  # not Aurora PostgreSQL
        ("orders-instance-1", {}),
    ],
)
def test_instances_that_are_no_express_writer_cannot_be_deleted(
    function: str, instance: str, context: dict[str, str]
) -> None:
    assert not allows(function, "rds:DeleteDBInstance", arn("rds", f"db:{instance}"), context)


@pytest.mark.parametrize("function", [CLUSTER, REAPER])
def test_the_writer_express_created_can_be_deleted(function: str) -> None:
    writer = naming.writer_instance("branch-42-db")
    assert allows(function, "rds:DeleteDBInstance", arn("rds", f"db:{writer}"), POSTGRES)


def test_clusters_are_created_only_with_both_ownership_tags() -> None:
    cluster = arn("rds", "cluster:branch-42-db")
    create = {**_requesting(OURS), **POSTGRES}
    assert allows(CLUSTER, "rds:CreateDBCluster", cluster, create)
    assert not allows(CLUSTER, "rds:CreateDBCluster", cluster, POSTGRES)
    only_stack = {k: v for k, v in create.items() if OWNER_LOGICAL not in k}
    assert not allows(CLUSTER, "rds:CreateDBCluster", cluster, only_stack)
    elsewhere = {**_requesting(OURS.replace("us-east-1", "eu-west-1")), **POSTGRES}
    assert not allows(CLUSTER, "rds:CreateDBCluster", cluster, elsewhere)


def test_tags_given_at_creation_are_authorized_on_the_new_cluster() -> None:
    cluster = arn("rds", "cluster:branch-42-db")
    tags = _requesting(OURS, **{naming.ON_DELETE_TAG: "Delete"})
    assert allows(CLUSTER, "rds:AddTagsToResource", cluster, tags)


def test_a_cluster_owned_by_another_stack_cannot_be_tagged_into_this_one() -> None:
    theirs = arn("rds", "cluster:billing-db")
    request = {**_requesting(OURS), **_owned_by(THEIRS)}
    assert not allows(CLUSTER, "rds:AddTagsToResource", theirs, request)


def test_the_ownership_tags_of_an_owned_cluster_are_never_changed_or_removed() -> None:
    ours = arn("rds", "cluster:branch-42-db")
    retag = {**_requesting(THEIRS), **_owned_by(OURS)}
    assert not allows(CLUSTER, "rds:AddTagsToResource", ours, retag)
    remove = {"aws:TagKeys": [OWNER_STACK], **_owned_by(OURS)}
    assert not allows(CLUSTER, "rds:RemoveTagsFromResource", ours, remove)


def test_an_owned_cluster_s_other_tags_can_be_changed() -> None:
    ours = arn("rds", "cluster:branch-42-db")
    expiry = {"aws:TagKeys": [naming.EXPIRES_AT_TAG], **_owned_by(OURS)}
    assert allows(CLUSTER, "rds:AddTagsToResource", ours, expiry)
    assert allows(CLUSTER, "rds:RemoveTagsFromResource", ours, expiry)


@pytest.mark.parametrize("action", ["rds:ModifyDBCluster", "rds:DeleteDBCluster"])
def test_clusters_without_an_ownership_tag_are_not_changed(action: str) -> None:
    foreign = arn("rds", "cluster:billing-db")
    assert not allows(CLUSTER, action, foreign, {})
    assert allows(CLUSTER, action, foreign, _owned_by(OURS))


@pytest.mark.parametrize("function", [CLUSTER, REAPER])
def test_on_delete_snapshot_is_authorized_on_the_cluster_and_its_new_final_snapshot(
    function: str,
) -> None:
    """DeleteDBCluster with FinalDBSnapshotIdentifier is authorized on both resources;
    the snapshot is new, so it has no tags to match."""
    name = plan.final_snapshot_id("branch-42-db", 1_790_000_000.0)
    snapshot = arn("rds", f"cluster-snapshot:{name}")
    cluster = arn("rds", "cluster:branch-42-db")
    assert allows(function, "rds:DeleteDBCluster", cluster, _owned_by(OURS))
    assert allows(function, "rds:DeleteDBCluster", snapshot, {})
    copied = {"aws:TagKeys": [OWNER_STACK, OWNER_LOGICAL], "rds:TagsFromRequest": "false"}
    assert allows(function, "rds:AddTagsToResource", snapshot, copied)


def test_the_reaper_cannot_tag_a_cluster_into_looking_owned() -> None:
    foreign = arn("rds", "cluster:billing-db")
    assert not allows(REAPER, "rds:AddTagsToResource", foreign, _requesting(OURS))


def _function_name(function: str) -> str:
    """The deployed function's name (the template's FunctionName in the sample stack)."""
    return f"{STACK_NAME}-{'cluster' if function == CLUSTER else 'migrations'}"


def _poll_rule(function: str, logical_id: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A rule name the deployed function would make (its environment as the template sets it)."""
    prefix = environment(function)[custom_resource.POLL_RULE_PREFIX_VARIABLE]
    monkeypatch.setenv(custom_resource.POLL_RULE_PREFIX_VARIABLE, prefix)
    return custom_resource.poll_rule_name(logical_id)


@pytest.mark.parametrize("function", [CLUSTER, MIGRATIONS])
@pytest.mark.parametrize(
    "action",
    ["events:PutRule", "events:RemoveTargets", "events:DeleteRule", "events:ListTargetsByRule"],
)
def test_only_the_function_s_own_poll_rules_can_be_managed(
    function: str, action: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = _poll_rule(function, "SomeVeryLongLogicalIdOfAConsumerStackResource", monkeypatch)
    assert allows(function, action, arn("events", f"rule/{own}"))
    crhelper_named = "Db" + "ABCD1234"  # crhelper's own naming: anyone's rule could look so
    assert not allows(function, action, arn("events", f"rule/{crhelper_named}"))
    other = CLUSTER if function == MIGRATIONS else MIGRATIONS
    theirs = _poll_rule(other, "Db", monkeypatch)
    assert not allows(function, action, arn("events", f"rule/{theirs}"))


@pytest.mark.parametrize("function", [CLUSTER, MIGRATIONS])
def test_poll_rules_can_target_only_the_function_itself(
    function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = arn("events", f"rule/{_poll_rule(function, 'Db', monkeypatch)}")
    itself = arn("lambda", f"function:{_function_name(function)}")
    other = arn("lambda", "function:payments")
    assert allows(function, "events:PutTargets", rule, {"events:TargetArn": [itself]})
    assert not allows(function, "events:PutTargets", rule, {"events:TargetArn": [other]})
    assert not allows(function, "events:PutTargets", rule, {"events:TargetArn": [itself, other]})


@pytest.mark.parametrize("function", [CLUSTER, MIGRATIONS])
def test_only_eventbridge_may_be_allowed_to_invoke_the_function(function: str) -> None:
    itself = arn("lambda", f"function:{_function_name(function)}")
    events = {"lambda:Principal": "events.amazonaws.com"}
    assert allows(function, "lambda:AddPermission", itself, events)
    for principal in ("*", "123456789012", "s3.amazonaws.com"):
        assert not allows(function, "lambda:AddPermission", itself, {"lambda:Principal": principal})
    assert not allows(function, "lambda:AddPermission", arn("lambda", "function:payments"), events)
    assert allows(function, "lambda:RemovePermission", itself)


def test_migrations_connect_only_as_the_user_the_stack_was_given() -> None:
    """rds-db:connect has no condition key (see sar), so the user is its only scope."""
    user = arn("rds-db", "dbuser:cluster-ABCDEFGHIJKLMNOP/postgres")
    assert allows(MIGRATIONS, "rds-db:connect", user)
    assert not allows(MIGRATIONS, "rds-db:connect", user.replace("/postgres", "/app_admin"))
    assert "rds-db:connect" in sar.ACTIONS and sar.ACTIONS["rds-db:connect"].keys == ()


def test_the_poll_rule_prefix_leaves_room_for_a_logical_id(monkeypatch: pytest.MonkeyPatch) -> None:
    for function in (CLUSTER, MIGRATIONS):
        name = _poll_rule(function, "X" * 255, monkeypatch)
        assert len(name) == 64 and re.fullmatch(r"[\w.-]+", name)
        assert "X" * 16 in name  # enough of the logical id to tell rules apart
        assert PSEUDO["AWS::StackId"].split("/")[2].split("-")[0] in name
