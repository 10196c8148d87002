"""sqlx's ``_sqlx_migrations``, found through the search path (sqlx names it unqualified).

``version`` is the integer before the file name's first ``_``,
``description`` the rest without ``.sql``/``.up.sql``, ``_`` read as a
space, ``checksum`` the SHA-384 of the file as written (BOM and line endings
included), ``execution_time`` in nanoseconds. A row with ``success = false``
makes the database dirty: sqlx refuses to migrate it, and so does the
engine. A version whose checksum differs is drift, as sqlx's
``VersionMismatch``.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from provider.migrations.history import TableName
from provider.migrations.model import Kind, Migration
from provider.migrations.tool_history.base import (
    Snapshot,
    ToolHistory,
    Verdict,
    elapsed_ns,
    key,
    raw,
)

TABLE = "_sqlx_migrations"
_FILE = re.compile(r"^([0-9]+)_(.*)$")


def version_and_description(m: Migration) -> tuple[int | None, str]:
    if m.tool is not None and m.tool.version is not None and m.tool.version.isdigit():
        return int(m.tool.version), m.tool.description
    base = posixpath.basename(m.name)
    match = _FILE.match(base)
    if match is None:
        number = int(m.version) if m.version is not None and m.version.isdigit() else None
        return number, ""
    rest = match.group(2)
    for suffix in (".up.sql", ".down.sql", ".sql"):
        if rest.endswith(suffix):
            rest = rest[: -len(suffix)]
            break
    return int(match.group(1)), rest.replace("_", " ")


def file_checksum(m: Migration) -> bytes:
    return hashlib.sha384(raw(m)).digest()


@dataclass(frozen=True)
class SqlxSnapshot(Snapshot):
    rows: tuple[tuple[int, bytes, bool], ...] = ()  # (version, checksum, success)

    def judge(self, migrations: Sequence[Migration]) -> Verdict:
        dirty = sorted(v for v, _, success in self.rows if not success)
        problem = None
        if dirty:
            problem = (
                f"sqlx recorded migration {dirty[0]} as failed ({TABLE}.success = false, a dirty "
                "database): fix the database and delete that row before migrating again."
            )
        recorded = {v: bytes(c) for v, c, success in self.rows if success}
        applied: set[tuple[Kind, str]] = set()
        changed: list[Migration] = []
        for m in migrations:
            number = version_and_description(m)[0] if m.kind is Kind.VERSIONED else None
            if number is None or number not in recorded:
                continue
            applied.add(key(m))
            if recorded[number] != file_checksum(m):
                changed.append(m)
        return Verdict(self.tool, frozenset(applied), tuple(changed), problem)


class Sqlx(ToolHistory):
    tool = "sqlx"
    columns = frozenset({"version", "description", "success", "checksum"})

    @property
    def table(self) -> TableName:
        return TableName(self.schema, TABLE)

    def load(self, conn: psycopg.Connection[Any], found: dict[str, str]) -> Snapshot:
        rows = conn.execute(
            sql.SQL("SELECT version, checksum, success FROM {} ORDER BY version").format(
                self.table.ident
            )
        ).fetchall()
        return SqlxSnapshot(
            self.tool, exists=True, rows=tuple((int(r[0]), bytes(r[1]), bool(r[2])) for r in rows)
        )

    def create_sql(self) -> sql.Composed:
        return sql.SQL(
            "CREATE TABLE IF NOT EXISTS {t} (\n"
            "    version BIGINT PRIMARY KEY,\n"
            "    description TEXT NOT NULL,\n"
            "    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
            "    success BOOLEAN NOT NULL,\n"
            "    checksum BYTEA NOT NULL,\n"
            "    execution_time BIGINT NOT NULL\n"
            ")"
        ).format(t=self.table.ident)

    def record_sql(self, m: Migration, snapshot: Snapshot) -> sql.Composed | None:
        number, description = version_and_description(m)
        if m.kind is not Kind.VERSIONED or number is None:
            return None
        return sql.SQL(
            "INSERT INTO {t} (version, description, success, checksum, execution_time)"
            " VALUES ({v}, {d}, TRUE, {c}, {ns})"
        ).format(
            t=self.table.ident,
            v=sql.Literal(number),
            d=sql.Literal(description),
            c=sql.Literal(file_checksum(m)),
            ns=elapsed_ns(),
        )
