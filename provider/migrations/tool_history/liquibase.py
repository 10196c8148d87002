"""Liquibase's ``databasechangelog``, in the current schema: adopted from, never written.

A changeset is known by ``(id, author, filename)``; it is applied when its
row's ``exectype`` is ``EXECUTED``, ``RERAN`` or ``MARK_RAN``. ``md5sum`` in
Liquibase's current form (``9:`` and the MD5 of the changeset's SQL with
spaces, tabs and line breaks removed) that differs from the file's is drift
for a plain changeset; a ``runOnChange``/``runAlways`` one (a repeatable) is
adopted only while its checksum matches, so a changed one runs again.
Checksums of older Liquibase releases (``8:``, ``7:``...) are not compared.
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
from provider.migrations.tool_history.base import Snapshot, ToolHistory, Verdict, key

TABLE = "databasechangelog"
_APPLIED = frozenset({"EXECUTED", "RERAN", "MARK_RAN"})


def md5sum(text: str) -> str:
    """Liquibase's checksum version 9 of a formatted-SQL changeset."""
    squeezed = text.translate({ord(c): None for c in " \t\r\n"})
    return "9:" + hashlib.md5(squeezed.encode(), usedforsecurity=False).hexdigest()


def identity(m: Migration) -> tuple[str, str, str] | None:
    """(id, author, filename): the reader's, else from a name written ``file::id::author``."""
    if m.tool is not None and {"id", "author"} <= m.tool.extra.keys():
        extra = m.tool.extra
        return extra["id"], extra["author"], extra.get("filename") or m.tool.script or m.name
    parts = (m.version or m.name).split("::")
    if len(parts) == 3:
        return parts[1], parts[2], parts[0]
    return None


def _logical(path: str) -> str:
    return path.removeprefix("classpath:").lstrip("/")


def same_file(recorded: str, ours: str) -> bool:
    """Liquibase's filename as recorded vs the file's path here (a search path may prefix it)."""
    a, b = _logical(recorded), _logical(ours)
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


@dataclass(frozen=True)
class ChangelogRow:
    id: str
    author: str
    filename: str
    exectype: str
    md5sum: str | None


@dataclass(frozen=True)
class LiquibaseSnapshot(Snapshot):
    rows: tuple[ChangelogRow, ...] = ()

    def judge(self, migrations: Sequence[Migration]) -> Verdict:
        applied: set[tuple[Kind, str]] = set()
        changed: list[Migration] = []
        for m in migrations:
            ident = identity(m)
            if ident is None or m.kind not in (Kind.VERSIONED, Kind.REPEATABLE):
                continue
            change_id, author, filename = ident
            rows = [
                r
                for r in self.rows
                if r.id == change_id
                and r.author == author
                and same_file(r.filename, filename)
                and r.exectype in _APPLIED
            ]
            if not rows:
                continue
            text = m.tool.text if m.tool is not None and m.tool.text is not None else m.sql
            recorded = rows[-1].md5sum
            matches = recorded is None or not recorded.startswith("9:") or recorded == md5sum(text)
            if m.kind is Kind.REPEATABLE:
                if matches:
                    applied.add(key(m))
                continue
            applied.add(key(m))
            if not matches:
                changed.append(m)
        return Verdict(self.tool, frozenset(applied), tuple(changed))


class Liquibase(ToolHistory):
    tool = "liquibase"
    records = False
    columns = frozenset(
        {"id", "author", "filename", "exectype", "md5sum", "dateexecuted", "orderexecuted"}
    )

    @property
    def table(self) -> TableName:
        return TableName(self.schema, TABLE)

    def load(self, conn: psycopg.Connection[Any], found: dict[str, str]) -> Snapshot:
        rows = conn.execute(
            sql.SQL(
                "SELECT id, author, filename, exectype, md5sum FROM {}"
                " ORDER BY dateexecuted, orderexecuted"
            ).format(self.table.ident)
        ).fetchall()
        return LiquibaseSnapshot(
            self.tool,
            exists=True,
            rows=tuple(ChangelogRow(r[0], r[1], r[2], (r[3] or "").upper(), r[4]) for r in rows),
        )
