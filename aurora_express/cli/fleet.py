"""``aurora-express ls``: every cluster the provider owns in a region, oldest first.

The same reading as the reaper's: one listing of the region's clusters
(``ClusterApi.all_clusters``), the ownership tags (``classify.owner_of``),
each owning stack looked up once (``StackDirectory``; only a stack in this
region and account can be looked up, ``classify.same_home``), and the
reaper's own verdict (``classify.categorize``) on each, so ``ls`` and the
reaper never disagree about what "its stack still exists" means.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import boto3
import botocore.exceptions

from aurora_express.cli.errors import CliError
from provider.cluster import naming
from provider.cluster import rds as cluster_rds
from provider.cluster.plan import ClusterState
from provider.cluster.rds import ClusterApi, RdsError
from provider.reaper import stacks
from provider.reaper.classify import (
    DELETE_COMPLETE,
    ON_DELETE_TAG,
    StackLookup,
    categorize,
    owner_of,
    same_home,
)

StackLookupFn = Callable[[str], StackLookup]


@dataclass(frozen=True)
class Entry:
    """One owned cluster, as ``ls`` shows it."""

    identifier: str
    stack_name: str
    stack_id: str
    logical_id: str
    status: str
    created_at: str | None  # ISO 8601, UTC
    age_seconds: float | None
    expires_at: str | None
    on_delete: str
    min_capacity: float | None
    max_capacity: float | None
    seconds_until_auto_pause: int | None
    stack_exists: bool | None  # None: could not be told
    stack_status: str
    reaper: str  # what the reaper makes of it: keep, expired, orphan
    reaper_reason: str


def stack_name(stack_id: str) -> str:
    """``arn:...:stack/NAME/uuid`` -> ``NAME`` (anything else as it is)."""
    parts = stack_id.split(":stack/", 1)
    return parts[1].split("/", 1)[0] if len(parts) == 2 else stack_id


def _number(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def entries(
    states: Iterable[ClusterState],
    lookup: StackLookupFn,
    *,
    region: str,
    account: str,
    now: datetime,
) -> list[Entry]:
    """The owned clusters among ``states``, judged as the reaper judges them, oldest first."""
    found: list[Entry] = []
    for state in states:
        owner = owner_of(state)
        if owner is None:
            continue
        if same_home(owner.stack_id, region, account):
            stack = lookup(owner.stack_id)
        else:
            stack = StackLookup(exists=None, detail="stack in another region or account")
        category, reason = categorize(state, stack, now)
        exists = False if stack.status == DELETE_COMPLETE else stack.exists
        created = (
            datetime.fromtimestamp(state.created_at, UTC) if state.created_at is not None else None
        )
        pause = state.scaling.get("SecondsUntilAutoPause")
        found.append(
            Entry(
                identifier=state.identifier,
                stack_name=stack_name(owner.stack_id),
                stack_id=owner.stack_id,
                logical_id=owner.logical_id,
                status=state.status,
                created_at=created.isoformat().replace("+00:00", "Z") if created else None,
                age_seconds=(now - created).total_seconds() if created else None,
                expires_at=state.tags.get(naming.EXPIRES_AT_TAG),
                on_delete=state.tags.get(ON_DELETE_TAG, "Delete"),
                min_capacity=_number(state.scaling.get("MinCapacity")),
                max_capacity=_number(state.scaling.get("MaxCapacity")),
                seconds_until_auto_pause=int(pause) if pause is not None else None,
                stack_exists=exists,
                stack_status=stack.status or stack.detail,
                reaper=category.value,
                reaper_reason=reason,
            )
        )
    # Oldest first; a cluster without a creation time last.
    return sorted(found, key=lambda e: (e.age_seconds is None, -(e.age_seconds or 0.0)))


def human_age(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3h 20m``, ``2d 4h``."""
    if seconds is None:
        return "?"
    s = max(0, int(seconds))
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{s}s"


def _capacity(entry: Entry) -> str:
    def acu(value: float | None) -> str:
        return "?" if value is None else f"{value:g}"

    text = f"{acu(entry.min_capacity)}-{acu(entry.max_capacity)} ACU"
    if entry.seconds_until_auto_pause is not None:
        text += f", pause {human_age(entry.seconds_until_auto_pause)}"
    return text


def _exists(entry: Entry) -> str:
    if entry.stack_exists is None:
        return f"unknown ({entry.stack_status})"
    return "yes" if entry.stack_exists else "no"


def table(rows: list[Entry]) -> str:
    """The entries as aligned columns, with a header."""
    header = (
        "CLUSTER",
        "STACK",
        "LOGICAL ID",
        "STATUS",
        "AGE",
        "EXPIRES AT",
        "ON DELETE",
        "CAPACITY",
        "STACK EXISTS",
        "REAPER",
    )
    lines = [header] + [
        (
            e.identifier,
            e.stack_name,
            e.logical_id,
            e.status,
            human_age(e.age_seconds),
            e.expires_at or "-",
            e.on_delete,
            _capacity(e),
            _exists(e),
            e.reaper,
        )
        for e in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )


def _account(session: boto3.session.Session) -> str:
    """This caller's account ("" when STS will not say: every stack is then unknown)."""
    try:
        return str(session.client("sts").get_caller_identity()["Account"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
        return ""


def run(args: argparse.Namespace) -> int:
    """Print the provider's clusters in the region (a table, or ``--json``); exit 0."""
    session = boto3.session.Session(region_name=args.region)
    region = session.region_name
    if not region:
        raise CliError("no AWS region: pass --region or set AWS_REGION")
    try:
        states = ClusterApi(cluster_rds.new_client(region)).all_clusters()
    except RdsError as exc:  # throttling is retried by the client; credentials, access, ...
        raise CliError(exc.reason) from exc
    directory = stacks.StackDirectory(stacks.new_client(region))
    found = entries(
        states,
        directory.lookup,
        region=region,
        account=_account(session),
        now=datetime.now(UTC),
    )
    if args.json:
        print(json.dumps([asdict(e) for e in found], indent=2))
    elif found:
        print(table(found), end="")
    else:
        print(f"No cluster in {region} carries the provider's ownership tags.")
    return 0
