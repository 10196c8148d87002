"""Prisma Migrate's ``_prisma_migrations``, in the current schema.

A migration is the folder ``<name>/migration.sql``; ``migration_name`` is
the folder's name, ``checksum`` the sha256 (hex) of the file. Applied: a
row with that name, finished and not rolled back. A row neither finished
nor rolled back is a failed migration: ``prisma migrate deploy`` refuses to
go on (P3009) until it is resolved, and so does the engine. Prisma accepts
the checksum of the file with either line endings; so does the drift check.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from provider.migrations import history
from provider.migrations.history import TableName
from provider.migrations.model import Kind, Migration
from provider.migrations.tool_history.base import Snapshot, ToolHistory, Verdict, key, raw

TABLE = "_prisma_migrations"


def migration_name(m: Migration) -> str:
    """The folder holding ``migration.sql`` (the file's own name for a loose file)."""
    if m.tool is not None and m.tool.script:
        return m.tool.script
    folder = posixpath.basename(posixpath.dirname(m.name))
    return folder or posixpath.basename(m.name)


def file_checksum(m: Migration) -> str:
    return hashlib.sha256(raw(m)).hexdigest()


def accepted_checksums(m: Migration) -> set[str]:
    data = raw(m)
    lf = data.replace(b"\r\n", b"\n")
    return {hashlib.sha256(v).hexdigest() for v in (data, lf, lf.replace(b"\n", b"\r\n"))}


@dataclass(frozen=True)
class PrismaRow:
    name: str
    checksum: str
    finished: bool
    rolled_back: bool


@dataclass(frozen=True)
class PrismaSnapshot(Snapshot):
    rows: tuple[PrismaRow, ...] = ()

    def judge(self, migrations: Sequence[Migration]) -> Verdict:
        by_name: dict[str, list[PrismaRow]] = {}
        for row in self.rows:
            by_name.setdefault(row.name, []).append(row)
        failed = [r.name for r in self.rows if not r.finished and not r.rolled_back]
        problem = None
        if failed:
            problem = (
                f"Prisma recorded migration {failed[0]} as failed (P3009: {TABLE} has it neither "
                "finished nor rolled back): fix the database, then run 'prisma migrate resolve "
                f"--rolled-back {failed[0]}' or '--applied {failed[0]}'."
            )
        applied: set[tuple[Kind, str]] = set()
        changed: list[Migration] = []
        for m in migrations:
            if m.kind is not Kind.VERSIONED:
                continue
            rows = by_name.get(migration_name(m), [])
            done = [r for r in rows if r.finished and not r.rolled_back]
            if not done:
                continue
            applied.add(key(m))
            if not accepted_checksums(m) & {r.checksum for r in done}:
                changed.append(m)
        return Verdict(self.tool, frozenset(applied), tuple(changed), problem)


class Prisma(ToolHistory):
    tool = "prisma"
    columns = frozenset({"id", "checksum", "finished_at", "migration_name", "rolled_back_at"})

    @property
    def table(self) -> TableName:
        return TableName(self.schema, TABLE)

    def load(self, conn: psycopg.Connection[Any], found: dict[str, str]) -> Snapshot:
        rows = conn.execute(
            sql.SQL(
                "SELECT migration_name, checksum, finished_at IS NOT NULL,"
                " rolled_back_at IS NOT NULL FROM {} ORDER BY started_at"
            ).format(self.table.ident)
        ).fetchall()
        return PrismaSnapshot(
            self.tool,
            exists=True,
            rows=tuple(PrismaRow(r[0], r[1], bool(r[2]), bool(r[3])) for r in rows),
        )

    def create_sql(self) -> sql.Composed:
        # The table as Prisma's schema engine creates it on PostgreSQL.
        return sql.SQL(
            "CREATE TABLE {t} (\n"
            '    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,\n'
            '    "checksum"              VARCHAR(64) NOT NULL,\n'
            '    "finished_at"           TIMESTAMPTZ,\n'
            '    "migration_name"        VARCHAR(255) NOT NULL,\n'
            '    "logs"                  TEXT,\n'
            '    "rolled_back_at"        TIMESTAMPTZ,\n'
            '    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),\n'
            '    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0\n'
            ")"
        ).format(t=self.table.ident)

    def record_sql(self, m: Migration, snapshot: Snapshot) -> sql.Composed | None:
        if m.kind is not Kind.VERSIONED:
            return None
        # Prisma inserts the row when it starts and finishes it with one applied step
        # (a migration.sql is one script); sent in one message, both at once.
        return sql.SQL(
            "INSERT INTO {t} (id, checksum, finished_at, migration_name, logs, rolled_back_at,"
            " started_at, applied_steps_count) VALUES (gen_random_uuid()::text, {checksum},"
            " clock_timestamp(), {name}, NULL, NULL, {started}, 1)"
        ).format(
            t=self.table.ident,
            checksum=sql.Literal(file_checksum(m)),
            name=sql.Literal(migration_name(m)),
            started=history.started_at(),
        )
