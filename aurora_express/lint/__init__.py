"""cfn-lint rules for templates that use the provider's custom resource types.

``cfn-lint --append-rules aurora_express.lint template.yaml``; the rules are
listed in ``aurora_express.lint.rules``.
"""

from __future__ import annotations

from aurora_express.lint.rules import (
    IneffectiveExpiry,
    InvalidValue,
    MissingServiceToken,
    RetainPolicy,
    SnapshotPolicy,
    UnknownAttribute,
    UnknownProperty,
)

__all__ = [
    "IneffectiveExpiry",
    "InvalidValue",
    "MissingServiceToken",
    "RetainPolicy",
    "SnapshotPolicy",
    "UnknownAttribute",
    "UnknownProperty",
]
