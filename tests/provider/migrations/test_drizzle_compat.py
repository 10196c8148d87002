"""Compatibility with drizzle-kit's own history table, both ways."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import psycopg
import pytest

from provider.common.errors import ProviderError
from provider.migrations import engine, layouts
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.sources import SourceFiles, from_directory
from tests.support.migrations import EXAMPLES, history, tables

Conn = psycopg.Connection[Any]
FOLDER = EXAMPLES / "drizzle"


def drizzle_kit_migrate(conn: Conn, upto: int) -> None:
    """What drizzle-kit's migrator does: run each file, then record hash and the journal's when."""
    entries = json.loads((FOLDER / "meta" / "_journal.json").read_text())["entries"][:upto]
    conn.execute(
        "CREATE SCHEMA IF NOT EXISTS drizzle;"
        " CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations"
        " (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)"
    )
    for entry in entries:
        raw = (FOLDER / f"{entry['tag']}.sql").read_bytes()
        with conn.transaction():
            for chunk in raw.decode().split("--> statement-breakpoint"):
                conn.execute(chunk.encode())
            conn.execute(
                "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (%s, %s)",
                (hashlib.sha256(raw).hexdigest(), entry["when"]),
            )


def drizzle_set() -> MigrationSet:
    return MigrationSet(layouts.load(from_directory(FOLDER)))


def drizzle_rows(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id"
    ).fetchall()


def test_a_database_migrated_by_drizzle_kit_is_not_migrated_twice(conn: Conn) -> None:
    drizzle_kit_migrate(conn, upto=2)
    result = engine.migrate(conn, drizzle_set(), Options())
    assert result.applied == []
    assert result.adopted == ["0000_lush_firestar.sql", "0001_wild_nova.sql"]
    assert [r[3] for r in history(conn)] == [True, True]
    assert len(drizzle_rows(conn)) == 2


def test_only_what_drizzle_kit_did_not_apply_runs(conn: Conn) -> None:
    drizzle_kit_migrate(conn, upto=1)
    result = engine.migrate(conn, drizzle_set(), Options())
    assert result.adopted == ["0000_lush_firestar.sql"]
    assert [a.name for a in result.applied] == ["0001_wild_nova.sql"]
    assert tables(conn) == {"users", "posts"}


def test_what_the_provider_applies_is_recorded_for_drizzle_kit(conn: Conn) -> None:
    engine.migrate(conn, drizzle_set(), Options())
    journal = json.loads((FOLDER / "meta" / "_journal.json").read_text())["entries"]
    expected = [
        (hashlib.sha256((FOLDER / f"{e['tag']}.sql").read_bytes()).hexdigest(), e["when"])
        for e in journal
    ]
    assert drizzle_rows(conn) == expected


def test_the_newer_folder_layout_is_recorded_with_the_folder_time(conn: Conn) -> None:
    the_set = MigrationSet(layouts.load(from_directory(EXAMPLES / "drizzle-folders")))
    engine.migrate(conn, the_set, Options())
    assert [r[1] for r in drizzle_rows(conn)] == [1740821400000, 1740910500000]


def test_a_file_changed_since_drizzle_kit_applied_it_fails_naming_it(conn: Conn) -> None:
    drizzle_kit_migrate(conn, upto=1)
    files = dict(from_directory(FOLDER).files)
    files["0000_lush_firestar.sql"] += b"\n-- edited\n"
    with pytest.raises(ProviderError, match=r"^0000_lush_firestar.sql was changed"):
        engine.migrate(conn, MigrationSet(layouts.load(SourceFiles(files))), Options())
    assert tables(conn) == {"users"}
