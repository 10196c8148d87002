"""One reaper run: list, look up, judge (``classify``), act, and say what was found.

The clusters come from one listing of the region; each owning stack is
looked up once. Armed, an expired or orphaned cluster, or one whose deletion
did not finish, is deleted by the provider's own Delete (``lifecycle.delete``:
instances first, the final snapshot of ``OnDelete: Snapshot``, deletion
protection respected, the ownership tags checked again just before), started
and not waited for, as ``WaitForDeletion: false`` does (the deletion is
marked): RDS takes minutes, and the next run finds it ``deleting`` or gone.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from provider.cluster import lifecycle
from provider.cluster.inventory import Inventory
from provider.cluster.plan import ClusterState
from provider.cluster.rds import ClusterApi
from provider.common.deadline import Deadline
from provider.common.errors import ProviderError
from provider.reaper.classify import (
    ON_DELETE_TAG,
    Action,
    Category,
    Owner,
    StackLookup,
    Verdict,
    judge,
    owner_of,
    same_home,
)
from provider.reaper.settings import ReaperSettings

Deleter = Callable[[ClusterState, Owner], None]


class Stacks(Protocol):
    def lookup(self, stack_id: str) -> StackLookup: ...

    def proves(self, stack_id: str, logical_id: str, cluster: str) -> bool: ...


@dataclass(frozen=True)
class Settings:
    """Where the reaper runs and whether it may delete."""

    armed: bool
    region: str
    account: str

    @classmethod
    def for_function(cls, function_arn: str, reaper: ReaperSettings) -> Settings:
        """From the function's ARN (region, account) and its settings (``REAPER_ARMED``)."""
        parts = function_arn.split(":")
        return cls(
            armed=reaper.armed,
            region=parts[3] if len(parts) > 4 else reaper.region,
            account=parts[4] if len(parts) > 4 else "",
        )


@dataclass
class Report:
    """What one run found: a verdict per owned cluster, and how many it left alone."""

    armed: bool
    verdicts: list[Verdict] = field(default_factory=list)
    foreign: int = 0  # clusters without the ownership tags: never touched

    def counts(self) -> dict[str, int]:
        found = Counter(v.category.value for v in self.verdicts)
        return {c.value: found.get(c.value, 0) for c in Category}

    def actions(self) -> dict[str, int]:
        return dict(Counter(v.action.value for v in self.verdicts))

    def summary(self) -> dict[str, Any]:
        return {
            "mode": "armed" if self.armed else "report-only",
            "owned": len(self.verdicts),
            "foreign": self.foreign,
            **self.counts(),
            "actions": self.actions(),
        }


def provider_delete(api: ClusterApi, now: float) -> Deleter:
    """Start the provider's own Delete of an owned cluster, as its owning resource would.

    The request is the one CloudFormation would send for that stack and
    logical id, with no time to wait: ``lifecycle.delete`` starts the
    deletions and returns.
    """

    def start(state: ClusterState, owner: Owner) -> None:
        request = lifecycle.Request(
            request_type="Delete",
            stack_id=owner.stack_id,
            logical_id=owner.logical_id,
            request_id=f"aurora-express-reaper-{uuid.uuid4()}",
            physical_id=state.identifier,
            # Not waiting, as a stack Delete with WaitForDeletion false: the deletion is
            # marked, so a later run finds it again if it never finishes.
            raw_properties={
                "OnDelete": state.tags.get(ON_DELETE_TAG, "Delete"),
                "WaitForDeletion": "false",
            },
            raw_old_properties=None,
            is_poll=False,
            started_at=now,
            deadline=Deadline.after(0),
            give_up_at=now + lifecycle.CLOUDFORMATION_TIMEOUT,
        )
        lifecycle.delete(request, api)

    return start


def run(
    inventory: Inventory,
    stacks: Stacks,
    delete: Deleter,
    *,
    settings: Settings,
    now: datetime,
) -> Report:
    """Judge every owned cluster in the region; delete the doomed ones when armed."""
    report = Report(armed=settings.armed)
    for state in inventory.all_clusters():
        owner = owner_of(state)
        if owner is None:
            report.foreign += 1
            continue
        if same_home(owner.stack_id, settings.region, settings.account):
            stack = stacks.lookup(owner.stack_id)
        else:
            stack = StackLookup(exists=None, detail="stack in another region or account")
        verdict = judge(state, owner, stack, now, armed=settings.armed)
        doomed = verdict.action in (Action.DELETE, Action.WOULD_DELETE)
        if doomed and not stacks.proves(owner.stack_id, owner.logical_id, state.identifier):
            verdict = dataclasses.replace(
                verdict,
                action=Action.UNPROVEN,
                reason=f"{verdict.reason}; its stack's record does not show the provider made it",
            )
        if verdict.action is Action.DELETE:
            try:
                delete(state, owner)
            except ProviderError as exc:
                verdict = dataclasses.replace(verdict, action=Action.FAILED, reason=exc.reason)
        report.verdicts.append(verdict)
    return report
