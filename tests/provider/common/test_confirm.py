"""Only real requests act: the pure rules that confirm a request with CloudFormation."""

from __future__ import annotations

from typing import Any

import pytest

from provider.common.confirm import StackResource, resource_problem, stack_problem, url_problem

STACK = "arn:aws:cloudformation:eu-west-1:123456789012:stack/app/0a1b2c3d"
TYPE = "Custom::AuroraExpress"


@pytest.mark.parametrize(
    "url",
    [
        "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/a?b=c",
        "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/a",
        "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/a",
    ],
)
def test_cloudformations_response_bucket_for_the_region_is_accepted(url: str) -> None:
    assert url_problem(url, "eu-west-1") is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/a", "https"),
        ("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/a", "bucket"),
        ("https://attacker.example/cloudformation-custom-resource-response-euwest1", "bucket"),
        ("https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com.evil.io/", "b"),
        ("http://127.0.0.1:8080/responses/x", "https"),
    ],
)
def test_any_other_response_url_is_refused(url: str, why: str) -> None:
    problem = url_problem(url, "eu-west-1")
    assert problem is not None
    assert why in problem


def test_loopback_is_accepted_only_when_the_offline_emulation_allows_it() -> None:
    assert url_problem("http://127.0.0.1:8080/r", "eu-west-1", allow_loopback=True) is None
    assert url_problem("http://10.0.0.1:8080/r", "eu-west-1", allow_loopback=True) is not None


def test_a_stack_of_another_region_or_account_is_refused() -> None:
    assert stack_problem(STACK, "eu-west-1", "123456789012") is None
    assert stack_problem(STACK, "us-east-1", "123456789012") is not None
    assert stack_problem(STACK, "eu-west-1", "210987654321") is not None
    assert stack_problem("app", "eu-west-1", None) is not None


def _event(request_type: str, physical_id: str | None = None) -> dict[str, Any]:
    event = {"RequestType": request_type, "ResourceType": TYPE, "StackId": STACK}
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    return event


def test_a_create_in_progress_is_confirmed() -> None:
    found = StackResource(TYPE, "CREATE_IN_PROGRESS", None)
    assert resource_problem(_event("Create"), found) is None


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS"])
def test_an_update_or_delete_of_the_stacks_own_resource_in_progress_is_confirmed(
    status: str,
) -> None:
    found = StackResource(TYPE, status, "db-1", "UPDATE_IN_PROGRESS")
    request = "Update" if status.startswith("UPDATE") else "Delete"
    assert resource_problem(_event(request, "db-1"), found) is None


def test_a_forged_delete_of_a_resource_at_rest_is_refused() -> None:
    found = StackResource(TYPE, "CREATE_COMPLETE", "db-1", "CREATE_COMPLETE")
    assert "not in progress" in (resource_problem(_event("Delete", "db-1"), found) or "")


def test_a_delete_naming_another_physical_id_is_refused() -> None:
    found = StackResource(TYPE, "DELETE_IN_PROGRESS", "db-1", "DELETE_IN_PROGRESS")
    assert "physical id" in (resource_problem(_event("Delete", "db-2"), found) or "")


def test_a_resource_of_another_type_is_refused() -> None:
    found = StackResource("AWS::S3::Bucket", "DELETE_IN_PROGRESS", "db-1")
    assert "AWS::S3::Bucket" in (resource_problem(_event("Delete", "db-1"), found) or "")


def test_a_missing_resource_is_refused() -> None:
    assert resource_problem(_event("Delete", "db-1"), None) == "the stack has no such resource"


def test_during_cleanup_only_the_replaced_resource_may_be_deleted() -> None:
    cleanup = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    found = StackResource(TYPE, "UPDATE_COMPLETE", "db-new", cleanup)
    assert resource_problem(_event("Delete", "db-old"), found) is None
    assert resource_problem(_event("Delete", "db-new"), found) is not None
