"""The Supabase CLI's ``supabase_migrations.schema_migrations(version, statements, name)``.

``version`` is the file name's digits, ``name`` the rest of it before
``.sql``, ``statements`` the file's statements as the CLI splits them (each
up to its ``;``, comments before it included, trimmed, the ``;`` dropped).
A version in the table is applied; the CLI keeps no checksum.
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
from provider.migrations.tool_history.base import Snapshot, ToolHistory, Verdict, key, raw

SCHEMA = "supabase_migrations"
_FILE = re.compile(r"^([0-9]+)_(.*)\.sql$")


def version_and_name(m: Migration) -> tuple[str, str]:
    if m.tool is not None and m.tool.version is not None:
        return m.tool.version, m.tool.description
    if match := _FILE.match(posixpath.basename(m.name)):
        return match.group(1), match.group(2)
    return m.version or m.name, ""


def split_statements(text: str) -> list[str]:
    """The statements as the CLI records them, cut at each statement's ``;``."""
    from pglast import parser  # noqa: PLC0415 (only when a row is written)

    try:
        slices = list(parser.split(text, with_parser=True, only_slices=True))
    except parser.ParseError:
        try:
            slices = list(parser.split(text, with_parser=False, only_slices=True))
        except parser.ParseError:
            slices = []
    found: list[str] = []
    start = 0
    for piece in slices:
        end = piece.stop
        after = end
        while after < len(text) and text[after] in " \t\r\n":
            after += 1
        if after < len(text) and text[after] == ";":
            end = after + 1
        _keep(found, text[start:end])
        start = end
    _keep(found, text[start:])
    return found


def _keep(found: list[str], token: str) -> None:
    trimmed = token.rstrip(";").strip()
    if trimmed:
        found.append(trimmed)


@dataclass(frozen=True)
class SupabaseSnapshot(Snapshot):
    versions: frozenset[str] = frozenset()
    complete: bool = True  # has the statements and name columns (an older CLI's has not)

    def judge(self, migrations: Sequence[Migration]) -> Verdict:
        applied = frozenset(
            key(m)
            for m in migrations
            if m.kind is Kind.VERSIONED and version_and_name(m)[0] in self.versions
        )
        return Verdict(self.tool, applied=applied)


class Supabase(ToolHistory):
    tool = "supabase"
    columns = frozenset({"version"})

    @property
    def table(self) -> TableName:
        return TableName(SCHEMA, "schema_migrations")

    def load(self, conn: psycopg.Connection[Any], found: dict[str, str]) -> Snapshot:
        rows = conn.execute(sql.SQL("SELECT version FROM {}").format(self.table.ident)).fetchall()
        return SupabaseSnapshot(
            self.tool,
            exists=True,
            versions=frozenset(r[0] for r in rows),
            complete={"statements", "name"} <= found.keys(),
        )

    def create_sql(self) -> sql.Composed:
        # The CLI's own batch (it also adds the two later columns to an older table).
        return sql.SQL(
            "CREATE TABLE IF NOT EXISTS {t} (version text NOT NULL PRIMARY KEY);\n"
            "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS statements text[];\n"
            "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS name text"
        ).format(t=self.table.ident)

    def ensure(self, conn: psycopg.Connection[Any], snapshot: Snapshot) -> Snapshot:
        if isinstance(snapshot, SupabaseSnapshot) and not snapshot.complete:
            # An older CLI's table lacks statements and name; the CLI adds them on every run.
            conn.execute(self.create_sql())
            return self.read(conn)
        return super().ensure(conn, snapshot)

    def record_sql(self, m: Migration, snapshot: Snapshot) -> sql.Composed | None:
        if m.kind is not Kind.VERSIONED or (
            isinstance(snapshot, SupabaseSnapshot) and not snapshot.complete
        ):
            return None
        version, name = version_and_name(m)
        text = raw(m).decode("utf-8", errors="replace")
        return sql.SQL("INSERT INTO {} (version, name, statements) VALUES ({}, {}, {})").format(
            self.table.ident,
            sql.Literal(version),
            sql.Literal(name),
            sql.Literal(split_statements(text)),
        )
