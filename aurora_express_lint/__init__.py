"""cfn-lint rules for templates that use the provider's custom resource types.

``cfn-lint --append-rules aurora_express_lint template.yaml``; the rules are
listed in ``aurora_express_lint.rules``.
"""

from __future__ import annotations

from aurora_express_lint.rules import (
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
