"""Pure rules for the body PUT to CloudFormation's ResponseURL."""

from __future__ import annotations

import json
from typing import Any

from provider.common.redaction import redact

MAX_REASON = 240  # crhelper keeps only a reason's tail past 256; ours stay whole
MAX_BODY_BYTES = 4096  # CloudFormation refuses a larger response
# Echoed from the request; cut only when they alone would break the limit (see ``fit``).
_ECHOED = ("PhysicalResourceId", "StackId", "LogicalResourceId", "RequestId")


def shorten(reason: str, limit: int = MAX_REASON) -> str:
    """One line, at most ``limit`` characters, cut at the end with an ellipsis."""
    flat = " ".join(reason.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _size(body: dict[str, Any]) -> int:
    return len(json.dumps(body).encode())


def fit(body: dict[str, Any]) -> dict[str, Any]:
    """The body with a short, redacted reason; FAILED if it would exceed 4096 bytes.

    The reason is redacted like a log line: it is shown to anyone who can read
    the stack's events, and may quote a value or a server's message. A body
    over the limit loses its attributes and becomes FAILED. Should the ids
    echoed from the request alone break the limit (no request CloudFormation
    sends does), the longest are cut, so the answer still is well-formed.
    """
    fitted = dict(body, Reason=shorten(redact(str(body.get("Reason") or ""))))
    if _size(fitted) <= MAX_BODY_BYTES:
        return fitted
    failed = dict(
        fitted,
        Status="FAILED",
        Data={},
        Reason=shorten(
            f"The response's attributes exceed CloudFormation's {MAX_BODY_BYTES}-byte limit."
        ),
    )
    while _size(failed) > MAX_BODY_BYTES:
        longest = max(_ECHOED, key=lambda key: len(json.dumps(failed.get(key) or "")))
        value = str(failed.get(longest) or "")
        failed[longest] = value[: len(value) // 2]
    return failed
