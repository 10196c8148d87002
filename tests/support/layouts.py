"""In-memory and sample folders for the layout readers' tests, and the engine as the Lambda
reads a folder (the test PostgreSQL's fixtures are the suite's: tests/support)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from provider.migrations import engine, layouts
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.sources import SourceFiles, from_directory

Conn = psycopg.Connection[Any]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "layouts"


def files(mapping: dict[str, str | bytes]) -> SourceFiles:
    """An in-memory folder: relative paths to text (or bytes, written as is)."""
    return SourceFiles({k: v if isinstance(v, bytes) else v.encode() for k, v in mapping.items()})


def sample(folder: str) -> SourceFiles:
    return from_directory(EXAMPLES / folder)


def migrate(
    target: Conn, source: SourceFiles, layout: str = "auto", **options: Any
) -> engine.Result:
    """Read ``source`` as the Lambda does and apply it with the engine."""
    reading = layouts.read(source, layout, placeholders=options.pop("placeholders", None))
    the_set = MigrationSet(
        reading.migrations, callbacks=reading.callbacks, warnings=reading.warnings
    )
    return engine.migrate(target, the_set, Options(**options))


def tables(target: Conn, schema: str = "public") -> set[str]:
    rows = target.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
    ).fetchall()
    return {r[0] for r in rows}


def history(target: Conn) -> list[tuple[Any, ...]]:
    return target.execute(
        "SELECT version, name, kind, success FROM aurora_express.schema_migrations"
        " ORDER BY installed_rank"
    ).fetchall()
