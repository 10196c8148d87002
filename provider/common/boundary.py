"""The one place an exception becomes ``FAILED``, and the physical id a failed request keeps.

Both entry wrappers of a Lambda go through here: ``CustomResource`` (a
CloudFormation request) and ``direct_invocation`` (a CI job's JSON call).

Physical ids of failed requests, as the CDK provider framework's
``safeHandler`` decides them:

- Update and Delete answer with the event's ``PhysicalResourceId``:
  CloudFormation keeps the resource it knows (a failed replacement is cleaned
  up by the handler, not renamed here).
- A failed Create answers with the id of what it created and owns, if
  anything (so the rollback's Delete removes it); otherwise with a marker that
  names no resource, whose Delete is a no-op.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from provider.common.errors import ProviderError
from provider.common.redaction import redact
from provider.common.responses import shorten

logger = logging.getLogger(__name__)

CREATE_FAILED_PREFIX = "aurora-express:create-failed:"
INTERNAL_REASON = "Internal error ({name}) in the provider; its CloudWatch log has the details."

# What a failed Create left behind that its resource owns (a physical id), or None.
CreatedBy = Callable[[dict[str, Any], Any], str | None]


def create_failed_id(request_id: str) -> str:
    """The physical id of a Create that failed before creating anything."""
    return f"{CREATE_FAILED_PREFIX}{request_id}"


def is_create_failed_id(physical_id: str) -> bool:
    return physical_id.startswith(CREATE_FAILED_PREFIX)


def failure_reason(exc: BaseException) -> str:
    """A person's reason: a ``ProviderError``'s own, else a generic one (traceback logged)."""
    if isinstance(exc, ProviderError):
        logger.warning("Request failed: %s", exc.reason)
        return exc.reason
    logger.error("Unexpected error", exc_info=exc)
    return INTERNAL_REASON.format(name=type(exc).__name__)


def failed_physical_id(
    event: dict[str, Any], context: Any = None, created_by: CreatedBy | None = None
) -> str:
    """The physical id a failed request answers with (rules in the module docstring)."""
    if event.get("RequestType") != "Create":
        return str(event.get("PhysicalResourceId") or event.get("LogicalResourceId") or "none")
    created = None
    if created_by is not None:
        try:
            created = created_by(event, context)
        except Exception as exc:  # answering matters more than this look-up
            logger.warning("Could not tell what the failed Create left behind: %s", exc)
    return created or create_failed_id(str(event.get("RequestId") or "unknown"))


DirectHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def direct_invocation(func: DirectHandler) -> DirectHandler:
    """Wrap a direct (non-CloudFormation) entry: its JSON on success, a FAILED JSON on any error.

    ``Action`` is echoed; the reason is redacted and kept short, as a
    CloudFormation reason is.
    """

    @functools.wraps(func)
    def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
        action = str(event.get("Action", "")).lower()
        try:
            body = func(event, context)
        except Exception as exc:
            reason = shorten(redact(failure_reason(exc)))
            return {"Action": action, "Status": "FAILED", "Reason": reason}
        return {"Action": action, "Status": "SUCCESS", **body}

    return wrapper
