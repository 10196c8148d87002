"""While a request waits in crhelper's polls, its ResponseURL is in EventBridge only sealed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from aurora_express.local.cfn_local import LambdaContext, ResponseCollector
from aurora_express.local.simulator import ensure_placeholder_function
from provider.common import seal
from provider.common.custom_resource import CustomResource
from tests.support import secret_scan
from tests.support.confirmed import confirmed_event

FUNCTION = "seal-under-test"
TOKEN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        ensure_placeholder_function(FUNCTION)  # and the provider's poll key
        yield


@pytest.fixture
def collector() -> Iterator[ResponseCollector]:
    with ResponseCollector() as running:
        yield running


class Polled:
    """A resource whose Create hands over to a poll; counts the creates and polls that acted."""

    def __init__(self) -> None:
        self.creates = self.polls = 0
        self.resource = CustomResource(created_by=lambda event, context: "thing-begun")
        self.resource.create(self._create)
        self.resource.poll_create(self._poll)

    def _create(self, event: dict[str, Any], context: Any) -> None:
        self.creates += 1  # work begun, not finished: hand over to a poll

    def _poll(self, event: dict[str, Any], context: Any) -> str:
        self.polls += 1
        return "thing-1"

    def __call__(self, event: dict[str, Any]) -> None:
        self.resource(event, LambdaContext(function_name=FUNCTION))


def _create(collector: ResponseCollector, key: str, logical_id: str = "Thing") -> dict[str, Any]:
    return confirmed_event(
        "Create",
        "Custom::Test",
        {},
        response_url=collector.url(key),
        service_token=TOKEN,
        logical_id=logical_id,
    )


def _scheduled(logical_id: str = "Thing") -> dict[str, Any]:
    """The Input of the one poll rule scheduled for ``logical_id``, as EventBridge holds it."""
    events = boto3.client("events")
    (rule,) = [r for r in events.list_rules()["Rules"] if logical_id in r["Name"]]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    return dict(json.loads(target["Input"]))


def test_moto_s_kms_opens_a_ciphertext_only_under_its_own_encryption_context(aws: None) -> None:
    kms = boto3.client("kms")
    key = seal.key_id()
    blob = kms.encrypt(KeyId=key, Plaintext=b"u", EncryptionContext={"RequestId": "a"})
    sealed = blob["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=sealed, EncryptionContext={"RequestId": "a"})["Plaintext"]
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=sealed, EncryptionContext={"RequestId": "b"})


def test_the_poll_rule_s_target_input_holds_no_response_url(
    aws: None, collector: ResponseCollector
) -> None:
    Polled()(_create(collector, "a"))
    scheduled = _scheduled()
    assert "ResponseURL" not in scheduled
    assert scheduled[seal.SEALED_KEY]
    text = json.dumps(scheduled)
    assert "X-Amz-Signature" not in text and "/responses/a" not in text
    assert secret_scan.hits(text) == []


def test_no_part_of_eventbridge_or_the_invoke_permission_shows_the_url(
    aws: None, collector: ResponseCollector
) -> None:
    Polled()(_create(collector, "a"))
    events = boto3.client("events")
    shown = [json.dumps(events.list_rules()["Rules"], default=str)]
    for rule in events.list_rules()["Rules"]:
        shown.append(json.dumps(events.describe_rule(Name=rule["Name"]), default=str))
        shown.append(json.dumps(events.list_targets_by_rule(Rule=rule["Name"]), default=str))
    shown.append(boto3.client("lambda").get_policy(FunctionName=FUNCTION)["Policy"])
    assert [hit for text in shown for hit in secret_scan.hits(text)] == []


def test_a_create_answered_in_a_poll_answers_success_to_its_own_url(
    aws: None, collector: ResponseCollector
) -> None:
    polled = Polled()
    polled(_create(collector, "a"))
    assert collector.responses("a") == []
    polled(_scheduled())
    response = collector.wait("a", timeout=5)
    assert response is not None
    assert (response.body["Status"], response.body["PhysicalResourceId"]) == (
        "SUCCESS",
        "thing-1",
    )
    assert boto3.client("events").list_rules()["Rules"] == []


def test_a_sealed_url_moved_into_another_request_s_event_is_refused(
    aws: None, collector: ResponseCollector
) -> None:
    polled = Polled()
    polled(_create(collector, "a", logical_id="First"))
    polled(_create(collector, "b", logical_id="Second"))
    replayed = {**_scheduled("Second"), seal.SEALED_KEY: _scheduled("First")[seal.SEALED_KEY]}
    polled(replayed)
    assert polled.polls == 0
    assert collector.responses("a") == [] and collector.responses("b") == []


def test_a_tampered_sealed_url_is_refused(aws: None, collector: ResponseCollector) -> None:
    polled = Polled()
    polled(_create(collector, "a"))
    scheduled = _scheduled()
    blob = bytearray(base64.b64decode(scheduled[seal.SEALED_KEY]))
    blob[-1] ^= 1
    polled({**scheduled, seal.SEALED_KEY: base64.b64encode(bytes(blob)).decode()})
    assert polled.polls == 0
    assert collector.responses("a") == []


def test_a_poll_event_carrying_a_plain_response_url_is_refused(
    aws: None, collector: ResponseCollector
) -> None:
    polled = Polled()
    polled(_create(collector, "a"))
    polled({**_scheduled(), "ResponseURL": collector.url("a")})
    assert polled.polls == 0
    assert collector.responses("a") == []


def test_a_poll_event_without_a_sealed_url_is_refused(
    aws: None, collector: ResponseCollector
) -> None:
    polled = Polled()
    polled(_create(collector, "a"))
    polled({k: v for k, v in _scheduled().items() if k != seal.SEALED_KEY})
    assert polled.polls == 0
    assert collector.responses("a") == []


def test_without_a_poll_key_a_request_that_may_poll_fails_naming_the_variable_before_acting(
    aws: None, collector: ResponseCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(seal.KEY_VARIABLE)
    polled = Polled()
    polled(_create(collector, "a"))
    response = collector.wait("a", timeout=5)
    assert response is not None
    assert response.body["Status"] == "FAILED"
    assert seal.KEY_VARIABLE in response.body["Reason"]
    assert polled.creates == 0
    assert boto3.client("events").list_rules()["Rules"] == []


def test_a_key_kms_refuses_fails_the_request_with_what_it_made_and_leaves_no_rule(
    aws: None, collector: ResponseCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(seal.KEY_VARIABLE, "arn:aws:kms:us-east-1:123456789012:alias/gone")
    Polled()(_create(collector, "a"))
    response = collector.wait("a", timeout=5)
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
