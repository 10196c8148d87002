"""crhelper's poll rules carry the function's prefix, so its role can be scoped to them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from aurora_express.local.cfn_local import LambdaContext, ResponseCollector
from aurora_express.local.simulator import ensure_placeholder_function
from provider.common.custom_resource import (
    DEFAULT_POLL_RULE_PREFIX,
    POLL_RULE_PREFIX_VARIABLE,
    CustomResource,
    poll_rule_name,
    poll_rule_prefix,
)
from tests.support.confirmed import confirmed_event

FUNCTION = "poll-rules-under-test"
PREFIX = "aurora-express-0a1b2c3d-cluster-"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        ensure_placeholder_function(FUNCTION)
        yield


def test_a_rule_name_is_the_prefix_the_logical_id_and_a_random_suffix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(POLL_RULE_PREFIX_VARIABLE, PREFIX)
    name = poll_rule_name("Db")
    assert re.fullmatch(re.escape(PREFIX) + r"Db[A-Z0-9]{8}", name)
    assert poll_rule_name("Db") != name


def test_a_long_logical_id_is_cut_to_fit_eventbridge_s_64_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(POLL_RULE_PREFIX_VARIABLE, PREFIX)
    logical_id = "Database" * 30  # CloudFormation allows 255 characters
    name = poll_rule_name(logical_id)
    assert len(name) == 64 and name.startswith(poll_rule_prefix(logical_id))


def test_without_the_variable_rules_get_the_default_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(POLL_RULE_PREFIX_VARIABLE, raising=False)
    assert poll_rule_name("Db").startswith(DEFAULT_POLL_RULE_PREFIX + "Db")


def test_a_request_handed_to_polling_schedules_a_rule_with_the_prefix(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(POLL_RULE_PREFIX_VARIABLE, PREFIX)
    resource = CustomResource()
    resource.create(lambda event, context: None)  # not done: hand over to a poll
    resource.poll_create(lambda event, context: "thing")
    with ResponseCollector() as collector:
        event = confirmed_event(
            "Create",
            "Custom::Test",
            {},
            response_url=collector.url("a"),
            service_token=f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}",
            logical_id="Thing",
        )
        resource(event, LambdaContext(function_name=FUNCTION))
    (rule,) = boto3.client("events").list_rules()["Rules"]
    assert rule["Name"].startswith(PREFIX + "Thing")
    assert rule["ScheduleExpression"] == "rate(1 minute)"
