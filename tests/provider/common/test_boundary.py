"""The one error boundary: which reason a failure shows, and which physical id it keeps."""

from __future__ import annotations

from typing import Any

import pytest

from provider.common import boundary
from provider.common.errors import InvalidProperty, ProviderError


def _event(request_type: str, physical_id: str | None = None) -> dict[str, Any]:
    event = {"RequestType": request_type, "RequestId": "req-1", "LogicalResourceId": "Db"}
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


@pytest.mark.parametrize("request_type", ["Update", "Delete"])
def test_a_failed_update_or_delete_keeps_the_resource_cloudformation_knows(
    request_type: str,
) -> None:
    created = lambda event, context: "db-new"  # noqa: E731 (never asked for these)
    assert boundary.failed_physical_id(_event(request_type, "db-1"), None, created) == "db-1"


def test_a_failed_create_answers_with_what_it_left_behind() -> None:
    assert boundary.failed_physical_id(_event("Create"), None, lambda e, c: "db-1") == "db-1"


def test_a_failed_create_that_left_nothing_answers_with_a_marker_naming_no_resource() -> None:
    physical_id = boundary.failed_physical_id(_event("Create"), None, lambda e, c: None)
    assert physical_id == "aurora-express:create-failed:req-1"
    assert boundary.is_create_failed_id(physical_id)


def test_a_look_up_that_fails_while_failing_still_gives_the_marker() -> None:
    def broken(event: dict[str, Any], context: Any) -> str:
        raise RuntimeError("RDS is down")

    assert boundary.failed_physical_id(_event("Create"), None, broken).startswith(
        boundary.CREATE_FAILED_PREFIX
    )


def test_a_provider_error_shows_its_own_reason() -> None:
    assert boundary.failure_reason(InvalidProperty("Port", "must be a number.")) == (
        "Property Port: must be a number."
    )


def test_any_other_error_shows_only_its_type() -> None:
    reason = boundary.failure_reason(KeyError("password=hunter2"))
    assert reason.startswith("Internal error (KeyError)")
    assert "hunter2" not in reason


def test_a_direct_invocation_answers_json_whatever_happens() -> None:
    @boundary.direct_invocation
    def plan(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("fail"):
            raise ProviderError("Migration V2 changed since it was applied: password=hunter2")
        return {"pending": 1}

    assert plan({"Action": "Plan"}, None) == {"Action": "plan", "Status": "SUCCESS", "pending": 1}
    failed = plan({"Action": "plan", "fail": True}, None)
    assert failed["Status"] == "FAILED"
    assert failed["Reason"] == "Migration V2 changed since it was applied: password=***"
