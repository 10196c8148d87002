"""A poll refused for good removes its own rule, target and permission; nothing else does."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from aurora_express.local.cfn_local import ResponseCollector
from provider.common import poll_cleanup, seal
from tests.support.confirmed import confirmed_event
from tests.support.polls import FUNCTION, TOKEN, Polled, altered, create_event, scheduled_input

RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/aurora-express-ThingABCD1234"


def _scheduled(cfn: ResponseCollector, key: str = "a") -> dict[str, Any]:
    """Create a resource that hands over to a poll; the Input its rule's target holds."""
    Polled()(create_event(cfn, key))
    return scheduled_input()


def _rewrite_target(scheduled: dict[str, Any], new_input: dict[str, Any]) -> None:
    """What the rule's own target carries becomes ``new_input`` (same target, same function)."""
    name = scheduled["CrHelperRule"].split("/")[1]
    events = boto3.client("events")
    (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
    events.put_targets(Rule=name, Targets=[{**target, "Input": json.dumps(new_input)}])


def _left(scheduled: dict[str, Any]) -> dict[str, Any]:
    """What is left of the poll: its rule, the rule's targets, its Lambda permission."""
    name = scheduled["CrHelperRule"].split("/")[1]
    events = boto3.client("events")
    rules = [r["Name"] for r in events.list_rules()["Rules"]]
    targets = events.list_targets_by_rule(Rule=name)["Targets"] if name in rules else []
    try:
        policy = json.loads(boto3.client("lambda").get_policy(FunctionName=FUNCTION)["Policy"])
        sids = [s["Sid"] for s in policy["Statement"]]
    except ClientError:  # no statement left: no policy
        sids = []
    return {
        "rule": name in rules,
        "targets": len(targets),
        "permission": scheduled["CrHelperPermission"] in sids,
    }


ALL_THERE = {"rule": True, "targets": 1, "permission": True}
NONE_LEFT = {"rule": False, "targets": 0, "permission": False}


# -- a genuine poll that can never open: its rule goes -----------------------------


def test_a_rule_whose_own_sealed_url_no_longer_opens_is_removed_with_its_permission(
    polling_function: None, cfn: ResponseCollector, caplog: pytest.LogCaptureFixture
) -> None:
    scheduled = _scheduled(cfn)
    broken = altered(scheduled)
    _rewrite_target(scheduled, broken)
    polled = Polled()
    with caplog.at_level(logging.WARNING):
        polled(broken)  # what the rule delivers
    assert polled.polls == 0 and cfn.responses("a") == []
    assert _left(scheduled) == NONE_LEFT
    removed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Removed")]
    assert len(removed) == 1
    name, permission = scheduled["CrHelperRule"].split("/")[1], scheduled["CrHelperPermission"]
    assert f"the target, the rule, the permission {permission} of poll rule {name}" in removed[0]
    assert "InvalidCiphertextException" in removed[0]
    assert broken[seal.SEALED_KEY] not in caplog.text and "/responses/" not in caplog.text


def test_a_rule_an_older_provider_made_with_a_plain_response_url_is_removed(
    polling_function: None, cfn: ResponseCollector
) -> None:
    scheduled = _scheduled(cfn)
    old = {k: v for k, v in scheduled.items() if k != seal.SEALED_KEY}
    old["ResponseURL"] = cfn.url("a")
    _rewrite_target(scheduled, old)
    polled = Polled()
    polled(old)
    assert polled.polls == 0 and cfn.responses("a") == []
    assert _left(scheduled) == NONE_LEFT


def test_a_genuine_poll_arriving_where_no_poll_key_is_configured_removes_its_rule(
    polling_function: None, cfn: ResponseCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduled = _scheduled(cfn)
    monkeypatch.delenv(seal.KEY_VARIABLE)
    polled = Polled()
    polled(scheduled)
    assert polled.polls == 0 and cfn.responses("a") == []
    assert _left(scheduled) == NONE_LEFT


def test_a_permission_already_gone_does_not_keep_the_rule(
    polling_function: None, cfn: ResponseCollector, caplog: pytest.LogCaptureFixture
) -> None:
    scheduled = _scheduled(cfn)
    boto3.client("lambda").remove_permission(
        FunctionName=FUNCTION, StatementId=scheduled["CrHelperPermission"]
    )
    broken = altered(scheduled)
    _rewrite_target(scheduled, broken)
    Polled()(broken)
    assert _left(scheduled) == NONE_LEFT
    assert "Could not remove the permission" in caplog.text


# -- anything else: nothing is removed ----------------------------------------------


def _forgeries(scheduled: dict[str, Any], url: str) -> dict[str, dict[str, Any]]:
    plain = {k: v for k, v in scheduled.items() if k != seal.SEALED_KEY}
    return {
        "ciphertext altered": altered(scheduled),
        "a plain ResponseURL": {**plain, "ResponseURL": url},
        "no sealed URL": plain,
        "another permission": {**altered(scheduled), "CrHelperPermission": "Other12345678"},
        "a key more": {**altered(scheduled), "Extra": True},
    }


def test_forged_polls_naming_a_genuine_rule_remove_nothing_and_its_poll_still_works(
    polling_function: None, cfn: ResponseCollector
) -> None:
    scheduled = _scheduled(cfn)
    polled = Polled()
    for forged in _forgeries(scheduled, cfn.url("a")).values():
        polled(forged)
    assert polled.polls == 0 and cfn.responses("a") == []
    assert _left(scheduled) == ALL_THERE
    polled(scheduled)  # the genuine poll
    response = cfn.wait("a", timeout=5)
    assert response is not None and response.body["Status"] == "SUCCESS"
    assert polled.polls == 1
    assert _left(scheduled) == NONE_LEFT  # crhelper's own clean-up, once answered


def test_a_rule_not_named_with_this_function_s_prefix_is_left_even_when_its_input_matches(
    polling_function: None, cfn: ResponseCollector
) -> None:
    """Another function's rule (or crhelper's ``<logical id><8>``) is not this one's to remove."""
    events = boto3.client("events")
    arn = events.put_rule(Name="ThingABCD1234", ScheduleExpression="rate(1 minute)")["RuleArn"]
    event = {
        **confirmed_event(
            "Create",
            "Custom::Test",
            {},
            response_url=cfn.url("a"),
            service_token=TOKEN,
            logical_id="Thing",
        ),
        "CrHelperPoll": True,
        "CrHelperRule": arn,
        "CrHelperPermission": "ThingABCD1234",
    }
    target = {"Id": "1", "Arn": TOKEN, "Input": json.dumps(event)}
    events.put_targets(Rule="ThingABCD1234", Targets=[target])
    Polled()(event)
    assert [r["Name"] for r in events.list_rules()["Rules"]] == ["ThingABCD1234"]
    assert len(events.list_targets_by_rule(Rule="ThingABCD1234")["Targets"]) == 1


def test_a_poll_kms_cannot_be_reached_for_removes_nothing_and_the_next_poll_works(
    polling_function: None, cfn: ResponseCollector, caplog: pytest.LogCaptureFixture
) -> None:
    """KMS's endpoint a loopback port bound but not listening: each connection is refused
    (a real EndpointConnectionError), tried once; a passing fault, so the rule stays."""
    scheduled = _scheduled(cfn)
    with pytest.MonkeyPatch.context() as patch, socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        patch.setenv("AWS_ENDPOINT_URL_KMS", f"http://127.0.0.1:{bound.getsockname()[1]}")
        patch.setenv("AWS_MAX_ATTEMPTS", "1")
        unreachable = Polled()  # its clients made now, aimed at the refusing port
        unreachable(scheduled)
    assert unreachable.polls == 0 and cfn.responses("a") == []
    assert "EndpointConnectionError" in caplog.text and "Removed" not in caplog.text
    assert _left(scheduled) == ALL_THERE
    polled = Polled()
    polled(scheduled)
    response = cfn.wait("a", timeout=5)
    assert response is not None and response.body["Status"] == "SUCCESS"


# -- the decisions, pure --------------------------------------------------------------


def _event(**extra: Any) -> dict[str, Any]:
    return {"LogicalResourceId": "Thing", "CrHelperPoll": True, "CrHelperRule": RULE_ARN, **extra}


def _target(event: dict[str, Any], **extra: Any) -> dict[str, Any]:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    return {"Id": "1", "Arn": arn, "Input": json.dumps(event), **extra}


LASTING = seal.Refusal("altered")


def test_a_lasting_refusal_naming_a_rule_with_the_prefix_reads_that_rule() -> None:
    rule = poll_cleanup.rule_to_read(LASTING, _event(), "aurora-express-Thing")
    assert rule == poll_cleanup.Rule(
        "aws", "us-east-1", "123456789012", "aurora-express-ThingABCD1234"
    )


def test_a_refusal_that_may_clear_reads_no_rule() -> None:
    passing = seal.Refusal("throttled", lasting=False)
    assert poll_cleanup.rule_to_read(passing, _event(), "aurora-express-Thing") is None


@pytest.mark.parametrize(
    "named",
    [
        "arn:aws:events:us-east-1:123456789012:rule/ThingABCD1234",  # not the prefix
        "arn:aws:events:us-east-1:123456789012:rule/bus/aurora-express-ThingABCD1234",
        "arn:aws:sqs:us-east-1:123456789012:aurora-express-ThingABCD1234",
        "aurora-express-ThingABCD1234",
        ["arn:aws:events:us-east-1:123456789012:rule/aurora-express-ThingABCD1234"],
        None,
    ],
)
def test_a_refused_poll_naming_no_rule_of_this_function_reads_none(named: object) -> None:
    assert (
        poll_cleanup.rule_to_read(LASTING, _event(CrHelperRule=named), "aurora-express-Thing")
        is None
    )


def test_without_a_prefix_no_rule_is_read() -> None:
    assert poll_cleanup.rule_to_read(LASTING, _event(), None) is None


def test_the_event_is_the_rule_s_delivery_only_when_the_input_equals_it_exactly() -> None:
    event = _event()
    rule = poll_cleanup.rule_of(RULE_ARN)
    assert rule is not None
    assert poll_cleanup.delivered_by(event, rule, [_target(event)], "f")
    assert not poll_cleanup.delivered_by({**event, "X": 1}, rule, [_target(event)], "f")
    assert not poll_cleanup.delivered_by(event, rule, [_target({**event, "X": 1})], "f")
    assert not poll_cleanup.delivered_by(event, rule, [_target(event, Input="{")], "f")
    assert not poll_cleanup.delivered_by(event, rule, [_target(event, Input=None)], "f")
    assert not poll_cleanup.delivered_by(event, rule, [], "f")


def test_a_target_invoking_another_function_or_of_another_id_is_no_delivery() -> None:
    event = _event()
    rule = poll_cleanup.rule_of(RULE_ARN)
    assert rule is not None
    assert not poll_cleanup.delivered_by(event, rule, [_target(event)], "payments")
    assert not poll_cleanup.delivered_by(event, rule, [_target(event, Id="2")], "f")


def _client_error(code: str, status: int = 400) -> ClientError:
    response: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Decrypt")


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "KMSInternalException",
        "DependencyTimeoutException",
        "KeyUnavailableException",
    ],
)
def test_kms_s_passing_faults_may_clear(code: str) -> None:
    assert seal.passing(_client_error(code))


def test_a_server_side_error_and_the_network_may_clear() -> None:
    assert seal.passing(_client_error("SomethingNew", status=503))
    assert seal.passing(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))


@pytest.mark.parametrize(
    "code",
    [
        "InvalidCiphertextException",
        "IncorrectKeyException",
        "DisabledException",
        "NotFoundException",
        "KMSInvalidStateException",
        "AccessDeniedException",
    ],
)
def test_other_kms_refusals_are_lasting(code: str) -> None:
    assert not seal.passing(_client_error(code))


def test_a_request_botocore_refuses_to_send_is_lasting() -> None:
    assert not seal.passing(ParamValidationError(report="CiphertextBlob: too short"))
