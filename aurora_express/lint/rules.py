"""cfn-lint rules for templates that use ``Custom::AuroraExpress`` and
``Custom::AuroraExpressMigrations``.

Load them with ``cfn-lint --append-rules aurora_express.lint template.yaml``
(the ``[lint]`` extra): cfn-lint imports the installed package by name, or,
given the folder of a checkout that is not installed
(``--append-rules path/to/aurora_express/lint``), loads this file from it. The
checks themselves are in ``_checks`` (pure); these classes only report them.

| rule  | finds |
| ----- | ----- |
| E9501 | a property the type does not have (with the closest valid name) |
| E9502 | a value of the wrong type, out of range, or inconsistent (MinCapacity above MaxCapacity) |
| E9503 | a resource without ServiceToken |
| E9504 | Fn::GetAtt (or ${Res.Attr} in Fn::Sub) of an attribute the type does not return |
| E9505 | DeletionPolicy/UpdateReplacePolicy Snapshot (use OnDelete: Snapshot) |
| W9506 | DeletionPolicy/UpdateReplacePolicy Retain on a cluster (use OnDelete: Retain) |
| W9507 | ExpiresAfter where the reaper will not delete (DeletionProtection, OnDelete: Retain) |
"""

from __future__ import annotations

import sys
from pathlib import Path as _FilePath

try:
    import aurora_express as _package  # noqa: F401 (is the package importable?)
except ModuleNotFoundError as exc:  # loaded by file from a checkout that is not installed
    if exc.name != "aurora_express":
        raise
    sys.path.insert(0, str(_FilePath(__file__).resolve().parents[2]))

from cfnlint.rules import CloudFormationLintRule, RuleMatch
from cfnlint.template import Template

from aurora_express.lint._checks import (
    Problem,
    ProblemKind,
    attribute_problems,
    resource_problems,
)

_TAGS = ["resources", "custom", "aurora-express"]
_GETATT_TAGS = [*_TAGS, "functions", "getatt"]
_POLICY_TAGS = [*_TAGS, "deletionpolicy"]
_SOURCE = "https://github.com/OWNER/aurora-express-provider#lint-rules"


class _ProblemRule(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no types
    """Reports the ``Problem``s of one kind as matches at their template path."""

    kind: ProblemKind

    def problems(self, cfn: Template) -> list[Problem]:
        return resource_problems(cfn.template)

    def match(self, cfn: Template) -> list[RuleMatch]:
        return [
            RuleMatch(list(p.path), p.message) for p in self.problems(cfn) if p.kind is self.kind
        ]


class UnknownProperty(_ProblemRule):
    id = "E9501"
    shortdesc = "Custom::AuroraExpress* properties are known ones"
    description = (
        "A property that Custom::AuroraExpress or Custom::AuroraExpressMigrations does not "
        "have makes the provider answer FAILED; the closest valid name is suggested."
    )
    source_url = _SOURCE
    tags = _TAGS
    kind = ProblemKind.UNKNOWN_PROPERTY


class InvalidValue(_ProblemRule):
    id = "E9502"
    shortdesc = "Custom::AuroraExpress* property values are valid"
    description = (
        "Values of the wrong type, out of range or inconsistent with each other (MinCapacity "
        "above MaxCapacity), checked by the provider's own validation code."
    )
    source_url = _SOURCE
    tags = _TAGS
    kind = ProblemKind.INVALID_VALUE


class MissingServiceToken(_ProblemRule):
    id = "E9503"
    shortdesc = "Custom::AuroraExpress* resources have a ServiceToken"
    description = "Without ServiceToken CloudFormation cannot reach the provider."
    source_url = _SOURCE
    tags = _TAGS
    kind = ProblemKind.MISSING_SERVICE_TOKEN


class UnknownAttribute(_ProblemRule):
    id = "E9504"
    shortdesc = "Fn::GetAtt of Custom::AuroraExpress* names a returned attribute"
    description = (
        "Fn::GetAtt (or ${Resource.Attribute} in Fn::Sub) of an attribute the provider does "
        "not return fails the stack at deploy time."
    )
    source_url = _SOURCE
    tags = _GETATT_TAGS
    kind = ProblemKind.UNKNOWN_ATTRIBUTE

    def problems(self, cfn: Template) -> list[Problem]:
        return attribute_problems(cfn.template)


class SnapshotPolicy(_ProblemRule):
    id = "E9505"
    shortdesc = "No Snapshot DeletionPolicy on Custom::AuroraExpress*"
    description = (
        "CloudFormation takes no snapshot of a custom resource; the cluster's OnDelete "
        "property does (OnDelete: Snapshot)."
    )
    source_url = _SOURCE
    tags = _POLICY_TAGS
    kind = ProblemKind.SNAPSHOT_POLICY


class RetainPolicy(_ProblemRule):
    id = "W9506"
    shortdesc = "No Retain DeletionPolicy on Custom::AuroraExpress"
    description = (
        "With DeletionPolicy or UpdateReplacePolicy Retain CloudFormation never tells the "
        "provider, so OnDelete is bypassed and the cluster keeps running with ownership tags "
        "naming a stack that is gone; OnDelete: Retain is the supported way."
    )
    source_url = _SOURCE
    tags = _POLICY_TAGS
    kind = ProblemKind.RETAIN_POLICY


class IneffectiveExpiry(_ProblemRule):
    id = "W9507"
    shortdesc = "ExpiresAfter on a Custom::AuroraExpress the reaper can delete"
    description = (
        "The reaper respects DeletionProtection and OnDelete: Retain, so a cluster with either "
        "and ExpiresAfter is only ever reported as expired, never deleted."
    )
    source_url = _SOURCE
    tags = _TAGS
    kind = ProblemKind.INEFFECTIVE_EXPIRY
