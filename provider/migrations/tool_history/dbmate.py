"""dbmate's ``schema_migrations(version varchar primary key)``, in the current schema.

dbmate creates it before any migration runs (so a first migration may GRANT
on it) and inserts the file name's leading digits, as written, in the
migration's own transaction. A version in the table is applied; dbmate
keeps no checksum. golang-migrate uses the same name with ``(version
bigint, dirty boolean)``: such a table is never read or written as dbmate's.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from provider.migrations.history import TableName
from provider.migrations.model import Kind, Migration
from provider.migrations.tool_history.base import Snapshot, ToolHistory, Verdict, key, tool_version

_VERSION = re.compile(r"^(\d+)")


def dbmate_version(m: Migration) -> str:
    """The version dbmate records: the file name's leading digits, leading zeros kept."""
    if (version := tool_version(m)) is not None:
        return version
    match = _VERSION.match(posixpath.basename(m.name))
    return match.group(1) if match else (m.version or m.name)


@dataclass(frozen=True)
class DbmateSnapshot(Snapshot):
    versions: frozenset[str] = frozenset()

    def judge(self, migrations: Sequence[Migration]) -> Verdict:
        applied = frozenset(
            key(m)
            for m in migrations
            if m.kind is Kind.VERSIONED and dbmate_version(m) in self.versions
        )
        return Verdict(self.tool, applied=applied)


class Dbmate(ToolHistory):
    tool = "dbmate"
    columns = frozenset({"version"})

    @property
    def table(self) -> TableName:
        return TableName(self.schema, "schema_migrations")

    def foreign_reason(self, found: dict[str, str]) -> str | None:
        if "dirty" in found:
            return (
                f"{self.table} is golang-migrate's (version bigint, dirty), not dbmate's; "
                "it is left alone."
            )
        return super().foreign_reason(found)

    def load(self, conn: psycopg.Connection[Any], found: dict[str, str]) -> Snapshot:
        rows = conn.execute(sql.SQL("SELECT version FROM {}").format(self.table.ident)).fetchall()
        return DbmateSnapshot(self.tool, exists=True, versions=frozenset(str(r[0]) for r in rows))

    def create_sql(self) -> sql.Composed:
        return sql.SQL("CREATE TABLE IF NOT EXISTS {} (version varchar PRIMARY KEY)").format(
            self.table.ident
        )

    def record_sql(self, m: Migration, snapshot: Snapshot) -> sql.Composed | None:
        if m.kind is not Kind.VERSIONED:
            return None
        return sql.SQL("INSERT INTO {} (version) VALUES ({})").format(
            self.table.ident, sql.Literal(dbmate_version(m))
        )
