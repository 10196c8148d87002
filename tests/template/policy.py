"""The provider template's IAM statements: read, written canonically, resolved, evaluated.

- ``statements(function)`` gives a function's statements as the template
  writes them, intrinsics in canonical form (``Fn::Sub`` text, with
  ``${StackKey}`` for the stack id's first group): what the table in
  ``iam_needs`` is compared with.
- ``resolve`` turns a statement into the policy a deployment of the template
  would have (sample account, region and stack; parameters at their defaults).
- ``allows`` evaluates Allow statements for one request the way IAM does, for
  the condition operators this template uses: a test oracle, so the issue's
  cases read as requests that must (not) be authorized.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# The first group of the stack id's UUID: a short key unique to the provider stack.
STACK_KEY_EXPR: dict[str, Any] = {
    "Fn::Select": [
        0,
        {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]},
    ]
}

PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "111122223333"
STACK_NAME = "aurora-express"
STACK_UUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
PSEUDO = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackName": STACK_NAME,
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/{STACK_UUID}",
}


@cache
def template() -> dict[str, Any]:
    decoded, problems = decode(str(TEMPLATE))
    assert not problems and decoded is not None, problems
    return dict(decoded)


def functions() -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def raw_statements(function: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in functions()[function]["Properties"].get("Policies", []):
        assert isinstance(policy, dict) and "Statement" in policy, (
            f"{function}: only inline policy documents (no managed or SAM policy templates)"
        )
        found += policy["Statement"]
    return found


# -- canonical form -------------------------------------------------------------


def canonical(value: Any) -> Any:
    """Intrinsics as the text they are written with; lists as sorted tuples."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        sub = value["Fn::Sub"]
        if isinstance(sub, str):
            return sub
        text, variables = sub
        assert variables == {"StackKey": STACK_KEY_EXPR}, f"unexpected Sub variables {variables}"
        return text
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return tuple(sorted((canonical(item) for item in value), key=repr))
    return value


def as_set(value: Any) -> frozenset[Any]:
    value = canonical(value)
    return frozenset(value if isinstance(value, tuple) else (value,))


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: frozenset[str]
    resources: frozenset[str]
    condition: Mapping[str, Mapping[str, Any]]


def statements(function: str) -> dict[str, Statement]:
    found: dict[str, Statement] = {}
    for raw in raw_statements(function):
        assert raw.get("Effect") == "Allow", raw
        assert set(raw) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, raw
        sid = raw["Sid"]
        assert sid not in found, f"{function}: Sid {sid} twice"
        found[sid] = Statement(
            sid,
            as_set(raw["Action"]),
            as_set(raw["Resource"]),
            canonical(raw.get("Condition", {})),
        )
    return found


# -- resolved for a sample deployment ------------------------------------------------


def _parameter_defaults() -> dict[str, str]:
    return {name: str(p.get("Default", "")) for name, p in template()["Parameters"].items()}


def resolve(value: Any, variables: Mapping[str, str] | None = None) -> Any:
    """The value a deployment in the sample account would see (parameters at defaults)."""
    names = {**PSEUDO, **_parameter_defaults(), **(variables or {})}
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return names[arg]
        if fn == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else arg
            local = {**names, **{k: resolve(v, variables) for k, v in extra.items()}}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: local[m.group(1)], text)
        if fn == "Fn::Select":
            index, items = arg
            return resolve(items, variables)[int(index)]
        if fn == "Fn::Split":
            separator, text = arg
            return resolve(text, variables).split(separator)
    if isinstance(value, dict):
        return {key: resolve(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, variables) for item in value]
    return value


def policy(function: str) -> list[dict[str, Any]]:
    """The function's statements as deployed (sample account, default parameters)."""
    return [resolve(raw) for raw in raw_statements(function)]


def environment(function: str) -> dict[str, str]:
    variables = functions()[function]["Properties"]["Environment"]["Variables"]
    return {key: str(resolve(value)) for key, value in variables.items()}


# -- evaluation -----------------------------------------------------------------------


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _match(operator: str, actual: str, expected: str) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return actual == expected
    if operator in ("StringLike", "ArnLike"):
        return fnmatch.fnmatchcase(actual, expected)
    if operator == "StringNotEquals":
        return actual != expected
    if operator == "Bool":
        return actual.lower() == expected.lower()
    raise AssertionError(f"operator {operator} is not modelled")


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, Any]) -> bool:
    wanted = _listed(expected)
    present = key in context
    if operator == "Null":
        (flag,) = wanted
        return (not present) if flag == "true" else present
    if operator.startswith("ForAllValues:"):
        inner = operator.split(":", 1)[1]
        values = _listed(context.get(key, []))
        if inner.endswith("NotEquals"):  # every value differs from every listed one
            return all(all(_match(inner, v, w) for w in wanted) for v in values)
        return all(any(_match(inner, v, w) for w in wanted) for v in values)
    operator = operator.removeprefix("ForAnyValue:")  # as below: any value matches
    if not present:
        return False  # a missing key fails every operator but Null and ForAllValues
    values = _listed(context[key])
    if operator.endswith("NotEquals"):
        return all(all(_match(operator, v, w) for w in wanted) for v in values)
    return any(_match(operator, v, w) for v in values for w in wanted)


def _applies(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    actions = _listed(statement["Action"])
    resources = _listed(statement["Resource"])
    return any(fnmatch.fnmatchcase(action, a) for a in actions) and any(
        fnmatch.fnmatchcase(resource, r) for r in resources
    )


def allows(
    function: str, action: str, resource: str, context: Mapping[str, Any] | None = None
) -> bool:
    """Whether the function's role may do ``action`` on ``resource`` in this request context."""
    context = context or {}
    for statement in policy(function):
        if not _applies(statement, action, resource):
            continue
        conditions = statement.get("Condition", {})
        if all(
            _condition_holds(operator, key, expected, context)
            for operator, keys in conditions.items()
            for key, expected in keys.items()
        ):
            return True
    return False


def arn(service: str, rest: str, *, region: bool = True) -> str:
    """An ARN in the sample account (``rest`` after the account, e.g. ``cluster:db-1``)."""
    return f"arn:{PARTITION}:{service}:{REGION if region else ''}:{ACCOUNT}:{rest}"


def stack_arn(name: str, uuid: str = "11111111-2222-4333-8444-555555555555") -> str:
    return arn("cloudformation", f"stack/{name}/{uuid}")
