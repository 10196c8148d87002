"""The migration workload: N migrations of 10 statements, rendered in each tool's own format.

Migration ``i`` creates table ``t<i>``, adds columns, a check, a foreign key
to the previous table (the first to itself), indexes, a comment and a view,
and inserts a few rows: the mix a real schema history has. Every tool gets
the same logical migrations; only the files around them differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

STATEMENTS_PER_MIGRATION = 10
# drizzle orders by the journal's "when"; dbmate and node-pg-migrate by a timestamp prefix.
_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
_DBMATE_BASE = 20260101000000


@dataclass(frozen=True)
class LogicalMigration:
    """One migration: its number (from 1), a short name and its statements (no trailing ``;``)."""

    number: int
    table: str
    statements: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"create_{self.table}"

    def body(self) -> str:
        """The statements as one script, each ending with ``;`` on its own line."""
        return "".join(f"{s};\n" for s in self.statements)


def migration(number: int) -> LogicalMigration:
    """Migration ``number`` of the workload (10 statements)."""
    t = f"t{number:04d}"
    parent = f"t{number - 1:04d}" if number > 1 else t
    statements = (
        f"CREATE TABLE {t} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        f"  name text NOT NULL,\n  created_at timestamptz NOT NULL DEFAULT now()\n)",
        f"ALTER TABLE {t} ADD COLUMN amount numeric(12, 2) NOT NULL DEFAULT 0",
        f"ALTER TABLE {t} ADD COLUMN status text NOT NULL DEFAULT 'new' "
        f"CHECK (status IN ('new', 'paid', 'void'))",
        f"ALTER TABLE {t} ADD COLUMN parent_id bigint",
        f"ALTER TABLE {t} ADD CONSTRAINT {t}_parent_fk FOREIGN KEY (parent_id) "
        f"REFERENCES {parent} (id) ON DELETE SET NULL",
        f"CREATE INDEX {t}_parent_idx ON {t} (parent_id)",
        f"CREATE UNIQUE INDEX {t}_name_key ON {t} (lower(name))",
        f"COMMENT ON TABLE {t} IS 'Table {number}; made by migration {number}'",
        f"INSERT INTO {t} (name, amount, status) VALUES "
        f"('alpha', 1.50, 'new'), ('beta', 20, 'paid'), ('gamma', 300.25, 'void')",
        f"CREATE VIEW {t}_paid AS SELECT id, name, amount FROM {t} WHERE status = 'paid'",
    )
    assert len(statements) == STATEMENTS_PER_MIGRATION
    return LogicalMigration(number, t, statements)


def workload(count: int) -> list[LogicalMigration]:
    """The first ``count`` migrations."""
    return [migration(n) for n in range(1, count + 1)]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- one renderer per tool; each returns the folder (or file) the tool is pointed at ------


def render_flyway(migrations: list[LogicalMigration], root: Path) -> Path:
    """The provider's engine: Flyway's ``V<n>__<desc>.sql``."""
    folder = root / "flyway"
    for m in migrations:
        _write(folder / f"V{m.number}__{m.name}.sql", m.body())
    return folder


def render_dbmate(migrations: list[LogicalMigration], root: Path) -> Path:
    """dbmate: ``db/migrations/<timestamp>_<name>.sql`` with up and down sections."""
    folder = root / "dbmate" / "db" / "migrations"
    for m in migrations:
        text = f"-- migrate:up\n{m.body()}\n-- migrate:down\nDROP VIEW {m.table}_paid;\n"
        _write(folder / f"{_DBMATE_BASE + m.number}_{m.name}.sql", text)
    return folder


def render_drizzle(migrations: list[LogicalMigration], root: Path) -> Path:
    """drizzle-kit's output: ``<idx>_<name>.sql`` with breakpoints, and ``meta/_journal.json``."""
    folder = root / "drizzle"
    entries = []
    for idx, m in enumerate(migrations):
        tag = f"{idx:04d}_{m.name}"
        text = "\n--> statement-breakpoint\n".join(f"{s};" for s in m.statements) + "\n"
        _write(folder / f"{tag}.sql", text)
        entries.append(
            {
                "idx": idx,
                "version": "7",
                "when": _EPOCH_MS + m.number * 1000,
                "tag": tag,
                "breakpoints": True,
            }
        )
    journal = {"version": "7", "dialect": "postgresql", "entries": entries}
    _write(folder / "meta" / "_journal.json", json.dumps(journal, indent=2) + "\n")
    return folder


def render_node_pg_migrate(migrations: list[LogicalMigration], root: Path) -> Path:
    """node-pg-migrate's SQL files: ``<timestamp>_<name>.sql`` with Up and Down sections."""
    folder = root / "node-pg-migrate" / "migrations"
    for m in migrations:
        text = f"-- Up Migration\n{m.body()}\n-- Down Migration\nDROP VIEW {m.table}_paid;\n"
        _write(folder / f"{_EPOCH_MS + m.number * 1000}_{m.name}.sql", text)
    return folder


def render_psql_files(migrations: list[LogicalMigration], root: Path) -> Path:
    """Plain files for ``psql -f``, one per migration, in lexical order."""
    folder = root / "psql-files"
    for m in migrations:
        _write(folder / f"{m.number:04d}_{m.name}.sql", m.body())
    return folder


def render_psql_concat(migrations: list[LogicalMigration], root: Path) -> Path:
    """All migrations in one file, for ``psql -1 -f``."""
    return _write(root / "psql-all.sql", "\n".join(m.body() for m in migrations))
