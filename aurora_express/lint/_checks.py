"""Pure checks of a template's ``Custom::AuroraExpress*`` resources.

Each function takes the template's data (plain dicts and lists, as cfn-lint
decodes them) and returns ``Problem``s with their path in the template; the
cfn-lint rule classes in ``rules.py`` only turn those into matches.

Property values are checked by the handlers' own validation (``_kinds``),
fed what CloudFormation would send: every scalar as a string. A value that is
an intrinsic function (``Ref``, ``Fn::Sub``, ...), or holds one, is known
only at deploy time, so that property is left out of the check, and so is any
error that names it (``MaxCapacity`` compared against a ``!Ref``): a rule
that cries wolf gets switched off.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aurora_express.cfn_values import stringify
from aurora_express.lint._kinds import ResourceKind, kinds
from provider.cluster.plan import ClusterState
from provider.cluster.properties import RESOURCE_TYPE as CLUSTER_TYPE
from provider.common.errors import InvalidProperty
from provider.reaper.classify import ON_DELETE_TAG, Action, Category, action_for

Path = tuple[str | int, ...]

# Stands in for an intrinsic ServiceToken: the token's value is not the point.
_TOKEN_PLACEHOLDER = "arn:aws:lambda:us-east-1:123456789012:function:aurora-express-lint"  # noqa: S105
_SUB_REFERENCE = re.compile(r"\$\{([^!}][^}]*)\}")


class ProblemKind(StrEnum):
    UNKNOWN_PROPERTY = "unknown-property"
    INVALID_VALUE = "invalid-value"
    MISSING_SERVICE_TOKEN = "missing-service-token"  # noqa: S105
    UNKNOWN_ATTRIBUTE = "unknown-attribute"
    SNAPSHOT_POLICY = "snapshot-policy"
    RETAIN_POLICY = "retain-policy"
    INEFFECTIVE_EXPIRY = "ineffective-expiry"


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    path: Path
    message: str


def is_intrinsic(value: Any) -> bool:
    """Whether ``value`` is an intrinsic function call (``{"Ref": ...}``, ``{"Fn::Sub": ...}``)."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return isinstance(key, str) and (key == "Ref" or key.startswith("Fn::"))


def holds_intrinsic(value: Any) -> bool:
    """Whether ``value`` is, or holds at any depth, an intrinsic function call."""
    if is_intrinsic(value):
        return True
    if isinstance(value, dict):
        return any(holds_intrinsic(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_intrinsic(v) for v in value)
    return False


def suggestion(name: str, valid: frozenset[str]) -> str | None:
    """The valid property name closest to ``name`` (case aside first), or None."""
    by_lower = {v.lower(): v for v in valid}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.6)
    return close[0] if close else None


def _mentions(text: str, names: set[str]) -> bool:
    return any(re.search(rf"\b{re.escape(n)}\b", text) for n in names)


def property_problems(kind: ResourceKind, name: str, properties: Any) -> list[Problem]:
    """Every problem the handler would answer ``FAILED`` for, one per property.

    The handler stops at the first problem; here the property at fault is
    dropped and the rest validated again, until nothing more is found.
    """
    base: Path = ("Resources", name, "Properties")
    if properties is None:
        properties, base = {}, ("Resources", name)
    if not isinstance(properties, dict) or is_intrinsic(properties):
        return []  # a whole Fn::If: known at deploy time only
    problems: list[Problem] = []
    token = properties.get("ServiceToken")
    if token is None:
        problems.append(
            Problem(
                ProblemKind.MISSING_SERVICE_TOKEN,
                base,
                f"{kind.type_name} {name} has no ServiceToken: set it to the provider "
                f"stack's {kind.service_token_output} export "
                f"(!ImportValue <provider-stack>-{kind.service_token_output}).",
            )
        )
    skipped = {k for k, v in properties.items() if k in kind.properties and holds_intrinsic(v)}
    raw = {k: stringify(v) for k, v in properties.items() if k not in skipped}
    if not isinstance(raw.get("ServiceToken"), str):
        raw["ServiceToken"] = _TOKEN_PLACEHOLDER
    for _ in range(len(properties) + 2):
        try:
            kind.parse(raw)
            break
        except InvalidProperty as exc:
            # "Migrations[0].Name" is a problem of the property Migrations.
            prop = re.split(r"[.\[]", exc.prop, maxsplit=1)[0]
            message = f"{kind.type_name} {name}: {exc.reason.rstrip('.')}."
            if prop in skipped or _mentions(exc.reason, skipped):
                pass  # caused by a value known only at deploy time
            elif prop in properties and prop not in kind.properties:
                hint = suggestion(prop, kind.properties)
                if hint:
                    message += f" Did you mean {hint}?"
                problems.append(Problem(ProblemKind.UNKNOWN_PROPERTY, (*base, prop), message))
            else:
                where = (*base, prop) if prop in properties else base
                problems.append(Problem(ProblemKind.INVALID_VALUE, where, message))
            if prop not in raw:
                break  # nothing left to drop: a missing or cross-property problem
            del raw[prop]
    return problems


_EXPIRY_BLOCKER = {
    Action.PROTECTED: "DeletionProtection is true",
    Action.RETAIN: "OnDelete is Retain",
}


def expiry_problems(kind: ResourceKind, name: str, properties: Any) -> list[Problem]:
    """``ExpiresAfter`` on a cluster the reaper would never delete.

    Decided by the reaper's own rule (``classify.action_for``) applied to the
    cluster these literal properties make; values given by intrinsic
    functions, or invalid ones (reported elsewhere), are not judged.
    """
    if kind.type_name != CLUSTER_TYPE or not isinstance(properties, dict):
        return []
    wanted = ("ExpiresAfter", "DeletionProtection", "OnDelete")
    literal = {k: stringify(properties[k]) for k in wanted if k in properties}
    if "ExpiresAfter" not in literal or any(holds_intrinsic(v) for v in literal.values()):
        return []
    try:
        props = kind.parse({"ServiceToken": _TOKEN_PLACEHOLDER, **literal})
    except InvalidProperty:
        return []
    cluster = ClusterState(
        identifier=name,
        status="available",
        deletion_protection=bool(getattr(props, "DeletionProtection", False)),
        tags={ON_DELETE_TAG: str(getattr(props, "OnDelete", "Delete"))},
    )
    blocker = _EXPIRY_BLOCKER.get(action_for(Category.EXPIRED, cluster, armed=True))
    if blocker is None:
        return []
    return [
        Problem(
            ProblemKind.INEFFECTIVE_EXPIRY,
            ("Resources", name, "Properties", "ExpiresAfter"),
            f"{kind.type_name} {name}: ExpiresAfter never takes effect while {blocker}: "
            "the reaper does not delete such a cluster, it only reports it.",
        )
    ]


_RETAIN_EFFECT = {
    "DeletionPolicy": "the cluster outlives the stack",
    "UpdateReplacePolicy": "every replaced cluster is left behind",
}


def policy_problems(kind: ResourceKind, name: str, resource: Mapping[str, Any]) -> list[Problem]:
    """``DeletionPolicy``/``UpdateReplacePolicy`` values the provider cannot honour.

    The provider's ``OnDelete`` property is what decides a cluster's fate.
    ``Snapshot`` is an error (custom resources have none); ``Retain`` on a
    cluster is a warning: the cluster outlives the stack unmanaged, which is
    what ``OnDelete: Retain`` does on purpose and visibly.
    """
    problems: list[Problem] = []
    is_cluster = "OnDelete" in kind.properties
    for attribute in ("DeletionPolicy", "UpdateReplacePolicy"):
        value = resource.get(attribute)
        if not isinstance(value, str):
            continue
        path: Path = ("Resources", name, attribute)
        if value == "Snapshot":
            fix = "set the OnDelete property to Snapshot instead" if is_cluster else "remove it"
            problems.append(
                Problem(
                    ProblemKind.SNAPSHOT_POLICY,
                    path,
                    f"{kind.type_name} {name}: {attribute} Snapshot is not honoured: "
                    f"CloudFormation takes no snapshot of a custom resource; {fix}.",
                )
            )
        elif value.startswith("Retain") and is_cluster:
            problems.append(
                Problem(
                    ProblemKind.RETAIN_POLICY,
                    path,
                    f"{kind.type_name} {name}: with {attribute} {value} CloudFormation never "
                    f"sends the provider its Delete, so OnDelete is bypassed and "
                    f"{_RETAIN_EFFECT[attribute]}, running and unmanaged; set the OnDelete "
                    "property to Retain instead.",
                )
            )
    return problems


def _walk(value: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def _getatt_target(value: Any) -> tuple[str, str] | None:
    if isinstance(value, str) and "." in value:
        resource, attribute = value.split(".", 1)
        return resource, attribute
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    return None  # an attribute chosen by an intrinsic: known at deploy time only


def _sub_targets(value: Any) -> Iterator[tuple[str, str]]:
    text, variables = (value, {}) if isinstance(value, str) else (None, {})
    if isinstance(value, list) and value and isinstance(value[0], str):
        text = value[0]
        variables = value[1] if len(value) > 1 and isinstance(value[1], dict) else {}
    for found in _SUB_REFERENCE.findall(text or ""):
        reference = found.strip()
        if "." in reference and reference not in variables:
            resource, attribute = reference.split(".", 1)
            yield resource, attribute


def attribute_problems(template: Mapping[str, Any]) -> list[Problem]:
    """``Fn::GetAtt`` (and ``${Res.Attr}`` in ``Fn::Sub``) of an attribute the type lacks."""
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return []
    known = kinds()
    typed = {
        name: known[r["Type"]]
        for name, r in resources.items()
        if isinstance(r, dict) and r.get("Type") in known
    }
    problems: list[Problem] = []
    for path, value in _walk(dict(template), ()):
        if not isinstance(value, dict) or len(value) != 1:
            continue
        if "Fn::GetAtt" in value:
            target = _getatt_target(value["Fn::GetAtt"])
            targets = [target] if target else []
            where: Path = (*path, "Fn::GetAtt")
        elif "Fn::Sub" in value:
            targets = list(_sub_targets(value["Fn::Sub"]))
            where = (*path, "Fn::Sub")
        else:
            continue
        for resource, attribute in targets:
            kind = typed.get(resource)
            if kind is None or attribute in kind.attributes:
                continue
            hint = suggestion(attribute, kind.attributes)
            problems.append(
                Problem(
                    ProblemKind.UNKNOWN_ATTRIBUTE,
                    where,
                    f"{resource}.{attribute}: {kind.type_name} returns no attribute {attribute}"
                    + (f"; did you mean {hint}?" if hint else ".")
                    + f" It returns {', '.join(sorted(kind.attributes))}.",
                )
            )
    return problems


def resource_problems(template: Mapping[str, Any]) -> list[Problem]:
    """Property and policy problems of every resource of a known type."""
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return []
    known = kinds()
    problems: list[Problem] = []
    for name, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") not in known:
            continue
        kind = known[resource["Type"]]
        problems += property_problems(kind, name, resource.get("Properties"))
        problems += policy_problems(kind, name, resource)
        problems += expiry_problems(kind, name, resource.get("Properties"))
    return problems
