"""The reaper's pure decisions (provider/reaper/classify.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from provider.cluster import naming
from provider.cluster.plan import ClusterState
from provider.reaper.classify import (
    GONE,
    ON_DELETE_TAG,
    Action,
    Category,
    StackLookup,
    action_for,
    categorize,
    owner_of,
    parse_expiry,
    same_home,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1"
LIVE = StackLookup(exists=True, status="UPDATE_COMPLETE")


def state(status: str = "available", protected: bool = False, **tags: str) -> ClusterState:
    owned = {naming.OWNER_STACK_TAG: STACK, naming.OWNER_LOGICAL_TAG: "Db"}
    extra = {k.replace("_", "-"): v for k, v in tags.items()}
    return ClusterState(
        identifier="db", status=status, deletion_protection=protected, tags=owned | extra
    )


def expiring(at: str, **kw: str) -> ClusterState:
    base = state()
    return ClusterState(
        identifier="db", status="available", tags={**base.tags, naming.EXPIRES_AT_TAG: at, **kw}
    )


def test_a_cluster_needs_both_ownership_tags_to_have_an_owner() -> None:
    only_stack = ClusterState(
        identifier="x", status="available", tags={naming.OWNER_STACK_TAG: STACK}
    )
    assert owner_of(only_stack) is None
    assert owner_of(state()) is not None


def test_a_gone_stack_makes_an_orphan() -> None:
    assert categorize(state(), GONE, NOW)[0] is Category.ORPHAN


def test_a_delete_complete_stack_makes_an_orphan() -> None:
    deleted = StackLookup(exists=True, status="DELETE_COMPLETE")
    assert categorize(state(), deleted, NOW)[0] is Category.ORPHAN


def test_a_past_expiry_makes_a_cluster_expired() -> None:
    assert categorize(expiring("2026-11-26T11:59:59Z"), LIVE, NOW)[0] is Category.EXPIRED


def test_a_future_expiry_keeps_the_cluster() -> None:
    assert categorize(expiring("2026-11-26T12:00:01Z"), LIVE, NOW)[0] is Category.KEEP


def test_orphan_wins_over_expired() -> None:
    assert categorize(expiring("2026-01-01T00:00:00Z"), GONE, NOW)[0] is Category.ORPHAN


def test_an_unreadable_expiry_keeps_the_cluster() -> None:
    category, reason = categorize(expiring("next tuesday"), LIVE, NOW)
    assert category is Category.KEEP and "unreadable" in reason


def test_a_stack_in_the_middle_of_an_update_keeps_an_expired_cluster() -> None:
    """The Update may be renewing expires-at right now."""
    updating = StackLookup(exists=True, status="UPDATE_IN_PROGRESS")
    assert categorize(expiring("2026-01-01T00:00:00Z"), updating, NOW)[0] is Category.KEEP


def test_a_failed_stack_lookup_keeps_the_cluster() -> None:
    unknown = StackLookup(exists=None, detail="DescribeStacks failed with AccessDenied")
    assert categorize(state(), unknown, NOW)[0] is Category.KEEP


def test_only_stacks_of_this_region_and_account_are_looked_up() -> None:
    assert same_home(STACK, "us-east-1", "123456789012")
    assert not same_home(STACK.replace("us-east-1", "eu-west-1"), "us-east-1", "123456789012")
    assert not same_home(STACK, "us-east-1", "999999999999")


def test_expiry_without_a_zone_is_read_as_utc() -> None:
    assert parse_expiry("2026-11-26T12:00:00") == NOW


def test_report_only_would_delete() -> None:
    assert action_for(Category.EXPIRED, state(), armed=False) is Action.WOULD_DELETE


def test_armed_deletes() -> None:
    assert action_for(Category.ORPHAN, state(), armed=True) is Action.DELETE


def test_a_kept_cluster_is_left_alone_even_armed() -> None:
    assert action_for(Category.KEEP, state(), armed=True) is Action.NONE


def test_deletion_protection_is_respected() -> None:
    assert action_for(Category.ORPHAN, state(protected=True), armed=True) is Action.PROTECTED


def test_on_delete_retain_is_respected() -> None:
    retained = ClusterState(
        identifier="db", status="available", tags={**state().tags, ON_DELETE_TAG: "Retain"}
    )
    assert action_for(Category.ORPHAN, retained, armed=True) is Action.RETAIN


def test_a_cluster_already_deleting_is_not_deleted_again() -> None:
    assert action_for(Category.ORPHAN, state(status="deleting"), armed=True) is Action.DELETING
