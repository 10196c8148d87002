"""template.yaml's values inside a CDK app.

``AuroraExpressProvider`` builds its resources from the shipped copy of
template.yaml (``aurora_express.provider_template``), so their functions,
roles and policies cannot drift from what ``sam deploy`` creates. The
template's parameters take the construct's props (or their defaults in the
template), its conditions are decided from them, and its intrinsic functions
become CDK tokens. Anything this module does not know how to build raises
``UnsupportedTemplate``: a template change the construct would silently miss
fails the synth (and the tests) instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from math import inf
from typing import Any

from aws_cdk import Aws, Fn, Token

PSEUDO_PARAMETERS = {
    "AWS::AccountId": Aws.ACCOUNT_ID,
    "AWS::Partition": Aws.PARTITION,
    "AWS::Region": Aws.REGION,
    "AWS::StackId": Aws.STACK_ID,
    "AWS::StackName": Aws.STACK_NAME,
    "AWS::URLSuffix": Aws.URL_SUFFIX,
}
_SUB_REFERENCE = re.compile(r"\$\{([^!}][^}]*)\}")


class UnsupportedTemplate(Exception):
    """template.yaml uses something the CDK construct does not build (yet)."""


@dataclass(frozen=True)
class Values:
    """What the template's references stand for in the app.

    ``parameters`` maps each parameter to its value as a string (a literal or
    a token), or to None: left out, so whatever names it is not built.
    ``attribute`` gives ``Fn::GetAtt`` of one of the template's resources.
    """

    parameters: Mapping[str, str | None]
    attribute: Callable[[str, str], str]


def as_parameter(value: object) -> str:
    """A prop as a template parameter's value: CloudFormation's string form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def check_parameter(prop: str, name: str, spec: Mapping[str, Any], value: str) -> None:
    """The constraints template.yaml sets on parameter ``name``, applied to ``prop``."""
    if Token.is_unresolved(value):
        return  # known at deploy time only; CloudFormation checks it then
    where = f"{prop} (template.yaml's {name})"
    if spec.get("Type") == "Number":
        number = _number(value)
        low, high = spec.get("MinValue"), spec.get("MaxValue")
        floor, ceiling = (-inf if low is None else low), (inf if high is None else high)
        outside = number is None or not floor <= number <= ceiling
        if outside:
            bounds = f" from {low} to {high}" if low is not None and high is not None else ""
            raise ValueError(f"{where} must be a number{bounds}, not {value!r}.")
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [as_parameter(a) for a in allowed]:
        raise ValueError(f"{where} must be one of {', '.join(map(str, allowed))}, not {value!r}.")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise ValueError(f"{where} must match {pattern}, not {value!r}.")
    for key, ok in (("MinLength", len(value).__ge__), ("MaxLength", len(value).__le__)):
        if key in spec and not ok(int(spec[key])):
            raise ValueError(f"{where}: {key} is {spec[key]}, and {value!r} has {len(value)}.")


def parameter_values(
    template: Mapping[str, Any],
    given: Mapping[str, tuple[str, object | None]],
    left_out: frozenset[str] = frozenset(),
) -> dict[str, str | None]:
    """Each parameter's value: ``given[name] = (prop, value)``, else the template's default.

    A parameter in ``left_out`` whose prop is None is None (left out); a
    parameter with neither a value nor a default is ``UnsupportedTemplate``.
    """
    values: dict[str, str | None] = {}
    for name, spec in template.get("Parameters", {}).items():
        prop, value = given.get(name, (name, None))
        if value is None and name in left_out:
            values[name] = None
            continue
        if value is None and "Default" not in spec:
            raise UnsupportedTemplate(
                f"template.yaml's parameter {name} has no default and no prop"
            )
        text = as_parameter(spec["Default"] if value is None else value)
        check_parameter(prop, name, spec, text)
        values[name] = text
    unknown = sorted(set(given) - set(values))
    if unknown:
        raise UnsupportedTemplate(f"template.yaml has no parameter {', '.join(unknown)}")
    return values


def _literal(node: Any, values: Values) -> Any:
    """A condition's operand as a plain value."""
    if isinstance(node, dict) and set(node) == {"Ref"}:
        value = values.parameters.get(node["Ref"])
        if value is None or Token.is_unresolved(value):
            raise UnsupportedTemplate(f"a condition on {node['Ref']}, which is not a literal")
        return value
    if isinstance(node, str | int | float | bool):
        return as_parameter(node)
    raise UnsupportedTemplate(f"a condition operand {node!r}")


def condition(template: Mapping[str, Any], name: str, values: Values) -> bool:
    """Whether the template's condition ``name`` holds for these parameter values."""
    return _evaluate(template.get("Conditions", {}).get(name), template, values)


def _evaluate(node: Any, template: Mapping[str, Any], values: Values) -> bool:
    if not isinstance(node, dict) or len(node) != 1:
        raise UnsupportedTemplate(f"a condition {node!r}")
    ((function, args),) = node.items()
    if function == "Fn::Equals":
        left, right = (_literal(arg, values) for arg in args)
        return bool(left == right)
    if function == "Fn::Not":
        return not _evaluate(args[0], template, values)
    if function == "Fn::And":
        return all(_evaluate(arg, template, values) for arg in args)
    if function == "Fn::Or":
        return any(_evaluate(arg, template, values) for arg in args)
    if function == "Condition":
        return condition(template, args, values)
    raise UnsupportedTemplate(f"the condition function {function}")


def references(node: Any) -> set[str]:
    """Every parameter or resource ``node`` names (``Ref``, ``Fn::Sub``, ``Fn::GetAtt``)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item)
    elif isinstance(node, dict):
        for key, item in node.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt" and isinstance(item, list) and item:
                found.add(str(item[0]))
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found |= {ref.split(".", 1)[0].strip() for ref in _SUB_REFERENCE.findall(text)}
                if isinstance(item, list) and len(item) > 1:
                    found |= references(item[1])
            else:
                found |= references(item)
    return found


def _sub(item: Any, values: Values) -> str:
    text, variables = (item, {}) if isinstance(item, str) else (item[0], dict(item[1]))
    tokens: dict[str, Any] = {k: convert(v, values) for k, v in variables.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in tokens or name in PSEUDO_PARAMETERS:
            return match.group(0)  # CloudFormation substitutes these itself
        if "." in name:
            tokens[name] = values.attribute(*name.split(".", 1))
            return match.group(0)
        if name not in values.parameters:
            raise UnsupportedTemplate(f"Fn::Sub of ${{{name}}}")
        value = values.parameters[name]
        if value is None:
            raise UnsupportedTemplate(f"Fn::Sub of the left-out parameter {name}")
        if Token.is_unresolved(value):
            tokens[name] = value
            return match.group(0)
        return value.replace("${", "${!")  # a literal, as Fn::Sub would read it

    substituted = _SUB_REFERENCE.sub(replace, text)
    if "${" not in substituted:
        return substituted
    return Fn.sub(substituted, tokens or None)


def _ref(name: str, values: Values) -> str:
    if name in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[name]
    value = values.parameters.get(name)
    if value is None:
        raise UnsupportedTemplate(f"Ref of {name}")
    return value


def convert(node: Any, values: Values) -> Any:
    """A template value with its intrinsic functions as CDK tokens."""
    if isinstance(node, list):
        return [convert(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, item),) = node.items()
        if key == "Ref":
            return _ref(item, values)
        if key == "Fn::Sub":
            return _sub(item, values)
        if key == "Fn::GetAtt":
            return values.attribute(item[0], item[1])
        if key.startswith("Fn::"):
            raise UnsupportedTemplate(f"the intrinsic function {key}")
    return {key: convert(item, values) for key, item in node.items()}


def merge_globals(defaults: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: a resource's scalar wins, maps merge, lists add up."""
    merged = dict(defaults)
    for key, value in properties.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            merged[key] = merge_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            merged[key] = [*base, *value]
        else:
            merged[key] = value
    return merged
