"""drizzle's ``drizzle.__drizzle_migrations(id, hash, created_at[, name, applied_at])``.

``hash`` is the sha256 (hex) of the file, ``created_at`` the journal's
``when`` (or the folder's timestamp, in milliseconds). Two generations:

- drizzle-orm 0.x (no ``name`` column) runs every migration newer than the
  newest ``created_at``: all at or before it count as applied;
- drizzle-orm 1.0 adds ``name`` (the migration's folder) and ``applied_at``
  and runs every migration whose name is not in the table. Rows without a
  name (from 0.x, or from an engine that did not write it) keep 0.x's rule.

A migration whose hash differs from drizzle's row for it is drift. What the
engine applies is written with the columns the table has, so either
generation finds it. A table the engine creates has the ``name`` column for
the folder layout (drizzle-kit 1.0's) and not for the journal layout (0.x's).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from provider.migrations.history import TableName
from provider.migrations.model import Kind, Migration
from provider.migrations.tool_history.base import Snapshot, ToolHistory, Verdict, key

SCHEMA = "drizzle"
TABLE = "__drizzle_migrations"


def drizzle_name(m: Migration) -> str:
    """What drizzle-orm 1.0 writes in ``name``: the folder of ``migration.sql`` (else the tag)."""
    if m.tool is not None and m.tool.script:
        return m.tool.script
    if posixpath.basename(m.name) == "migration.sql":
        return posixpath.basename(posixpath.dirname(m.name))
    return posixpath.basename(m.name).removesuffix(".sql")


@dataclass(frozen=True)
class DrizzleRow:
    hash: str
    created_at: int | None
    name: str | None = None


@dataclass(frozen=True)
class DrizzleSnapshot(Snapshot):
    rows: tuple[DrizzleRow, ...] = ()
    has_name: bool = False

    def judge(self, migrations: Sequence[Migration]) -> Verdict:
        named = {r.name: r for r in self.rows if r.name is not None}
        unnamed = [r for r in self.rows if r.name is None and r.created_at is not None]
        newest = max((r.created_at for r in unnamed if r.created_at is not None), default=None)
        hashes_at: dict[int, set[str]] = {}
        for r in unnamed:
            if r.created_at is not None:
                hashes_at.setdefault(r.created_at, set()).add(r.hash)
        applied: set[tuple[Kind, str]] = set()
        changed: list[Migration] = []
        for m in migrations:
            if m.kind is not Kind.VERSIONED or m.drizzle is None:
                continue
            row = named.get(drizzle_name(m))
            if row is not None:
                applied.add(key(m))
                if row.hash != m.drizzle.hash:
                    changed.append(m)
            elif newest is not None and m.drizzle.created_at <= newest:
                applied.add(key(m))
                same_time = hashes_at.get(m.drizzle.created_at)
                if same_time and m.drizzle.hash not in same_time:
                    changed.append(m)
        return Verdict(self.tool, frozenset(applied), tuple(changed))


class Drizzle(ToolHistory):
    tool = "drizzle-kit"
    columns = frozenset({"hash", "created_at"})

    def __init__(self, schema: str, *, with_name: bool = False) -> None:
        super().__init__(schema)
        self.with_name = with_name  # create the table as drizzle-orm 1.0 does

    @property
    def table(self) -> TableName:
        return TableName(SCHEMA, TABLE)

    def load(self, conn: psycopg.Connection[Any], found: dict[str, str]) -> Snapshot:
        has_name = "name" in found
        columns = sql.SQL("hash, created_at, name" if has_name else "hash, created_at, NULL")
        rows = conn.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY id").format(columns, self.table.ident)
        ).fetchall()
        return DrizzleSnapshot(
            self.tool,
            exists=True,
            has_name=has_name,
            rows=tuple(
                DrizzleRow(r[0], int(r[1]) if r[1] is not None else None, r[2]) for r in rows
            ),
        )

    def create_sql(self) -> sql.Composed:
        if self.with_name:
            return sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id SERIAL PRIMARY KEY, hash text NOT NULL,"
                " created_at bigint, name text, applied_at timestamp with time zone DEFAULT now())"
            ).format(self.table.ident)
        return sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id SERIAL PRIMARY KEY, hash text NOT NULL,"
            " created_at bigint)"
        ).format(self.table.ident)

    def record_sql(self, m: Migration, snapshot: Snapshot) -> sql.Composed | None:
        if m.drizzle is None or m.kind is not Kind.VERSIONED:
            return None
        if isinstance(snapshot, DrizzleSnapshot) and snapshot.has_name:
            return sql.SQL("INSERT INTO {} (hash, created_at, name) VALUES ({}, {}, {})").format(
                self.table.ident,
                sql.Literal(m.drizzle.hash),
                sql.Literal(m.drizzle.created_at),
                sql.Literal(drizzle_name(m)),
            )
        return sql.SQL("INSERT INTO {} (hash, created_at) VALUES ({}, {})").format(
            self.table.ident, sql.Literal(m.drizzle.hash), sql.Literal(m.drizzle.created_at)
        )
