"""Test helpers: synthesize a stack, read its resources, evaluate CloudFormation values."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import assertions

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "Prov",
    "AWS::URLSuffix": "amazonaws.com",
}
_SUB = re.compile(r"\$\{([^!}][^}]*)\}")

Json = dict[str, Any]


def new_stack(name: str = "Prov", *, bundle: bool = False, **context: Any) -> cdk.Stack:
    """A stack in a new app; bundling skipped unless ``bundle``."""
    if not bundle:
        context["aws:cdk:bundling-stacks"] = []
    return cdk.Stack(cdk.App(context=context), name)


def synth(stack: cdk.Stack) -> Json:
    return dict(assertions.Template.from_stack(stack).to_json())


def of_type(template: Json, type_name: str) -> dict[str, Json]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def only(template: Json, type_name: str) -> Json:
    (resource,) = of_type(template, type_name).values()
    return resource


def evaluate(node: Any, parameters: Mapping[str, str] | None = None) -> Any:
    """``node`` with its intrinsic functions worked out, as CloudFormation would.

    Pseudo parameters take ``PSEUDO``'s values, parameters ``parameters``';
    a resource's ``Ref`` is ``<ref Name>`` and its ``Fn::GetAtt``
    ``<Name.Attribute>``, since only the names matter here.
    """
    values = {**PSEUDO, **(parameters or {})}
    if isinstance(node, list):
        return [evaluate(item, parameters) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, item),) = node.items()
        if key == "Ref":
            return values.get(item, f"<ref {item}>")
        if key == "Fn::GetAtt":
            name, attribute = item if isinstance(item, list) else item.split(".", 1)
            return f"<{name}.{attribute}>"
        if key == "Fn::Join":
            return item[0].join(str(evaluate(part, parameters)) for part in item[1])
        if key == "Fn::ImportValue":
            return f"<import {evaluate(item, parameters)}>"
        if key == "Fn::Sub":
            text, variables = (item, {}) if isinstance(item, str) else item
            local = {**values, **{k: evaluate(v, parameters) for k, v in variables.items()}}

            def replace(match: re.Match[str]) -> str:
                name = match.group(1)
                return str(local[name]) if name in local else f"<{name}>"

            return _SUB.sub(replace, text).replace("${!", "${")
    return {key: evaluate(item, parameters) for key, item in node.items()}


def atoms(
    statements: list[Json], parameters: Mapping[str, str] | None = None
) -> set[tuple[str, ...]]:
    """IAM statements as (effect, action, resource, condition) atoms: equal in substance."""
    found: set[tuple[str, ...]] = set()
    for statement in evaluate(statements, parameters):
        actions = statement["Action"]
        resources = statement["Resource"]
        condition = json.dumps(statement.get("Condition"), sort_keys=True)
        for action in actions if isinstance(actions, list) else [actions]:
            for resource in resources if isinstance(resources, list) else [resources]:
                found.add((statement["Effect"], action, resource, condition))
    return found


def role_statements(template: Json, function_logical_id: str) -> list[Json]:
    """Every statement of the policies attached to the role of a function."""
    function = template["Resources"][function_logical_id]
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[Json] = []
    for policy in of_type(template, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def function_named(template: Json, name: str) -> str:
    """The logical id of the function whose FunctionName evaluates to ``name``."""
    (found,) = [
        logical_id
        for logical_id, function in of_type(template, "AWS::Lambda::Function").items()
        if evaluate(function["Properties"].get("FunctionName")) == name
    ]
    return found
