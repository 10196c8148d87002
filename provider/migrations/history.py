"""The history table (the tools' own tables are ``tool_history``'s).

One row per application (an audit log, as Flyway keeps): a repeatable or a
seed applied three times has three rows; the newest row of an identity
(version, or name when there is none) is its state. A failed
non-transactional migration leaves a row with ``success = false`` so the
next run retries it and the failure is visible.

SQL for a history row is rendered client-side (``psycopg.sql``) so the
engine can send it in the same simple-query message as the migration.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from provider.common.errors import InvalidProperty
from provider.migrations.model import Kind, Migration

DEFAULT_TABLE = "aurora_express.schema_migrations"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


@dataclass(frozen=True)
class TableName:
    schema: str
    table: str

    @classmethod
    def parse(cls, text: str, prop: str = "HistoryTable") -> TableName:
        """``schema.table`` with plain identifiers (they are quoted as written)."""
        parts = text.split(".")
        if len(parts) != 2 or not all(_IDENT.match(p) for p in parts):
            raise InvalidProperty(prop, "must be schema.table (letters, digits, underscores)")
        return cls(parts[0], parts[1])

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.table)


@dataclass(frozen=True)
class Row:
    """A history row as read back."""

    rank: int
    version: str | None
    name: str
    kind: Kind
    checksum: str
    applied_at: dt.datetime
    execution_ms: int
    applied_by: str
    success: bool

    @property
    def identity(self) -> str:
        return self.version if self.version is not None else self.name

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "name": self.name,
            "kind": self.kind.value,
            "checksum": self.checksum,
            "appliedAt": self.applied_at.isoformat(),
            "executionMs": self.execution_ms,
            "appliedBy": self.applied_by,
            "success": self.success,
        }


# pg_advisory_xact_lock key for creating history schemas and tables ("aurora-ex" in ASCII).
SETUP_LOCK_KEY = 0x6175726F72612D65


def ensure(conn: psycopg.Connection[Any], table: TableName, *, known: bool | None = None) -> None:
    """Create the history table (and its schema) unless they exist (``known``: already
    checked, True when it exists).

    Checked first, because ``CREATE SCHEMA IF NOT EXISTS`` needs the CREATE
    privilege on the database even when the schema is already there.
    """
    if known if known is not None else exists(conn, table):
        return
    # Two runs with other history tables (other lock keys) in one new schema would race on
    # CREATE SCHEMA (a unique violation in pg_namespace): creating is serialized per database.
    # One message: the checks run on the server, in the transaction. The name goes into the
    # DO block in hex, so that no identifier (they may hold "$") can end its quoting.
    name = f"convert_from(decode('{table.schema.encode().hex()}', 'hex'), 'UTF8')"
    conn.execute(
        sql.SQL(
            "BEGIN;\nSELECT pg_advisory_xact_lock({key});\n"
            "DO $aurora_express$ BEGIN IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = "
            "{name}) THEN EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', {name}); END IF; "
            "END $aurora_express$;\n{create};\nCOMMIT"
        ).format(key=sql.Literal(SETUP_LOCK_KEY), name=sql.SQL(name), create=create_sql(table))
    )


def create_sql(table: TableName) -> sql.Composed:
    return sql.SQL(
        """CREATE TABLE IF NOT EXISTS {table} (
    installed_rank bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version text,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('versioned', 'repeatable', 'seed')),
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    execution_ms integer NOT NULL,
    applied_by text NOT NULL,
    success boolean NOT NULL
)"""
    ).format(table=table.ident)


def exists_sql(table: TableName) -> sql.Composed:
    """A query that is true when the table exists."""
    return sql.SQL("SELECT to_regclass({}) IS NOT NULL").format(
        sql.Literal(f'"{table.schema}"."{table.table}"')
    )


def exists(conn: psycopg.Connection[Any], table: TableName) -> bool:
    found = conn.execute(exists_sql(table)).fetchone()
    return bool(found and found[0])


def read(
    conn: psycopg.Connection[Any], table: TableName, *, known: bool | None = None
) -> list[Row]:
    """Every row, oldest first; none when the table does not exist yet (``known``: already
    checked, True when it exists)."""
    if not (known if known is not None else exists(conn, table)):
        return []
    return rows_of(conn.execute(read_sql(table)).fetchall())


def read_sql(table: TableName) -> sql.Composed:
    """The query ``read`` sends (the table must exist); its rows go to ``rows_of``."""
    return sql.SQL(
        "SELECT installed_rank, version, name, kind, checksum, applied_at, execution_ms,"
        " applied_by, success FROM {} ORDER BY installed_rank"
    ).format(table.ident)


def rows_of(found: list[tuple[Any, ...]]) -> list[Row]:
    return [Row(r[0], r[1], r[2], Kind(r[3]), r[4], r[5], r[6], r[7], r[8]) for r in found]


def latest_by_identity(rows: list[Row]) -> dict[tuple[Kind, str], Row]:
    """The newest row of each (kind family, identity); repeatables and versioned kept apart."""
    latest: dict[tuple[Kind, str], Row] = {}
    for row in rows:
        latest[(row.kind, row.identity)] = row
    return latest


# Each migration's start on the server, taken at its BEGIN: several migrations share one
# message, so statement_timestamp() (the message's arrival) is the first one's start only.
# Transaction-local, and read leniently: a file's RESET ALL falls back to the message's start.
STARTED_SETTING = "aurora_express.migration_started"
MARK_STARTED = (
    f"SELECT set_config('{STARTED_SETTING}', extract(epoch FROM clock_timestamp())::text, true)"
)


def elapsed_seconds() -> sql.SQL:
    """Seconds since the running migration's start (``MARK_STARTED``), on the server."""
    return sql.SQL(
        "(extract(epoch FROM clock_timestamp())::float8 - coalesce(nullif("
        f"current_setting('{STARTED_SETTING}', true), '')::float8,"
        " extract(epoch FROM statement_timestamp())::float8))"
    )


def started_at() -> sql.Composed:
    """The running migration's start as a timestamptz."""
    return sql.SQL("(clock_timestamp() - make_interval(secs => {}))").format(elapsed_seconds())


def insert_sql(
    table: TableName,
    migration: Migration,
    applied_by: str,
    *,
    success: bool = True,
    execution_ms: int | None = None,
) -> sql.Composed:
    """One history row. Without ``execution_ms``, the time since the migration's start
    (``MARK_STARTED``, sent in its transaction) is used: its execution time."""
    elapsed: sql.Composable = (
        sql.Literal(execution_ms)
        if execution_ms is not None
        else sql.SQL("({} * 1000)::int").format(elapsed_seconds())
    )
    return sql.SQL(
        "INSERT INTO {} (version, name, kind, checksum, execution_ms, applied_by, success)"
        " VALUES ({}, {}, {}, {}, {}, {}, {})"
    ).format(
        table.ident,
        sql.Literal(migration.version),
        sql.Literal(migration.name),
        sql.Literal(migration.kind.value),
        sql.Literal(migration.checksum),
        elapsed,
        sql.Literal(applied_by),
        sql.Literal(success),
    )
