"""The presigned ResponseURL, sealed while a request waits in crhelper's polls.

crhelper schedules a poll by writing the whole event into the EventBridge
target's ``Input``, where anyone allowed ``events:ListTargetsByRule`` (or
``DescribeRule`` tooling, CloudTrail's record of ``PutTargets``) reads it; the
presigned ResponseURL in it lets its reader answer CloudFormation in the
provider's place. So the Input carries no ``ResponseURL``: it carries
``AuroraExpressSealedResponseURL``, the URL encrypted with KMS under the
provider's key (``AURORA_EXPRESS_POLL_KEY_ARN``, which only the provider's
functions may use), with an EncryptionContext of the request's StackId,
RequestId and LogicalResourceId. Each poll decrypts it under the context of
the event it arrives in, so a sealed URL moved into another request's event
does not open, and a changed byte does not either.

A poll that does not open is refused (``Refusal``); the refusal says whether
a later poll of the same rule could open (``lasting``): only KMS's passing
faults (throttling, its internal errors, the network) may clear, so a rule
refused for any other reason will be refused every minute it fires.

The decisions are pure (``poll_problem``, ``poll_input``, ``context_of``,
``passing``); ``seal`` and ``unseal`` make the one KMS call each.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from provider.common.errors import ProviderError

SEALED_KEY = "AuroraExpressSealedResponseURL"
KEY_VARIABLE = "AURORA_EXPRESS_POLL_KEY_ARN"
# The EncryptionContext: the request a sealed URL belongs to (the template's key
# policy and IAM statements require exactly these keys).
CONTEXT_KEYS = ("StackId", "RequestId", "LogicalResourceId")
_KMS_PLAINTEXT_LIMIT = 4096  # bytes, KMS Encrypt's
# KMS errors that may clear by the next poll (KMS's and botocore's throttling and
# server-side codes); any other refusal is the same every time the rule fires.
_PASSING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "KMSInternalException",
        "DependencyTimeoutException",
        "KeyUnavailableException",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


class SealError(ProviderError):
    """The ResponseURL could not be sealed, so the request cannot be handed to a poll."""


@dataclass(frozen=True)
class Refusal:
    """Why a poll's sealed URL did not open, and whether it never will (``lasting``)."""

    reason: str
    lasting: bool = True


def passing(exc: Exception) -> bool:
    """Whether KMS's ``exc`` may clear by the next poll: a throttle, a KMS-side fault, the
    network. A request botocore refused to send (``ParamValidationError``) is refused
    the same way every time."""
    if isinstance(exc, ParamValidationError):
        return False
    if isinstance(exc, BotoCoreError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return _what(exc) in _PASSING_CODES or (isinstance(status, int) and status >= 500)
    return False


def key_id(environ: Mapping[str, str] | None = None) -> str:
    """The provider's poll key (an ARN of the key or of its alias), from the environment."""
    value = (os.environ if environ is None else environ).get(KEY_VARIABLE, "").strip()
    if not value:
        raise SealError(
            f"The provider's environment variable {KEY_VARIABLE} is not set: the request "
            "cannot be handed to a scheduled poll without a key to seal its ResponseURL."
        )
    return value


def context_of(event: Mapping[str, Any]) -> dict[str, str]:
    """The EncryptionContext binding a sealed URL to ``event``'s request."""
    return {key: str(event.get(key, "")) for key in CONTEXT_KEYS}


def poll_input(event: Mapping[str, Any], sealed: str) -> dict[str, Any]:
    """What the poll rule's target carries: ``event`` with its ResponseURL sealed."""
    scheduled = {k: v for k, v in event.items() if k != "ResponseURL"}
    scheduled[SEALED_KEY] = sealed
    return scheduled


def poll_problem(event: Mapping[str, Any]) -> str | None:
    """Why ``event``, a poll, is no poll this provider scheduled (before any decryption)."""
    if "ResponseURL" in event:
        return "a poll event carries a plain ResponseURL; the provider's polls carry it sealed"
    sealed = event.get(SEALED_KEY)
    if not isinstance(sealed, str) or not sealed:
        return f"a poll event has no {SEALED_KEY}"
    return None


def seal(kms: Any, event: Mapping[str, Any], url: str, key: str) -> str:
    """``url`` encrypted under ``key``, bound to ``event``'s request; base64 text."""
    plaintext = url.encode()
    if len(plaintext) > _KMS_PLAINTEXT_LIMIT:
        raise SealError(
            f"The ResponseURL is {len(plaintext)} bytes, over the {_KMS_PLAINTEXT_LIMIT} "
            "KMS can seal: the request cannot be handed to a scheduled poll."
        )
    try:
        response = kms.encrypt(KeyId=key, Plaintext=plaintext, EncryptionContext=context_of(event))
    except (ClientError, BotoCoreError) as exc:
        raise SealError(
            f"KMS could not seal the ResponseURL with {KEY_VARIABLE} ({_what(exc)}): the "
            "request cannot be handed to a scheduled poll."
        ) from exc
    return base64.b64encode(response["CiphertextBlob"]).decode("ascii")


def unseal(kms: Any, event: Mapping[str, Any], key: str) -> str | Refusal:
    """The ResponseURL, or why it does not open under ``event``'s own request."""
    problem = poll_problem(event)
    if problem:
        return Refusal(problem)
    try:
        blob = base64.b64decode(str(event[SEALED_KEY]), validate=True)
    except (binascii.Error, ValueError):
        return Refusal(f"{SEALED_KEY} is not base64")
    try:
        response = kms.decrypt(CiphertextBlob=blob, KeyId=key, EncryptionContext=context_of(event))
    except (ClientError, BotoCoreError) as exc:
        if passing(exc):
            return Refusal(f"KMS could not open {SEALED_KEY} ({_what(exc)})", lasting=False)
        # InvalidCiphertextException: sealed for another request, or altered.
        return Refusal(f"{SEALED_KEY} does not open for this request ({_what(exc)})")
    try:
        return bytes(response["Plaintext"]).decode()
    except UnicodeDecodeError:
        return Refusal(f"{SEALED_KEY} does not hold a URL")


def _what(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "an error")
    return type(exc).__name__
