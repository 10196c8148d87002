"""``aurora-express snapshot --cluster ID [--name NAME]``: a manual snapshot of a parent.

Takes a cluster snapshot (``CreateDBClusterSnapshot``), waits until RDS shows it
``available`` and prints its identifier on stdout, so a nightly job can hand it
to the branch stacks (``SourceSnapshotIdentifier``, the example's ``SeedFrom``):

    SNAPSHOT=$(aurora-express snapshot --cluster staging)

Progress goes to stderr. The cluster is only read and snapshotted: nothing else
about it changes. Without ``--name`` the snapshot is ``<cluster>-<UTC time>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions

from aurora_express.cli import cluster_access
from aurora_express.cli.errors import EXIT_USAGE, CliError
from provider.cluster import naming

MAX_NAME = 63  # RDS's limit for a snapshot identifier
_STAMP = "%Y%m%d-%H%M%S"
_DONE = "available"
_BROKEN = frozenset({"failed", "incompatible-restore", "error"})


def default_name(cluster: str, now: datetime) -> str:
    """``<cluster>-<YYYYmmdd-HHMMSS>`` in UTC, the cluster part cut to fit 63 characters."""
    stamp = now.astimezone(UTC).strftime(_STAMP)
    head = cluster[: MAX_NAME - len(stamp) - 1].rstrip("-")
    return f"{head}-{stamp}"


def checked_name(name: str) -> str:
    """``name`` as RDS stores it (lowercase), or a usage error saying what it must be."""
    lowered = name.lower()
    if len(lowered) > MAX_NAME or not naming.is_valid(lowered):
        raise CliError(
            f"--name {name!r} is not a snapshot identifier: 1 to {MAX_NAME} letters, digits "
            "and single hyphens, starting with a letter",
            exit_code=EXIT_USAGE,
        )
    return lowered


def _wait(rds: Any, name: str, timeout: float, poll: float) -> None:
    """Until the snapshot is available; CliError if it breaks or the time runs out."""
    end = time.monotonic() + timeout
    shown = ""
    while True:
        try:
            found = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=name)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise cluster_access.aws_error("DescribeDBClusterSnapshots", name, exc) from exc
        snapshot = (found.get("DBClusterSnapshots") or [{}])[0]
        status = str(snapshot.get("Status", "unknown"))
        if status != shown:
            progress = snapshot.get("PercentProgress")
            detail = f" ({progress}%)" if isinstance(progress, int) and progress < 100 else ""
            print(f"snapshot {name}: {status}{detail}", file=sys.stderr)
            shown = status
        if status == _DONE:
            return
        if status in _BROKEN:
            raise CliError(f"snapshot {name} is {status}; see its events in the RDS console")
        if time.monotonic() >= end:
            raise CliError(
                f"snapshot {name} is still {status} after {timeout:g} s; it goes on in RDS "
                "(check it with `aws rds describe-db-cluster-snapshots`)"
            )
        time.sleep(poll)


def snapshot(args: argparse.Namespace) -> int:
    """Take the snapshot, wait for it, print its identifier."""
    found = cluster_access.lookup(args.cluster, args.region)
    cluster = found.identifier
    if found.status != _DONE:
        raise CliError(f"cluster {cluster!r} is {found.status}; a snapshot needs it available")
    name = checked_name(args.name) if args.name else default_name(cluster, datetime.now(UTC))
    rds = cluster_access.session(found.region).client("rds")
    try:
        rds.create_db_cluster_snapshot(
            DBClusterIdentifier=cluster, DBClusterSnapshotIdentifier=name
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise cluster_access.aws_error("CreateDBClusterSnapshot", cluster, exc) from exc
    _wait(rds, name, args.timeout, args.poll_seconds)
    print(name)
    return 0
