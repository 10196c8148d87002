"""What a cluster is restored from, and instants as RDS shows them: no pydantic.

Apart from ``properties`` (the pydantic model that produces a ``RestoreSource``)
so that the modules a Delete imports (``plan``, ``rds``, ``restore``) load
without the property models; a Delete reads no property but ``OnDelete``
and ``WaitForDeletion``, leniently (``lifecycle``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

SOURCE_PROPERTIES = (
    "SourceSnapshotIdentifier",
    "SourceClusterIdentifier",
    "RestoreToTime",
    "RestoreType",
)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant (``2025-06-01T03:00:00Z``) in UTC; ValueError without a time zone."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment.astimezone(UTC)


def format_instant(moment: datetime) -> str:
    """``moment`` as RDS and the tags show it: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RestoreSource:
    """What a template restores from: a snapshot, or a cluster at a time (None: the latest)."""

    kind: Literal["snapshot", "cluster"]
    identifier: str
    restore_to: datetime | None = None
    restore_type: Literal["full-copy", "copy-on-write"] = "full-copy"

    @property
    def prop(self) -> str:
        """The property naming the source, for reasons."""
        return "SourceSnapshotIdentifier" if self.kind == "snapshot" else "SourceClusterIdentifier"
