"""While a request waits in crhelper's polls, its ResponseURL is in EventBridge only sealed."""

from __future__ import annotations

import json

import boto3
import pytest

from aurora_express.local.cfn_local import ResponseCollector
from provider.common import seal
from tests.support import secret_scan
from tests.support.polls import FUNCTION, Polled, altered, create_event, scheduled_input


def test_moto_s_kms_opens_a_ciphertext_only_under_its_own_encryption_context(
    polling_function: None,
) -> None:
    kms = boto3.client("kms")
    key = seal.key_id()
    blob = kms.encrypt(KeyId=key, Plaintext=b"u", EncryptionContext={"RequestId": "a"})
    sealed = blob["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=sealed, EncryptionContext={"RequestId": "a"})["Plaintext"]
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=sealed, EncryptionContext={"RequestId": "b"})


def test_the_poll_rule_s_target_input_holds_no_response_url(
    polling_function: None, cfn: ResponseCollector
) -> None:
    Polled()(create_event(cfn, "a"))
    scheduled = scheduled_input()
    assert "ResponseURL" not in scheduled
    assert scheduled[seal.SEALED_KEY]
    text = json.dumps(scheduled)
    assert "X-Amz-Signature" not in text and "/responses/a" not in text
    assert secret_scan.hits(text) == []


def test_no_part_of_eventbridge_or_the_invoke_permission_shows_the_url(
    polling_function: None, cfn: ResponseCollector
) -> None:
    Polled()(create_event(cfn, "a"))
    events = boto3.client("events")
    shown = [json.dumps(events.list_rules()["Rules"], default=str)]
    for rule in events.list_rules()["Rules"]:
        shown.append(json.dumps(events.describe_rule(Name=rule["Name"]), default=str))
        shown.append(json.dumps(events.list_targets_by_rule(Rule=rule["Name"]), default=str))
    shown.append(boto3.client("lambda").get_policy(FunctionName=FUNCTION)["Policy"])
    assert [hit for text in shown for hit in secret_scan.hits(text)] == []


def test_a_create_answered_in_a_poll_answers_success_to_its_own_url(
    polling_function: None, cfn: ResponseCollector
) -> None:
    polled = Polled()
    polled(create_event(cfn, "a"))
    assert cfn.responses("a") == []
    polled(scheduled_input())
    response = cfn.wait("a", timeout=5)
    assert response is not None
    assert (response.body["Status"], response.body["PhysicalResourceId"]) == (
        "SUCCESS",
        "thing-1",
    )
    assert boto3.client("events").list_rules()["Rules"] == []


def test_a_sealed_url_moved_into_another_request_s_event_is_refused(
    polling_function: None, cfn: ResponseCollector
) -> None:
    polled = Polled()
    polled(create_event(cfn, "a", logical_id="First"))
    polled(create_event(cfn, "b", logical_id="Second"))
    replayed = {
        **scheduled_input("Second"),
        seal.SEALED_KEY: scheduled_input("First")[seal.SEALED_KEY],
    }
    polled(replayed)
    assert polled.polls == 0
    assert cfn.responses("a") == [] and cfn.responses("b") == []


def test_a_tampered_sealed_url_is_refused(polling_function: None, cfn: ResponseCollector) -> None:
    polled = Polled()
    polled(create_event(cfn, "a"))
    polled(altered(scheduled_input()))
    assert polled.polls == 0
    assert cfn.responses("a") == []


def test_a_poll_event_carrying_a_plain_response_url_is_refused(
    polling_function: None, cfn: ResponseCollector
) -> None:
    polled = Polled()
    polled(create_event(cfn, "a"))
    polled({**scheduled_input(), "ResponseURL": cfn.url("a")})
    assert polled.polls == 0
    assert cfn.responses("a") == []


def test_a_poll_event_without_a_sealed_url_is_refused(
    polling_function: None, cfn: ResponseCollector
) -> None:
    polled = Polled()
    polled(create_event(cfn, "a"))
    polled({k: v for k, v in scheduled_input().items() if k != seal.SEALED_KEY})
    assert polled.polls == 0
    assert cfn.responses("a") == []


def test_without_a_poll_key_a_request_that_may_poll_fails_naming_the_variable_before_acting(
    polling_function: None, cfn: ResponseCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(seal.KEY_VARIABLE)
    polled = Polled()
    polled(create_event(cfn, "a"))
    response = cfn.wait("a", timeout=5)
    assert response is not None
    assert response.body["Status"] == "FAILED"
    assert seal.KEY_VARIABLE in response.body["Reason"]
    assert polled.creates == 0
    assert boto3.client("events").list_rules()["Rules"] == []


def test_a_key_kms_refuses_fails_the_request_with_what_it_made_and_leaves_no_rule(
    polling_function: None, cfn: ResponseCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(seal.KEY_VARIABLE, "arn:aws:kms:us-east-1:123456789012:alias/gone")
    Polled()(create_event(cfn, "a"))
    response = cfn.wait("a", timeout=5)
    assert response is not None
    assert response.body["Status"] == "FAILED"
    assert "KMS could not seal" in response.body["Reason"]
    assert response.body["PhysicalResourceId"] == "thing-begun"
    assert boto3.client("events").list_rules()["Rules"] == []


def test_the_poll_input_is_the_event_with_its_url_replaced_by_the_sealed_one() -> None:
    event = {"RequestId": "r", "ResponseURL": "https://x", "CrHelperPoll": True}
    assert seal.poll_input(event, "c2VhbGVk") == {
        "RequestId": "r",
        "CrHelperPoll": True,
        seal.SEALED_KEY: "c2VhbGVk",
    }


def test_the_encryption_context_is_the_request_s_stack_request_and_logical_ids() -> None:
    event = {"StackId": "s", "RequestId": "r", "LogicalResourceId": "l", "ResourceType": "t"}
    assert seal.context_of(event) == {"StackId": "s", "RequestId": "r", "LogicalResourceId": "l"}
