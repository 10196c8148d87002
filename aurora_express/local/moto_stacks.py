"""moto's CloudFormation, taught the custom resources of the stacks the simulator plays.

The provider confirms every request with ``DescribeStackResource`` before it
acts (``provider.common.confirm``). moto cannot hold a ``Custom::`` resource
without invoking a Lambda in Docker, so the simulator, which plays
CloudFormation, declares each request here: a real moto stack (made once,
empty) whose status follows the request, and a record of the custom resource
that ``DescribeStackResource(s)`` return. As in moto, a resource's status is
its stack's.

Works in-process: under ``mock_aws`` and with a ``ThreadedMotoServer``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from moto.cloudformation import models

_EMPTY_TEMPLATE = '{"Resources": {}}'  # moto takes it; the custom resources are declared
_lock = threading.Lock()
_records: dict[tuple[str, str], _Record] = {}
_original = models.CloudFormationBackend.describe_stack_resource
_original_plural = models.CloudFormationBackend.describe_stack_resources


@dataclass
class _Record:
    """The attributes moto's ``StackResourceDTO`` reads."""

    logical_resource_id: str
    cf_resource_type: str
    physical_resource_id: str | None


def _describe_stack_resource(
    self: models.CloudFormationBackend, stack_name: str, logical_resource_id: str
) -> tuple[models.Stack, Any]:
    stack = self.get_stack(stack_name)
    with _lock:
        record = _records.get((stack.stack_id, logical_resource_id))
    if record is None:
        return _original(self, stack_name, logical_resource_id)
    return stack, record


def _describe_stack_resources(
    self: models.CloudFormationBackend, stack_name: str, logical_resource_id: str
) -> tuple[models.Stack, Any]:
    stack = self.get_stack(stack_name)
    with _lock:
        declared = [r for (s, _), r in _records.items() if s == stack.stack_id]
    if logical_resource_id is not None:
        declared = [r for r in declared if r.logical_resource_id == logical_resource_id]
    if not declared:
        return _original_plural(self, stack_name, logical_resource_id)
    return stack, declared


def install() -> None:
    """Teach moto the declared records (idempotent)."""
    backend = models.CloudFormationBackend
    backend.describe_stack_resource = _describe_stack_resource  # type: ignore[method-assign]
    backend.describe_stack_resources = _describe_stack_resources  # type: ignore[method-assign]


def create_stack(cloudformation: Any, name: str) -> str:
    """A real moto stack named ``name`` to hang custom resources on; its StackId."""
    install()
    created = cloudformation.create_stack(StackName=name, TemplateBody=_EMPTY_TEMPLATE)
    return str(created["StackId"])


def stack_named(cloudformation: Any, name: str) -> str:
    """The live moto stack ``name`` (made if missing): simulators of one stack share it."""
    try:
        # By name, moto finds only stacks it has not deleted (a status declared here,
        # DELETE_COMPLETE included, is the simulator's, and the stack is still moto's).
        for stack in cloudformation.describe_stacks(StackName=name)["Stacks"]:
            return str(stack["StackId"])
    except cloudformation.exceptions.ClientError:
        pass  # no such stack yet
    return create_stack(cloudformation, name)


def _stack(stack_id: str) -> models.Stack:
    _, _, _, region, account, _ = stack_id.split(":", 5)
    return models.cloudformation_backends[account][region].get_stack(stack_id)


def declare(
    stack_id: str,
    logical_id: str,
    resource_type: str,
    physical_id: str | None,
    *,
    stack_status: str | None,
) -> None:
    """Record what CloudFormation knows of ``logical_id``; set the stack's status unless None."""
    install()
    with _lock:
        _records[(stack_id, logical_id)] = _Record(logical_id, resource_type, physical_id)
        if stack_status is not None:
            _stack(stack_id).status = stack_status


def forget(stack_id: str, logical_id: str) -> None:
    """Drop the record, as a stack update that removes the resource from its template does."""
    with _lock:
        _records.pop((stack_id, logical_id), None)
