"""The one network call that answers CloudFormation: PUT to the presigned ResponseURL.

Bounded, unlike crhelper's own sender (which retries forever): a few attempts
with jittered backoff inside a total deadline, then the failure is logged and
the invocation ends. The URL carries a signature, so it is never logged.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

import stamina

logger = logging.getLogger(__name__)

ATTEMPTS = 5
TOTAL_SECONDS = 20.0
REQUEST_TIMEOUT = 5.0


class ResponseNotDelivered(Exception):
    """The response could not be PUT; CloudFormation will time the request out."""


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code == 429
    return isinstance(exc, OSError)


@stamina.retry(
    on=_retryable, attempts=ATTEMPTS, timeout=TOTAL_SECONDS, wait_initial=0.2, wait_max=2.0
)
def _put(url: str, data: bytes) -> int:
    # CloudFormation's presigned URL is signed with an empty content type.
    request = urllib.request.Request(  # noqa: S310 (scheme checked in put_response)
        url, data=data, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(data))}
    )
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
        return int(response.status)


def put_response(url: str, body: dict[str, Any]) -> None:
    """PUT ``body`` as JSON to ``url``; raise ``ResponseNotDelivered`` after the bound."""
    if not url.startswith(("https://", "http://")):
        raise ResponseNotDelivered("the event's ResponseURL is not an http(s) URL")
    data = json.dumps(body).encode()
    try:
        status = _put(url, data)
    except (OSError, urllib.error.HTTPError) as exc:
        raise ResponseNotDelivered(f"PUT to the ResponseURL failed: {type(exc).__name__}") from exc
    logger.info(
        "Answered CloudFormation",
        extra={"status": body.get("Status"), "http_status": status, "bytes": len(data)},
    )
