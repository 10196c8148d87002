"""Properties checked at synth time by the provider's own validation.

The constructs hand what CloudFormation will send to the check the cfn-lint
rules run (``aurora_express.lint._checks.property_problems``), which calls
the handler's ``parse``: one definition of every range, enum and name. A CDK
token (a value known only at deploy time: an attribute, an import, a
parameter) becomes an intrinsic function there, and is skipped the way the
lint rules skip ``Ref`` and ``Fn::GetAtt``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Token

from aurora_express.lint._checks import expiry_problems, property_problems
from aurora_express.lint._kinds import kinds

_DEPLOY_TIME = {"Ref": "a CDK token"}


class PropertyError(ValueError):
    """Properties the provider would answer FAILED for; ``problems`` are its reasons."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def as_sent(value: Any) -> Any:
    """``value`` as the template holds it, each unresolved token as an intrinsic function.

    A whole float is written as JSON writes it (``4.0`` -> ``4``), which is
    what CloudFormation hands the provider (``"4"``).
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {k: as_sent(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return _DEPLOY_TIME if Token.is_unresolved(value) else [as_sent(v) for v in value]
    if Token.is_unresolved(value):
        return _DEPLOY_TIME
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _literal(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {k: as_sent(v) for k, v in properties.items() if v is not None}


def check(resource_type: str, path: str, properties: Mapping[str, Any]) -> None:
    """Raise ``PropertyError`` with every reason the provider would fail ``properties`` for."""
    problems = property_problems(kinds()[resource_type], path, _literal(properties))
    if problems:
        raise PropertyError([problem.message for problem in problems])


def warnings(resource_type: str, path: str, properties: Mapping[str, Any]) -> list[str]:
    """What the lint rules warn about valid properties (ExpiresAfter the reaper never acts on)."""
    found = expiry_problems(kinds()[resource_type], path, _literal(properties))
    return [problem.message for problem in found]
