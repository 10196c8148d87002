"""A resource that hands its Create over to crhelper's polls, and what its rule holds.

For the tests of the sealed ResponseURL and of refused polls, which act on the
rule and target crhelper schedules, in moto (``polling_function``).
"""

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
from tests.support.confirmed import confirmed_event

FUNCTION = "polled-under-test"
TOKEN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"


@pytest.fixture
def polling_function() -> Iterator[None]:
    """moto (in-process) with ``FUNCTION``, which crhelper gives a permission when it polls."""
    with mock_aws():
        ensure_placeholder_function(FUNCTION)  # and the provider's poll key
        yield


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


def create_event(cfn: ResponseCollector, key: str, logical_id: str = "Thing") -> dict[str, Any]:
    """A confirmed Create of ``logical_id`` answered at ``cfn``'s URL ``key``."""
    return confirmed_event(
        "Create",
        "Custom::Test",
        {},
        response_url=cfn.url(key),
        service_token=TOKEN,
        logical_id=logical_id,
    )


def scheduled_input(logical_id: str = "Thing") -> dict[str, Any]:
    """The Input of the one poll rule scheduled for ``logical_id``, as EventBridge holds it."""
    events = boto3.client("events")
    (rule,) = [r for r in events.list_rules()["Rules"] if logical_id in r["Name"]]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    return dict(json.loads(target["Input"]))


def altered(scheduled: dict[str, Any]) -> dict[str, Any]:
    """``scheduled`` with one bit of its sealed URL's ciphertext flipped."""
    blob = bytearray(base64.b64decode(scheduled[seal.SEALED_KEY]))
    blob[-1] ^= 1
    return {**scheduled, seal.SEALED_KEY: base64.b64encode(bytes(blob)).decode()}
