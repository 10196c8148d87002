"""Migration sets from in-memory files, runs, and what they left in the database."""

from __future__ import annotations

from typing import Any

import psycopg

from provider.migrations import engine, layouts
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.sources import SourceFiles
from tests.support.paths import ROOT

EXAMPLES = ROOT / "examples" / "layouts"


def source(mapping: dict[str, str], *, ordered: bool = False) -> SourceFiles:
    return SourceFiles({k: v.encode() for k, v in mapping.items()}, ordered=ordered)


def mset(
    mapping: dict[str, str], *, layout: str = "auto", seeds: dict[str, str] | None = None
) -> MigrationSet:
    seed_list = layouts.seeds(source(seeds or {}, ordered=True)) if seeds else []
    return MigrationSet(layouts.load(source(mapping), layout), seed_list)


def run(conn: psycopg.Connection[Any], the_set: MigrationSet, **options: Any) -> engine.Result:
    """The engine with its own history only: the layouts record their tool on each migration,
    and the tools' tables (kept by default) are the tool-history tests' subject."""
    options.setdefault("keep_tool_history", False)
    return engine.migrate(conn, the_set, Options(**options))


def history(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT version, name, kind, success FROM aurora_express.schema_migrations"
        " ORDER BY installed_rank"
    ).fetchall()


def tables(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    ).fetchall()
    return {r[0] for r in rows}
