"""Pure rules for the body PUT to CloudFormation's ResponseURL."""

from __future__ import annotations

import json
from typing import Any

MAX_REASON = 240  # crhelper keeps only a reason's tail past 256; ours stay whole
MAX_BODY_BYTES = 4096  # CloudFormation refuses a larger response


def shorten(reason: str, limit: int = MAX_REASON) -> str:
    """One line, at most ``limit`` characters, cut at the end with an ellipsis."""
    flat = " ".join(reason.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def fit(body: dict[str, Any]) -> dict[str, Any]:
    """The body with a short reason, turned into FAILED if it would exceed 4096 bytes."""
    fitted = dict(body, Reason=shorten(str(body.get("Reason") or "")))
    if len(json.dumps(fitted).encode()) <= MAX_BODY_BYTES:
        return fitted
    return dict(
        fitted,
        Status="FAILED",
        Data={},
        Reason=shorten(
            f"The response's attributes exceed CloudFormation's {MAX_BODY_BYTES}-byte limit."
        ),
    )
