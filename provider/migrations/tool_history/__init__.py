"""The history tables of the tools whose folders the engine reads, both ways.

``for_layout`` gives the adapter of a layout's tool (None for ``plain``):
the engine reads it to adopt what the tool applied, creates it as the tool
would (when the layout's tool history is kept) and writes the tool's row for
each migration it applies, in that migration's transaction.

| layout | table | written |
| --- | --- | --- |
| flyway | ``<current schema>.flyway_schema_history`` | yes |
| dbmate | ``<current schema>.schema_migrations(version varchar)`` | yes |
| golang-migrate | ``<current schema>.schema_migrations(version bigint, dirty)`` | yes |
| goose | ``<current schema>.goose_db_version`` | yes |
| prisma | ``<current schema>._prisma_migrations`` | yes |
| supabase | ``supabase_migrations.schema_migrations`` | yes |
| drizzle | ``drizzle.__drizzle_migrations`` | yes |
| sqlx | ``<current schema>._sqlx_migrations`` | yes |
| liquibase | ``<current schema>.databasechangelog`` | no |
| sqitch | ``sqitch.changes`` | no |
| atlas | ``atlas_schema_revisions.atlas_schema_revisions`` | no |
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import cast

from provider.migrations.model import Migration
from provider.migrations.tool_history.base import Snapshot, ToolHistory, Verdict, key

__all__ = ["Snapshot", "ToolHistory", "Verdict", "for_layout", "has_history", "key", "layout_of"]

# Each layout's adapter as "module:class" of this package, imported when that layout
# runs: a run reads one tool's table, and need not load the other ten.
ADAPTERS: dict[str, str] = {
    "flyway": "flyway:Flyway",
    "dbmate": "dbmate:Dbmate",
    "golang-migrate": "golang_migrate:GolangMigrate",
    "goose": "goose:Goose",
    "prisma": "prisma:Prisma",
    "supabase": "supabase:Supabase",
    "sqlx": "sqlx:Sqlx",
    "liquibase": "liquibase:Liquibase",
    "sqitch": "sqitch:Sqitch",
    "atlas": "atlas:Atlas",
}


def _adapter(where: str) -> type[ToolHistory]:
    module, _, name = where.partition(":")
    return cast(type[ToolHistory], getattr(importlib.import_module(f"{__name__}.{module}"), name))


def layout_of(migrations: Sequence[Migration]) -> str | None:
    """The layout the reader recorded on the migrations (drizzle's by its metadata)."""
    for m in migrations:
        if m.tool is not None:
            return m.tool.layout
        if m.drizzle is not None:
            return "drizzle"
    return None


def has_history(layout: str | None) -> bool:
    """Whether ``layout``'s tool keeps a history table the engine knows."""
    return layout == "drizzle" or (layout or "") in ADAPTERS


def for_layout(
    layout: str | None, schema: str, migrations: Sequence[Migration] = ()
) -> ToolHistory | None:
    """The adapter of ``layout``'s tool, keeping its tables where the tool would in ``schema``."""
    if layout == "drizzle":
        # drizzle-kit 1.0's folders (<timestamp>_<name>/migration.sql) go with drizzle-orm 1.0.
        folders = any(m.name.endswith("/migration.sql") for m in migrations)
        from provider.migrations.tool_history.drizzle import Drizzle  # noqa: PLC0415

        return Drizzle(schema, with_name=folders)
    where = ADAPTERS.get(layout or "")
    return _adapter(where)(schema) if where is not None else None
