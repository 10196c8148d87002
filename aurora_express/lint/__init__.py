"""cfn-lint rules for templates that use the provider's custom resource types.

``cfn-lint --append-rules aurora_express.lint template.yaml``; the rules are
listed in ``aurora_express.lint.rules``.
"""

from __future__ import annotations

from importlib.util import find_spec

# cfn-lint finds the rules among this package's members. The checks they run
# (_checks, _kinds) are pure and also serve aurora_express.cdk, which must not
# need cfn-lint (the [lint] extra): the rule classes are here where cfn-lint is.
if find_spec("cfnlint") is not None:
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
