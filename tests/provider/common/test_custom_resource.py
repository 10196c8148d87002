"""The error boundary: every request gets one answer, at once when the work is done."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from aurora_express.local import moto_stacks
from aurora_express.local.cfn_local import LambdaContext, ResponseCollector, request_event
from aurora_express.local.simulator import ensure_placeholder_function
from provider.common.custom_resource import CustomResource
from provider.common.errors import InvalidProperty, ProviderError

FUNCTION = "boundary-under-test"


@pytest.fixture
def collector() -> Iterator[ResponseCollector]:
    with ResponseCollector() as running:
        yield running


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        # crhelper adds an invoke permission to its own function when it polls.
        ensure_placeholder_function(FUNCTION)
        yield


def _event(
    collector: ResponseCollector, key: str, *, declared: bool = True, **overrides: Any
) -> dict[str, Any]:
    """A Create of ``Thing``; ``declared``: CloudFormation shows it in progress (a real one)."""
    stack = moto_stacks.create_stack(boto3.client("cloudformation"), f"s-{key}")
    event = request_event(
        "Create",
        "Custom::Test",
        {"Size": 1},
        response_url=collector.url(key),
        service_token="arn:aws:lambda:us-east-1:123456789012:function:" + FUNCTION,
        stack=stack,
        logical_id="Thing",
    )
    event.update(overrides)
    if declared:
        moto_stacks.declare(stack, "Thing", "Custom::Test", None, stack_status="CREATE_IN_PROGRESS")
    return event


def _resource(create: Any, poll_create: Any = None, created_by: Any = None) -> CustomResource:
    resource = CustomResource(created_by=created_by)
    resource.create(create)
    if poll_create:
        resource.poll_create(poll_create)
    return resource


def _answer(collector: ResponseCollector, key: str) -> dict[str, Any]:
    response = collector.wait(key, timeout=5)
    assert response is not None, "no response was PUT"
    return response.body


def test_work_done_in_the_first_invocation_is_answered_without_a_poll(
    aws: None, collector: ResponseCollector
) -> None:
    resource = _resource(lambda e, c: "thing-1", poll_create=lambda e, c: None)
    resource(_event(collector, "a"), LambdaContext(function_name=FUNCTION))

    body = _answer(collector, "a")
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "thing-1")
    assert boto3.client("events").list_rules()["Rules"] == []


def test_unfinished_work_is_handed_to_a_scheduled_poll_that_answers_later(
    aws: None, collector: ResponseCollector
) -> None:
    def finish(event: dict[str, Any], context: Any) -> str:
        resource.Data["Answer"] = "42"
        return "thing-2"

    resource = _resource(lambda e, c: None, poll_create=finish)
    resource(_event(collector, "b"), LambdaContext(function_name=FUNCTION))
    assert collector.responses("b") == []

    events = boto3.client("events")
    (rule,) = events.list_rules()["Rules"]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    resource(json.loads(target["Input"]), LambdaContext(function_name=FUNCTION))

    body = _answer(collector, "b")
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "thing-2")
    assert body["Data"] == {"Answer": "42"}  # no crhelper or provider bookkeeping
    assert events.list_rules()["Rules"] == []


def test_a_provider_error_fails_with_its_reason_and_the_id_of_what_it_made(
    aws: None, collector: ResponseCollector
) -> None:
    def create(event: dict[str, Any], context: Any) -> str:
        raise ProviderError("Cluster db-1 ended in state failed.")

    resource = _resource(create, created_by=lambda event, context: "db-1")  # what it left behind
    resource(_event(collector, "c"), LambdaContext(function_name=FUNCTION))
    body = _answer(collector, "c")
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "Cluster db-1 ended in state failed."
    assert body["PhysicalResourceId"] == "db-1"


def test_an_invalid_property_names_the_property(aws: None, collector: ResponseCollector) -> None:
    def create(event: dict[str, Any], context: Any) -> str:
        raise InvalidProperty("MaxCapacity", "must be at least 1.")

    _resource(create)(_event(collector, "d"), LambdaContext(function_name=FUNCTION))
    assert _answer(collector, "d")["Reason"] == "Property MaxCapacity: must be at least 1."


def test_an_unexpected_error_fails_without_showing_its_message(
    aws: None, collector: ResponseCollector
) -> None:
    def create(event: dict[str, Any], context: Any) -> str:
        raise RuntimeError("internal detail password=hunter2")

    _resource(create)(_event(collector, "e"), LambdaContext(function_name=FUNCTION))
    body = _answer(collector, "e")
    assert body["Status"] == "FAILED"
    assert "RuntimeError" in body["Reason"]
    assert "hunter2" not in body["Reason"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"RequestType": "Destroy"}, "RequestType"),
        ({"StackId": ""}, "StackId"),
        ({"RequestId": 7}, "RequestId"),
        ({"ResourceProperties": ["x"]}, "ResourceProperties"),
        ({"RequestType": "Delete"}, "PhysicalResourceId"),
    ],
)
def test_an_event_not_shaped_like_cloudformations_fails_saying_what_is_missing(
    aws: None, collector: ResponseCollector, change: dict[str, Any], expected: str
) -> None:
    called: list[str] = []
    resource = _resource(lambda e, c: called.append("create") or "x")
    resource(_event(collector, "f", **change), LambdaContext(function_name=FUNCTION))
    body = _answer(collector, "f")
    assert body["Status"] == "FAILED"
    assert expected in body["Reason"]
    assert called == []


@pytest.mark.parametrize("event", [{}, None, "junk", {"RequestType": "Create"}])
def test_an_event_without_a_response_url_is_dropped_without_raising(aws: None, event: Any) -> None:
    _resource(lambda e, c: "x")(event, LambdaContext(function_name=FUNCTION))


def test_a_warm_container_never_answers_a_bad_event_on_the_previous_url(
    aws: None, collector: ResponseCollector
) -> None:
    resource = _resource(lambda e, c: "x")
    resource(_event(collector, "g"), LambdaContext(function_name=FUNCTION))
    resource({"RequestType": "Create"}, LambdaContext(function_name=FUNCTION))
    assert len(collector.responses("g")) == 1


def test_a_request_cloudformation_does_not_know_fails_and_runs_nothing(
    aws: None, collector: ResponseCollector
) -> None:
    ran: list[str] = []
    resource = _resource(lambda event, context: ran.append("create") or "thing-1")
    resource(_event(collector, "forged", declared=False), LambdaContext(function_name=FUNCTION))
    body = _answer(collector, "forged")
    assert body["Status"] == "FAILED"
    assert "could not be confirmed with CloudFormation" in body["Reason"]
    assert ran == []


def test_a_response_url_that_is_not_cloudformations_gets_no_answer_and_runs_nothing(
    aws: None, collector: ResponseCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AURORA_EXPRESS_OFFLINE", "false")
    ran: list[str] = []
    resource = _resource(lambda event, context: ran.append("create") or "thing-1")
    resource(_event(collector, "elsewhere"), LambdaContext(function_name=FUNCTION))
    assert collector.wait("elsewhere", timeout=0.5) is None
    assert ran == []
