"""sqitch's registry (schema ``sqitch``): ``sqitch.changes``, adopted from, never written.

A row in ``sqitch.changes`` is a change currently deployed. A planned change
is matched by its ``change_id`` (the SHA-1 sqitch derives from the plan;
reworked changes have their own), else, when the reader gave none, by
project and name, the n-th planned change of a name matching the n-th
deployed one. ``script_hash`` is the SHA-1 of the deploy script as written:
one that differs is drift.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from provider.migrations.history import TableName
from provider.migrations.model import Kind, Migration
from provider.migrations.tool_history.base import Snapshot, ToolHistory, Verdict, key, raw

SCHEMA = "sqitch"


@dataclass(frozen=True)
class ChangeRow:
    change_id: str
    change: str
    project: str
    script_hash: str | None


def _name(m: Migration) -> str:
    if m.tool is not None and m.tool.script:
        return m.tool.script
    stem = m.name.rsplit("/", 1)[-1].removesuffix(".sql")
    return stem.split("@", 1)[0]


@dataclass(frozen=True)
class SqitchSnapshot(Snapshot):
    rows: tuple[ChangeRow, ...] = ()  # oldest first

    def judge(self, migrations: Sequence[Migration]) -> Verdict:
        by_id = {r.change_id: r for r in self.rows}
        by_name: dict[tuple[str, str], list[ChangeRow]] = {}
        for r in self.rows:
            by_name.setdefault((r.project, r.change), []).append(r)
        projects = {r.project for r in self.rows}
        seen: dict[str, int] = {}
        applied: set[tuple[Kind, str]] = set()
        changed: list[Migration] = []
        for m in migrations:
            if m.kind is not Kind.VERSIONED:
                continue
            name = _name(m)
            seen[name] = seen.get(name, 0) + 1
            extra = m.tool.extra if m.tool is not None else {}
            row: ChangeRow | None = None
            if extra.get("change_id"):
                row = by_id.get(extra["change_id"])
            else:
                only = next(iter(projects)) if len(projects) == 1 else ""
                project = extra.get("project") or only
                deployed = by_name.get((project, name), [])
                row = deployed[seen[name] - 1] if len(deployed) >= seen[name] else None
            if row is None:
                continue
            applied.add(key(m))
            digest = hashlib.sha1(raw(m), usedforsecurity=False).hexdigest()
            if row.script_hash and row.script_hash != digest:
                changed.append(m)
        return Verdict(self.tool, frozenset(applied), tuple(changed))


class Sqitch(ToolHistory):
    tool = "sqitch"
    records = False
    columns = frozenset({"change_id", "change", "project", "script_hash", "committed_at"})

    @property
    def table(self) -> TableName:
        return TableName(SCHEMA, "changes")

    def load(self, conn: psycopg.Connection[Any], found: dict[str, str]) -> Snapshot:
        rows = conn.execute(
            sql.SQL(
                "SELECT change_id, change, project, script_hash FROM {} ORDER BY committed_at"
            ).format(self.table.ident)
        ).fetchall()
        return SqitchSnapshot(
            self.tool, exists=True, rows=tuple(ChangeRow(r[0], r[1], r[2], r[3]) for r in rows)
        )
