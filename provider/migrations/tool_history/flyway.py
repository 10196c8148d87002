"""Flyway's ``flyway_schema_history``, in the current schema, with Flyway's own checksum.

A versioned migration is applied when the newest row for its version (by
``installed_rank``) succeeded and is not a ``DELETE``/undo marker, or when a
``BASELINE`` row's version is at or above it. A repeatable (``R__``) is
matched by description, as Flyway does, and counts as applied when its
newest row carries the file's current checksum; otherwise it runs again.

The checksum is Flyway's: CRC32 fed each line's UTF-8 bytes without its
line ending (BOM dropped from the first), read as a signed 32-bit integer,
over the file as written (placeholders not replaced) for a versioned
migration, over the text as run for a repeatable (Flyway's default
``placeholderReplacement``; the file as written is accepted too). A
versioned row whose checksum differs is drift; a failed row (``success =
false``) stops the run, as Flyway's validation does.
"""

from __future__ import annotations

import posixpath
import re
import zlib
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
    elapsed_ms,
    key,
    raw,
)

TABLE = "flyway_schema_history"
_UNDONE = frozenset({"DELETE", "UNDO_SQL", "UNDO_JDBC", "UNDO_SCRIPT"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def checksum(data: bytes) -> int:
    """Flyway's ``ChecksumCalculator`` for one resource."""
    text = data.decode("utf-8", errors="replace")
    lines = _LINE_BREAK.split(text.removeprefix("\ufeff"))
    if lines and lines[-1] == "":
        lines.pop()  # a final line break ends the last line; readLine yields no empty line after it
    crc = 0
    for line in lines:
        crc = zlib.crc32(line.encode("utf-8", errors="surrogatepass"), crc)
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def version_key(text: str) -> tuple[int, ...] | None:
    """Flyway's version order: ``1_1`` is ``1.1``, trailing zeros do not count."""
    parts = re.split(r"[._]", text)
    if not all(p.isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def script_name(m: Migration) -> tuple[str | None, str, str]:
    """(version, description, script) as Flyway writes them, from ``V<version>__<desc>.sql``
    or ``R__<desc>.sql`` (the reader's, when it recorded them)."""
    if m.tool is not None and m.tool.script:
        return m.tool.version, m.tool.description, m.tool.script
    base = posixpath.basename(m.name)
    stem = base[: -len(".sql")] if base.lower().endswith(".sql") else base
    rest = stem[1:]
    if m.kind is Kind.REPEATABLE:
        return None, rest.removeprefix("__").replace("_", " "), m.name
    version, _, description = rest.partition("__")
    return version.replace("_", "."), description.replace("_", " "), m.name


def _abbreviate_description(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."


def _abbreviate_script(text: str) -> str:
    return text if len(text) <= 1000 else "..." + text[3:1000]


@dataclass(frozen=True)
class FlywayRow:
    rank: int
    version: str | None
    description: str
    type: str
    script: str
    checksum: int | None
    success: bool


@dataclass(frozen=True)
class FlywaySnapshot(Snapshot):
    rows: tuple[FlywayRow, ...] = ()

    def judge(self, migrations: Sequence[Migration]) -> Verdict:
        newest = _Newest.of(self.rows)
        applied: set[tuple[Kind, str]] = set()
        changed: list[Migration] = []
        problems: list[str] = []
        for m in migrations:
            found = newest.row_for(m)
            if found is not None and not found.success:
                problems.append(_failed(m, found))
            elif m.kind is Kind.VERSIONED and (found is not None or newest.below_baseline(m)):
                applied.add(key(m))
                if found and found.checksum is not None and found.checksum != checksum(raw(m)):
                    changed.append(m)
            elif (
                m.kind is Kind.REPEATABLE
                and found is not None
                # The text as run, or (Flyway's "equivalent" checksum) the file as written.
                and found.checksum in (checksum(m.sql.encode()), checksum(raw(m)))
            ):
                applied.add(key(m))
        return Verdict(self.tool, frozenset(applied), tuple(changed), next(iter(problems), None))


@dataclass(frozen=True)
class _Newest:
    """The newest row of each version and of each repeatable's description, and the baseline."""

    versioned: dict[tuple[int, ...], FlywayRow]
    repeatable: dict[str, FlywayRow]
    baseline: tuple[int, ...] | None

    @classmethod
    def of(cls, rows: Sequence[FlywayRow]) -> _Newest:
        versioned: dict[tuple[int, ...], FlywayRow] = {}
        repeatable: dict[str, FlywayRow] = {}
        baselines: list[tuple[int, ...]] = []
        for row in sorted(rows, key=lambda r: r.rank):
            number = version_key(row.version) if row.version is not None else None
            if row.type == "SCHEMA":
                continue
            if row.version is None:
                repeatable[row.description] = row
            elif number is not None:
                versioned[number] = row
                if row.type == "BASELINE" and row.success:
                    baselines.append(number)
        return cls(versioned, repeatable, max(baselines, default=None))

    def row_for(self, m: Migration) -> FlywayRow | None:
        """The newest row that says ``m`` was applied (or failed); None for none, or undone."""
        found: FlywayRow | None = None
        if m.kind is Kind.VERSIONED and m.version is not None:
            number = version_key(m.version)
            found = self.versioned.get(number) if number is not None else None
        elif m.kind is Kind.REPEATABLE:
            found = self.repeatable.get(script_name(m)[1])
        if found is None or found.type in _UNDONE or found.type == "BASELINE":
            return None
        return found

    def below_baseline(self, m: Migration) -> bool:
        number = version_key(m.version) if m.version is not None else None
        return number is not None and self.baseline is not None and number <= self.baseline


def _failed(m: Migration, row: FlywayRow) -> str:
    which = f"version {row.version}" if row.version else f"repeatable {row.description!r}"
    return (
        f"{m.name} failed when Flyway ran it ({TABLE} {which}, success = false): undo what it "
        "left behind, then run 'flyway repair'."
    )


class Flyway(ToolHistory):
    tool = "flyway"
    columns = frozenset(
        {"installed_rank", "version", "description", "type", "script", "checksum", "success"}
    )

    @property
    def table(self) -> TableName:
        return TableName(self.schema, TABLE)

    def load(self, conn: psycopg.Connection[Any], found: dict[str, str]) -> Snapshot:
        query = sql.SQL(
            "SELECT installed_rank, version, description, type, script, checksum, success"
            " FROM {} ORDER BY installed_rank"
        ).format(self.table.ident)
        rows = tuple(
            FlywayRow(int(r[0]), r[1], r[2] or "", r[3] or "", r[4] or "", r[5], bool(r[6]))
            for r in conn.execute(query).fetchall()
        )
        return FlywaySnapshot(self.tool, exists=True, rows=rows)

    def create_sql(self) -> sql.Composed:
        # As Flyway's PostgreSQL database type creates it (without a baseline row).
        return sql.SQL(
            'CREATE TABLE {t} (\n    "installed_rank" INT NOT NULL,\n'
            '    "version" VARCHAR(50),\n    "description" VARCHAR(200) NOT NULL,\n'
            '    "type" VARCHAR(20) NOT NULL,\n    "script" VARCHAR(1000) NOT NULL,\n'
            '    "checksum" INTEGER,\n    "installed_by" VARCHAR(100) NOT NULL,\n'
            '    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),\n'
            '    "execution_time" INTEGER NOT NULL,\n    "success" BOOLEAN NOT NULL\n);\n'
            'ALTER TABLE {t} ADD CONSTRAINT {pk} PRIMARY KEY ("installed_rank");\n'
            'CREATE INDEX {idx} ON {t} ("success")'
        ).format(
            t=self.table.ident,
            pk=sql.Identifier(f"{TABLE}_pk"),
            idx=sql.Identifier(f"{TABLE}_s_idx"),
        )

    def record_sql(self, m: Migration, snapshot: Snapshot) -> sql.Composed | None:
        if m.kind not in (Kind.VERSIONED, Kind.REPEATABLE):
            return None
        version, description, script = script_name(m)
        # A repeatable's checksum is over the text as run (placeholders replaced), as Flyway's.
        crc = checksum(raw(m)) if m.kind is Kind.VERSIONED else checksum(m.sql.encode())
        return sql.SQL(
            "INSERT INTO {t} (installed_rank, version, description, type, script, checksum,"
            " installed_by, execution_time, success)"
            " SELECT coalesce(max(installed_rank), 0) + 1, {version}, {description}, 'SQL',"
            " {script}, {checksum}, current_user, {elapsed}, true FROM {t}"
        ).format(
            t=self.table.ident,
            version=sql.Literal(version),
            description=sql.Literal(_abbreviate_description(description)),
            script=sql.Literal(_abbreviate_script(script)),
            checksum=sql.Literal(crc),
            elapsed=elapsed_ms(),
        )
