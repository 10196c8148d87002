"""What every tool's history adapter offers the engine, and the verdict it hands back.

An adapter knows one tool's table: where it lives, how to tell it from
another tool's table of the same name, how to read it, how the tool
creates it and the row(s) the tool writes for a migration it applied. The
decisions (what the tool counts as applied, what changed since, what must
stop the run) are pure: a ``Snapshot`` of the rows judges the folder's
migrations and returns a ``Verdict``; the engine never looks at the rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg
from psycopg import sql

from provider.migrations import history
from provider.migrations.history import SETUP_LOCK_KEY, TableName
from provider.migrations.model import Kind, Migration

Key = tuple[Kind, str]


def key(m: Migration) -> Key:
    """How the engine's plan names a migration (its kind and identity)."""
    return (m.kind, m.identity)


def raw(m: Migration) -> bytes:
    """The file's bytes as its tool reads them (``sql`` when the reader kept no copy)."""
    if m.tool is not None and (m.tool.raw or not m.sql):
        return m.tool.raw
    return m.sql.encode()


def tool_version(m: Migration) -> str | None:
    """The version as the tool writes it, when the reader recorded one."""
    return m.tool.version if m.tool is not None else None


def tool_number(m: Migration, fallback: str | None) -> int | None:
    """The tool's integer version: the reader's, else ``fallback`` (from the file name)."""
    for text in (tool_version(m), fallback, m.version):
        if text is not None and text.isdigit():
            return int(text)
    return None


@dataclass(frozen=True)
class Verdict:
    """What a tool's own history says about the folder's migrations.

    ``applied``: what the tool already applied (adopted: never run again);
    ``changed``: applied by the tool, but the file's checksum is not the one
    the tool recorded (drift: the run stops, naming the file);
    ``problem``: the tool's history says no run may go on (a dirty or failed
    migration), in words a person can act on;
    ``warnings``: worth saying, stop nothing (a table of another tool's shape).
    """

    tool: str = ""
    applied: frozenset[Key] = frozenset()
    changed: tuple[Migration, ...] = ()
    problem: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """A tool's history as read: absent, another tool's table, or the tool's rows.

    Subclasses add the rows and override ``judge``.
    """

    tool: str = ""
    exists: bool = False
    foreign: str | None = None  # why the table under the tool's name is left alone

    @property
    def usable(self) -> bool:
        """The engine may create and write the table (it is absent or the tool's own)."""
        return self.foreign is None

    def verdict(self, migrations: Sequence[Migration]) -> Verdict:
        if self.foreign is not None:
            return Verdict(self.tool, warnings=(self.foreign,))
        if not self.exists:
            return Verdict(self.tool)
        return self.judge(migrations)

    def judge(self, migrations: Sequence[Migration]) -> Verdict:
        return Verdict(self.tool)


class ToolHistory(ABC):
    """One tool's history table, both ways.

    ``tool`` names it in reasons and as ``applied_by`` of adopted rows;
    ``records`` says whether the engine writes to it (Liquibase, sqitch and
    Atlas are adopted from, never written); ``columns`` are those without
    which a table of that name is not the tool's.
    """

    tool: ClassVar[str]
    records: ClassVar[bool] = True
    columns: ClassVar[frozenset[str]]

    def __init__(self, schema: str) -> None:
        # The schema the tool would use by default: the connection's current one.
        self.schema = schema

    @property
    @abstractmethod
    def table(self) -> TableName:
        """The table the tool keeps its history in."""

    def foreign_reason(self, found: dict[str, str]) -> str | None:
        """Why a table of this name with these columns (name -> type) is not the tool's."""
        missing = sorted(self.columns - found.keys())
        if not missing:
            return None
        return (
            f"{self.table} does not have {self.tool}'s columns (no {', '.join(missing)}); "
            "it is left alone."
        )

    def read(self, conn: psycopg.Connection[Any]) -> Snapshot:
        found = table_columns(conn, self.table)
        if found is None:
            return Snapshot(self.tool)
        reason = self.foreign_reason(found)
        if reason is not None:
            return Snapshot(self.tool, foreign=reason)
        return self.load(conn, found)

    @abstractmethod
    def load(self, conn: psycopg.Connection[Any], found: dict[str, str]) -> Snapshot:
        """Read the rows of the tool's (existing) table."""

    def create_sql(self) -> sql.Composed | None:
        """What the tool runs to create its table (None: the engine never creates it)."""
        return None

    def ensure(self, conn: psycopg.Connection[Any], snapshot: Snapshot) -> Snapshot:
        """Create the table as the tool would, unless it exists; the table as it now is."""
        create = self.create_sql()
        if snapshot.exists or not snapshot.usable or create is None:
            return snapshot
        # Serialized with every other run's setup (history.ensure): two runs with other
        # history tables may both find the tool's table missing.
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SETUP_LOCK_KEY,))
            if self.read(conn).exists:
                return self.read(conn)
            if not schema_exists(conn, self.table.schema):
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        sql.Identifier(self.table.schema)
                    )
                )
            conn.execute(create)
        return self.read(conn)

    def record_sql(self, m: Migration, snapshot: Snapshot) -> sql.Composed | None:
        """The row(s) the tool writes for ``m``, to send in ``m``'s own transaction."""
        return None


# -- catalog helpers ---------------------------------------------------------


def schema_exists(conn: psycopg.Connection[Any], schema: str) -> bool:
    found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return found is not None


def table_columns(conn: psycopg.Connection[Any], table: TableName) -> dict[str, str] | None:
    """The table's columns (name -> SQL type), or None when there is no such table."""
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p', 'v', 'f')"
        " ORDER BY a.attnum",
        (table.schema, table.table),
    ).fetchall()
    if not rows:
        return None
    return {name: kind for name, kind in rows if name is not None}


def elapsed_ms() -> sql.Composable:
    """Milliseconds since the migration started (``history.MARK_STARTED``): its execution time."""
    return sql.SQL("({} * 1000)::int").format(history.elapsed_seconds())


def elapsed_ns() -> sql.Composable:
    return sql.SQL("({} * 1000000000)::bigint").format(history.elapsed_seconds())
