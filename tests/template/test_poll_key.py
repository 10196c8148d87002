"""The poll key: only the provider's functions seal and open ResponseURLs, only per request."""

from __future__ import annotations

from typing import Any

import pytest

from provider.common import seal
from tests.template.iam_needs import CLUSTER, MIGRATIONS, POLL_KEY_ALIAS
from tests.template.policy import STACK_NAME, allows, arn, environment, template

KEY = arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")
OWN_ALIAS = POLL_KEY_ALIAS.replace("${AWS::StackName}", STACK_NAME)
CONTEXT_KEYS = list(seal.CONTEXT_KEYS)
USE = ("kms:Encrypt", "kms:Decrypt")


def _key() -> dict[str, Any]:
    return dict(template()["Resources"]["PollUrlKey"])


def _key_statements() -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in _key()["Properties"]["KeyPolicy"]["Statement"]}


def _request(alias: str = OWN_ALIAS, keys: list[str] | None = None) -> dict[str, Any]:
    return {
        "kms:ResourceAliases": [alias],
        "kms:EncryptionContextKeys": CONTEXT_KEYS if keys is None else keys,
    }


def test_the_key_rotates_and_goes_with_the_stack_after_a_short_window() -> None:
    key = _key()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["Properties"]["PendingWindowInDays"] == 7  # KMS's least
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Delete", "Delete")


def test_only_the_two_functions_roles_may_encrypt_and_decrypt_with_the_key() -> None:
    users = [s for s in _key_statements().values() if set(s["Action"]) & set(USE)]
    assert [s["Sid"] for s in users] == ["SealPollResponseUrls"]
    (statement,) = users
    principals = statement["Principal"]["AWS"]
    assert principals == [
        {"Fn::GetAtt": [f"{CLUSTER}Role", "Arn"]},
        {"Fn::GetAtt": [f"{MIGRATIONS}Role", "Arn"]},
    ]
    assert sorted(statement["Action"]) == sorted(USE)


def test_the_key_s_administrators_cannot_use_it_or_grant_its_use() -> None:
    actions = set(_key_statements()["KeyAdministration"]["Action"])
    assert not any("*" in a for a in actions)
    assert not actions & {*USE, "kms:CreateGrant", "kms:ReEncryptFrom", "kms:GenerateDataKey"}


def test_the_key_policy_requires_exactly_the_request_s_encryption_context() -> None:
    condition = _key_statements()["SealPollResponseUrls"]["Condition"]
    assert condition["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"] == CONTEXT_KEYS
    assert condition["Null"] == {"kms:EncryptionContextKeys": "false"}


@pytest.mark.parametrize("function", [CLUSTER, MIGRATIONS])
def test_each_function_names_the_key_by_the_alias_its_role_may_use(function: str) -> None:
    named = environment(function)[seal.KEY_VARIABLE]
    assert named == arn("kms", OWN_ALIAS)
    assert template()["Resources"]["PollUrlKeyAlias"]["Properties"]["TargetKeyId"] == {
        "Ref": "PollUrlKey"
    }


@pytest.mark.parametrize("function", [CLUSTER, MIGRATIONS])
@pytest.mark.parametrize("action", USE)
def test_a_function_may_seal_and_open_with_the_poll_key_under_a_request_s_context(
    function: str, action: str
) -> None:
    assert allows(function, action, KEY, _request())


@pytest.mark.parametrize("function", [CLUSTER, MIGRATIONS])
@pytest.mark.parametrize("action", USE)
def test_a_function_may_not_use_another_key(function: str, action: str) -> None:
    assert not allows(function, action, KEY, _request(alias="alias/payments"))
    assert not allows(function, action, KEY, {"kms:EncryptionContextKeys": CONTEXT_KEYS})


@pytest.mark.parametrize("function", [CLUSTER, MIGRATIONS])
@pytest.mark.parametrize("action", USE)
def test_a_function_may_not_use_the_key_without_a_request_s_context(
    function: str, action: str
) -> None:
    no_context = {"kms:ResourceAliases": [OWN_ALIAS]}
    assert not allows(function, action, KEY, no_context)
    assert not allows(function, action, KEY, _request(keys=[*CONTEXT_KEYS, "Purpose"]))


def test_the_reaper_may_not_use_the_key() -> None:
    assert not any(allows("ReaperFunction", action, KEY, _request()) for action in USE)
