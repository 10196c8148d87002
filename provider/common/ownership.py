"""The tags that mark a cluster as the provider's, shared by every function.

The cluster function writes them at creation; the migrations function runs
SQL only on clusters that carry them; the reaper judges only those.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

STACK_TAG = "aurora-express:stack-id"
LOGICAL_TAG = "aurora-express:logical-id"

# The offline emulation (tests, the demo, the bench): loopback stands in for AWS's
# endpoints (CloudFormation's ResponseURL, a cluster's endpoint). Never set when deployed.
OFFLINE_VARIABLE = "AURORA_EXPRESS_OFFLINE"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def offline() -> bool:
    return os.environ.get(OFFLINE_VARIABLE, "").lower() == "true"


def tag_map(tag_list: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """``[{"Key": k, "Value": v}]`` as RDS returns it, as a dict."""
    return {str(t["Key"]): str(t.get("Value", "")) for t in tag_list or () if "Key" in t}


def owner(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """(stack id, logical id) the ownership tags name, or None when either is missing."""
    stack, logical = tags.get(STACK_TAG, ""), tags.get(LOGICAL_TAG, "")
    return (stack, logical) if stack and logical else None


def same_stack(named: str, stack_id: str) -> bool:
    """Whether ``named`` (a stack name or id) is the stack ``stack_id`` (an ARN)."""
    parts = stack_id.split("/")
    return named == stack_id or (len(parts) == 3 and named == parts[1])
