"""golang-migrate's ``schema_migrations(version bigint, dirty boolean)``: one row, the version.

golang-migrate runs every migration numbered above that version, so all at
or below it are applied. ``dirty = true`` means the last one failed midway:
golang-migrate refuses to go on until someone repairs the database and runs
``migrate force``, and so does the engine. What the engine applies moves the
row to the highest version applied (never down, even out of order), in the
migration's transaction. dbmate's ``schema_migrations(version varchar)``
shares the name and is never taken for this one.
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
from provider.migrations.tool_history.base import Snapshot, ToolHistory, Verdict, key, tool_number

_VERSION = re.compile(r"^(\d+)_")


def golang_version(m: Migration) -> int | None:
    """The number golang-migrate reads from the file name (None for a name without one)."""
    match = _VERSION.match(posixpath.basename(m.name))
    return tool_number(m, match.group(1) if match else None)


@dataclass(frozen=True)
class GolangMigrateSnapshot(Snapshot):
    version: int | None = None  # None: no row, nothing applied
    dirty: bool = False

    def judge(self, migrations: Sequence[Migration]) -> Verdict:
        if self.version is None:
            return Verdict(self.tool)
        if self.dirty:
            return Verdict(
                self.tool,
                problem=(
                    f"golang-migrate's schema_migrations is dirty at version {self.version} (a "
                    "migration failed midway): repair the database, then run "
                    f"'migrate force {self.version}' (or the version before it)."
                ),
            )
        current = self.version
        applied = frozenset(
            key(m)
            for m in migrations
            if m.kind is Kind.VERSIONED
            and (number := golang_version(m)) is not None
            and number <= current
        )
        return Verdict(self.tool, applied=applied)


class GolangMigrate(ToolHistory):
    tool = "golang-migrate"
    columns = frozenset({"version", "dirty"})

    @property
    def table(self) -> TableName:
        return TableName(self.schema, "schema_migrations")

    def foreign_reason(self, found: dict[str, str]) -> str | None:
        if "dirty" not in found and "version" in found:
            return (
                f"{self.table} is dbmate's (version varchar), not golang-migrate's; "
                "it is left alone."
            )
        return super().foreign_reason(found)

    def load(self, conn: psycopg.Connection[Any], found: dict[str, str]) -> Snapshot:
        row = conn.execute(
            sql.SQL("SELECT version, dirty FROM {} LIMIT 1").format(self.table.ident)
        ).fetchone()
        if row is None:
            return GolangMigrateSnapshot(self.tool, exists=True)
        return GolangMigrateSnapshot(
            self.tool, exists=True, version=int(row[0]), dirty=bool(row[1])
        )

    def create_sql(self) -> sql.Composed:
        return sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (version bigint not null primary key,"
            " dirty boolean not null)"
        ).format(self.table.ident)

    def record_sql(self, m: Migration, snapshot: Snapshot) -> sql.Composed | None:
        number = golang_version(m) if m.kind is Kind.VERSIONED else None
        if number is None:
            return None
        # Leaves one row, the highest version applied, clean (golang-migrate's SetVersion
        # truncates and inserts; this also keeps a newer version when applied out of order).
        return sql.SQL(
            "INSERT INTO {t} (version, dirty) SELECT {v}, false"
            " WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE version >= {v});\n"
            "DELETE FROM {t} WHERE version < (SELECT max(version) FROM {t})"
        ).format(t=self.table.ident, v=sql.Literal(number))
