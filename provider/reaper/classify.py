"""Pure decisions of the reaper: which owned cluster is expired, orphaned or kept, and what to do.

A cluster is the provider's only when it carries both ownership tags
(``aurora-express:stack-id`` and ``:logical-id``); the reaper never looks
further at any other. An owned cluster is

- an **orphan** when the stack its tags name no longer exists or is
  ``DELETE_COMPLETE`` (a stack deleted with ``DeletionPolicy: Retain``, or a
  Delete that failed);
- **expired** when its ``aurora-express:expires-at`` tag (``ExpiresAfter``)
  is in the past;
- **kept** otherwise, and whenever the facts are uncertain: a stack lookup
  that failed, a stack in another region or account, a stack in the middle
  of an operation (an Update renews ``expires-at``), an unreadable
  ``expires-at``. Deleting a database on a guess is the one mistake the
  reaper must never make.

Orphan wins over expired when both hold (the stack's absence says more).

An owned cluster whose deletion was asked for (the
``aurora-express:delete-requested-at`` mark of a Delete that did not wait,
``WaitForDeletion: false``, or of the reaper's own) and did not finish is an
**unfinished deletion**, whatever its stack: still ``deleting`` more than an
hour after the mark (reported: RDS takes no second delete then), or back to
``available`` or ``failed`` (any status but ``deleting``) more than a grace
period after it (deleted again when armed). Its owner already chose to delete
it, so this check comes first.

Tags are not proof: anyone may write them. Before deleting, the reaper asks
CloudFormation's own record (``Stacks.proves``): the owning stack, deleted or
not, must list the cluster as the physical id of a ``Custom::AuroraExpress``
resource under that logical id. A cluster it cannot prove is reported
(``unproven``), never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from provider.cluster import naming, plan
from provider.cluster.plan import ClusterState

# OnDelete as the provider records it on the cluster; absent means Delete.
ON_DELETE_TAG = naming.ON_DELETE_TAG
DELETE_COMPLETE = "DELETE_COMPLETE"
DELETE_REQUESTED_TAG = naming.DELETE_REQUESTED_TAG
# Express deletes take 5 to 11 minutes: an hour later one still going is stuck.
STUCK_AFTER = timedelta(hours=1)
# The mark is written just before DeleteDBCluster, and RDS may refuse a busy cluster for
# a while: no second delete within this time of the mark.
RETRY_AFTER = timedelta(minutes=15)


class Category(StrEnum):
    EXPIRED = "expired"
    ORPHAN = "orphan"
    UNFINISHED = "unfinished-deletion"
    KEEP = "keep"


class Action(StrEnum):
    NONE = "none"  # kept
    DELETE = "delete"  # armed: the provider's Delete was started
    WOULD_DELETE = "would-delete"  # report-only: what an armed run would do
    RETAIN = "retain"  # OnDelete: Retain
    PROTECTED = "protected"  # DeletionProtection is on
    DELETING = "deleting"  # already on its way out
    STUCK = "stuck-deleting"  # deleting far longer than RDS takes: reported, for a person
    FAILED = "delete-failed"  # armed, but the Delete was refused (the reason says why)
    # Doomed, but CloudFormation's record does not show that the provider made it (tags
    # anyone may write are not proof): reported, never deleted.
    UNPROVEN = "unproven"


@dataclass(frozen=True)
class Owner:
    stack_id: str
    logical_id: str


@dataclass(frozen=True)
class StackLookup:
    """What CloudFormation said of the owning stack: ``exists`` is None when unknown."""

    exists: bool | None
    status: str = ""
    detail: str = ""


GONE = StackLookup(exists=False, detail="does not exist")


@dataclass(frozen=True)
class Verdict:
    """The reaper's decision on one owned cluster, as logged and counted."""

    cluster: str
    category: Category
    action: Action
    reason: str
    owner: Owner
    stack_status: str
    expires_at: str | None
    on_delete: str


def owner_of(state: ClusterState) -> Owner | None:
    """The stack and logical id the ownership tags name, or None for a foreign cluster."""
    stack_id = state.tags.get(naming.OWNER_STACK_TAG, "")
    logical_id = state.tags.get(naming.OWNER_LOGICAL_TAG, "")
    return Owner(stack_id, logical_id) if stack_id and logical_id else None


def parse_expiry(text: str) -> datetime | None:
    """The ``expires-at`` tag (``2026-11-29T05:52:51Z``) as an aware datetime, or None."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def same_home(stack_id: str, region: str, account: str) -> bool:
    """Whether a stack ARN is in this region and account (else its lookup proves nothing)."""
    parts = stack_id.split(":")
    return len(parts) > 5 and parts[2] == "cloudformation" and parts[3:5] == [region, account]


def unfinished_deletion(state: ClusterState, now: datetime) -> str | None:
    """Why the cluster's requested deletion counts as unfinished, or None (see the docstring)."""
    text = state.tags.get(DELETE_REQUESTED_TAG)
    requested = parse_expiry(text) if text is not None else None
    if requested is None:
        return None
    minutes = int((now - requested).total_seconds() // 60)
    if state.status == plan.DELETING:
        if now - requested <= STUCK_AFTER:
            return None
        return f"still deleting {minutes} min after its deletion was requested at {text}"
    if now - requested <= RETRY_AFTER:
        return None
    return (
        f"its deletion, requested at {text} ({minutes} min ago), did not finish: "
        f"it is {state.status}"
    )


def categorize(state: ClusterState, stack: StackLookup, now: datetime) -> tuple[Category, str]:
    """(category, reason) for an owned cluster, given its stack lookup and the time."""
    unfinished = unfinished_deletion(state, now)
    if unfinished is not None:
        return Category.UNFINISHED, unfinished
    return _by_stack_and_expiry(state, stack, now)


def _by_stack_and_expiry(
    state: ClusterState, stack: StackLookup, now: datetime
) -> tuple[Category, str]:
    if stack.exists is False or stack.status == DELETE_COMPLETE:
        return Category.ORPHAN, (
            f"its stack is {stack.status}" if stack.status else f"its stack {stack.detail}"
        )
    if stack.status.endswith("_IN_PROGRESS"):
        return Category.KEEP, f"its stack is {stack.status} (it may be renewing the cluster)"
    expires_text = state.tags.get(naming.EXPIRES_AT_TAG)
    if expires_text is not None:
        expires = parse_expiry(expires_text)
        if expires is None:
            return Category.KEEP, f"its expires-at tag {expires_text!r} is unreadable"
        if expires <= now:
            return Category.EXPIRED, f"expired at {expires_text}"
    if stack.exists is None:
        return Category.KEEP, f"its stack could not be checked ({stack.detail})"
    return Category.KEEP, f"its stack is {stack.status}" + (
        f", expires at {expires_text}" if expires_text else ""
    )


def action_for(category: Category, state: ClusterState, armed: bool) -> Action:
    """What to do: the provider's own Delete rules (OnDelete, deletion protection) apply."""
    if category is Category.KEEP:
        return Action.NONE
    if category is Category.UNFINISHED and state.status == plan.DELETING:
        return Action.STUCK
    if state.status == plan.DELETING:
        return Action.DELETING
    if state.tags.get(ON_DELETE_TAG) == "Retain":
        return Action.RETAIN
    if state.deletion_protection:
        return Action.PROTECTED
    return Action.DELETE if armed else Action.WOULD_DELETE


def judge(
    state: ClusterState, owner: Owner, stack: StackLookup, now: datetime, *, armed: bool
) -> Verdict:
    """The verdict on one owned cluster."""
    category, reason = categorize(state, stack, now)
    return Verdict(
        cluster=state.identifier,
        category=category,
        action=action_for(category, state, armed),
        reason=reason,
        owner=owner,
        stack_status=stack.status or stack.detail,
        expires_at=state.tags.get(naming.EXPIRES_AT_TAG),
        on_delete=state.tags.get(ON_DELETE_TAG, "Delete"),
    )
