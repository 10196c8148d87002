"""What CloudFormation makes of template values before a custom resource sees them."""

from __future__ import annotations

from typing import Any


def stringify(value: Any) -> Any:
    """What CloudFormation makes of a template value: every scalar a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return {k: stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stringify(v) for v in value]
    if value is None:
        return value
    return str(value)
