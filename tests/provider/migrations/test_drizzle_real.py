"""drizzle-orm's own migrator (0.45 with the journal, 1.0 with folders) and the engine, each way.

drizzle-orm 1.0 decides what to run by the ``name`` column: the engine writes
it, so a database the engine migrated is not migrated again by drizzle-orm
1.0 (which would fail on the first CREATE TABLE), and a table of 0.x's shape
that the engine filled is upgraded by drizzle-orm 1.0 without a rerun.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from bench.npm_peers import DRIZZLE_SCRIPT
from provider.migrations import engine, layouts
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.sources import from_directory
from tests.provider.migrations.tools import (
    DRIZZLE_1,
    Conn,
    Socket,
    bench_peers,
    history,
    node,
    npm_root,
    run_tool,
    socket_for,
    tables,
)
from tests.support.migrations import EXAMPLES

JOURNAL = EXAMPLES / "drizzle"
FOLDERS = EXAMPLES / "drizzle-folders"
FOLDER_NAMES = sorted(p.name for p in FOLDERS.iterdir() if p.is_dir())


@pytest.fixture
def socket(pg: EmbeddedPostgres, db: str) -> Socket:
    return socket_for(pg, db)


def drizzle_migrate(root: Path, socket: Socket, path: Path) -> None:
    """drizzle's documented node-postgres migrate(), from the packages installed in ``root``."""
    script = root / "drizzle-migrate.mjs"
    script.write_text(DRIZZLE_SCRIPT)
    run_tool([node(), str(script), str(path)], env={"DATABASE_URL": socket.url()})


def journal_upto(tmp_path: Path, count: int) -> Path:
    target = tmp_path / f"journal-{count}"
    shutil.copytree(JOURNAL, target)
    journal = json.loads((JOURNAL / "meta" / "_journal.json").read_text())
    for entry in journal["entries"][count:]:
        (target / f"{entry['tag']}.sql").unlink()
    journal["entries"] = journal["entries"][:count]
    (target / "meta" / "_journal.json").write_text(json.dumps(journal))
    return target


def folders_upto(tmp_path: Path, count: int) -> Path:
    target = tmp_path / f"folders-{count}"
    target.mkdir()
    for name in FOLDER_NAMES[:count]:
        shutil.copytree(FOLDERS / name, target / name)
    return target


def engine_run(conn: Conn, path: Path) -> engine.Result:
    the_set = MigrationSet(layouts.load(from_directory(path), "drizzle"), layout="drizzle")
    return engine.migrate(conn, the_set, Options())


def drizzle_rows(conn: Conn) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id"
    ).fetchall()


def drizzle_names(conn: Conn) -> list[str | None]:
    rows = conn.execute("SELECT name FROM drizzle.__drizzle_migrations ORDER BY id")
    return [r[0] for r in rows.fetchall()]


# -- drizzle-orm 0.45, journal layout -------------------------------------------------


def test_drizzle_orm_0_then_the_engine_then_drizzle_orm_0_again(
    conn: Conn, socket: Socket, tmp_path: Path
) -> None:
    root = bench_peers().root
    drizzle_migrate(root, socket, journal_upto(tmp_path, 1))

    result = engine_run(conn, JOURNAL)
    assert result.adopted == ["0000_lush_firestar.sql"]
    assert [a.name for a in result.applied] == ["0001_wild_nova.sql"]

    drizzle_migrate(root, socket, JOURNAL)  # would fail on CREATE TABLE posts if it reran
    assert len(drizzle_rows(conn)) == 2
    assert tables(conn) == {"users", "posts"}


def test_the_engine_then_drizzle_orm_0_then_the_engine_again(
    conn: Conn, socket: Socket, tmp_path: Path
) -> None:
    root = bench_peers().root
    engine_run(conn, journal_upto(tmp_path, 1))

    drizzle_migrate(root, socket, JOURNAL)
    assert len(drizzle_rows(conn)) == 2

    result = engine_run(conn, JOURNAL)
    assert result.applied == []
    assert result.adopted == ["0001_wild_nova.sql"]


# -- drizzle-orm 1.0, folder layout, the name column ----------------------------------


def test_drizzle_orm_1_then_the_engine_then_drizzle_orm_1_again(
    conn: Conn, socket: Socket, tmp_path: Path
) -> None:
    root = npm_root(DRIZZLE_1)
    drizzle_migrate(root, socket, folders_upto(tmp_path, 1))
    assert drizzle_names(conn) == FOLDER_NAMES[:1]

    result = engine_run(conn, FOLDERS)
    assert result.adopted == [f"{FOLDER_NAMES[0]}/migration.sql"]
    assert [a.name for a in result.applied] == [f"{FOLDER_NAMES[1]}/migration.sql"]
    assert drizzle_names(conn) == FOLDER_NAMES

    drizzle_migrate(root, socket, FOLDERS)  # by name: nothing to run
    assert drizzle_names(conn) == FOLDER_NAMES
    assert [r[1] for r in history(conn)] == ["drizzle-kit", "aurora-express"]


def test_the_engine_then_drizzle_orm_1_then_the_engine_again(
    conn: Conn, socket: Socket, tmp_path: Path
) -> None:
    root = npm_root(DRIZZLE_1)
    engine_run(conn, folders_upto(tmp_path, 1))
    assert drizzle_names(conn) == FOLDER_NAMES[:1]

    drizzle_migrate(root, socket, FOLDERS)
    assert drizzle_names(conn) == FOLDER_NAMES

    result = engine_run(conn, FOLDERS)
    assert result.applied == []
    assert result.adopted == [f"{FOLDER_NAMES[1]}/migration.sql"]


def test_drizzle_orm_1_upgrades_a_nameless_table_the_engine_filled_without_rerunning(
    conn: Conn, socket: Socket
) -> None:
    # What an engine that did not know the name column left: 0.x's table, hash and time.
    conn.execute(
        "CREATE SCHEMA drizzle; CREATE TABLE drizzle.__drizzle_migrations"
        " (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)"
    )
    result = engine_run(conn, FOLDERS)
    assert len(result.applied) == 2

    drizzle_migrate(npm_root(DRIZZLE_1), socket, FOLDERS)
    assert drizzle_names(conn) == FOLDER_NAMES  # matched by time, names filled in
    assert engine_run(conn, FOLDERS).applied == []
