"""Cluster identifiers: normalization, derivation, ownership tags.

RDS identifiers are lowercase letters, digits and single hyphens, start with a
letter and do not end with a hyphen. Ours are kept to 52 characters so the
writer instance express configuration creates beside the cluster,
``<cluster-id>-instance-1``, fits RDS's 63. A name cut to fit ends with a
short hash of the whole name, so two long names that share a prefix stay
distinct.
"""

from __future__ import annotations

import hashlib
import re

from provider.common import ownership

MAX_LENGTH = 52
HASH_LENGTH = 6
WRITER_SUFFIX = "-instance-1"

OWNER_STACK_TAG = ownership.STACK_TAG
OWNER_LOGICAL_TAG = ownership.LOGICAL_TAG
EXPIRES_AT_TAG = "aurora-express:expires-at"
# OnDelete travels with the cluster, so the reaper honours Retain once the stack is gone.
ON_DELETE_TAG = "aurora-express:on-delete"
RESERVED_TAG_PREFIX = "aurora-express:"
# A restored cluster: what it was restored from (the RestoredFrom attribute), written at the
# restore; and that its master user was switched to IAM auth, a step DescribeDBClusters
# does not show, recorded so that a later poll does not repeat it.
RESTORED_FROM_TAG = "aurora-express:restored-from"
MASTER_AUTH_TAG = "aurora-express:master-auth"
# When a Delete that does not wait (WaitForDeletion: false) asked RDS to delete the cluster:
# the reaper's clue to a deletion that never finished.
DELETE_REQUESTED_TAG = "aurora-express:delete-requested-at"
MAX_TAGS = 50  # RDS's limit per resource

# A physical id given to a Create that failed before any cluster existed: the
# colons make it an invalid RDS identifier, so its later Delete is a no-op.
_VALID = re.compile(r"^[a-z](?:-?[a-z0-9])*$")


def short_hash(text: str, length: int = HASH_LENGTH) -> str:
    """A stable lowercase hex digest prefix of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _clean(name: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", name.lower())
    text = re.sub(r"^[^a-z]+", "", text)  # must start with a letter
    return text.rstrip("-")


def _fit(text: str, limit: int, hash_source: str) -> str:
    if len(text) <= limit:
        return text
    head = text[: limit - HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{short_hash(hash_source)}"


def normalize(name: str, limit: int = MAX_LENGTH) -> str:
    """``name`` as a valid RDS identifier of at most ``limit`` characters, or ``""``.

    ``feature/ABC-123_Login`` becomes ``feature-abc-123-login``; an empty result
    means the name holds no letter to start with.
    """
    text = _clean(name)
    return _fit(text, limit, text) if text else ""


def derive(stack_name: str, logical_id: str, request_id: str) -> str:
    """The identifier of a cluster whose template names none.

    Built from the stack name and logical id (readable in the console) and a
    hash of the request id: a redelivered request derives the same identifier
    (and adopts its cluster), a replacement (a new request) a new one.
    """
    suffix = short_hash(request_id)
    base = _clean(f"{stack_name}-{logical_id}") or "aurora-express"
    base = _fit(base, MAX_LENGTH - HASH_LENGTH - 1, base)
    return f"{base}-{suffix}"


def is_valid(identifier: str) -> bool:
    """Whether RDS could hold a cluster named ``identifier`` (a physical id check)."""
    return 0 < len(identifier) <= 63 and bool(_VALID.match(identifier))


def writer_instance(cluster_id: str) -> str:
    """The writer instance express configuration creates with the cluster."""
    return f"{cluster_id}{WRITER_SUFFIX}"


def stack_name(stack_id: str) -> str:
    """The stack name inside a CloudFormation stack ARN (the id itself if not an ARN)."""
    parts = stack_id.split("/")
    return parts[1] if len(parts) >= 3 else stack_id


def ownership_tags(stack_id: str, logical_id: str) -> dict[str, str]:
    """The tags that mark a cluster as this stack's resource ``logical_id``."""
    return {OWNER_STACK_TAG: stack_id, OWNER_LOGICAL_TAG: logical_id}


def is_owned(tags: dict[str, str], stack_id: str, logical_id: str) -> bool:
    """Whether ``tags`` name this stack and logical id as the cluster's owner."""
    return tags.get(OWNER_STACK_TAG) == stack_id and tags.get(OWNER_LOGICAL_TAG) == logical_id
